import { defineMemoryPlugin, describeStoragePlugin, MemoryPlugin, MemoryRunner } from '@stowage/core/testing';

describeStoragePlugin({
  name: 'memory, everything on',
  plugin: MemoryPlugin,
  setup: () => ({ config: { type: 'memory', storage: 'kit' }, runner: new MemoryRunner(), sizeUnit: 1024 * 1024 }),
});

describeStoragePlugin({
  name: 'memory, ZFS-like (newest-only rollback, no snapshot clones, no shrink, notes only)',
  plugin: defineMemoryPlugin({ type: 'memorystrict', rollbackAnySnapshot: false, cloneFromSnapshot: false, shrink: false, attributes: ['notes'] }),
  setup: () => ({ config: { type: 'memorystrict', storage: 'kit' }, runner: new MemoryRunner(), sizeUnit: 1024 * 1024 }),
});
