import { afterAll, expect } from 'vitest';
import { defineMemoryPlugin, describeStoragePlugin, MemoryPlugin, MemoryRunner, memoryVolumeData } from '@stowage/core/testing';

const runners = [new MemoryRunner(), new MemoryRunner(), new MemoryRunner()];

describeStoragePlugin({
  name: 'memory, everything on',
  plugin: MemoryPlugin,
  setup: () => ({ config: { type: 'memory', storage: 'kit' }, runner: runners[0], sizeUnit: 1024 * 1024, volumeData: memoryVolumeData(runners[0]!.store) }),
});

describeStoragePlugin({
  name: 'memory, ZFS-like (newest-only rollback, no snapshot clones, no shrink, notes only, flatten drops snapshots)',
  plugin: defineMemoryPlugin({
    type: 'memorystrict',
    rollbackAnySnapshot: false,
    cloneFromSnapshot: false,
    shrink: false,
    attributes: ['notes'],
    flatten: { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: false },
  }),
  setup: () => ({ config: { type: 'memorystrict', storage: 'kit' }, runner: runners[1], sizeUnit: 1024 * 1024, volumeData: memoryVolumeData(runners[1]!.store) }),
});

describeStoragePlugin({
  name: 'memory, clones as independent copies (as reflink copies)',
  plugin: defineMemoryPlugin({ type: 'memorycopy', independentClones: true }),
  setup: () => ({ config: { type: 'memorycopy', storage: 'kit' }, runner: runners[2], sizeUnit: 1024 * 1024, volumeData: memoryVolumeData(runners[2]!.store) }),
});

// The kit cleans up after itself: nothing it made is left, not even data.
afterAll(() => {
  for (const r of runners) expect({ volumes: r.store.list('kit'), used: r.store.usage().used }).toEqual({ volumes: [], used: 0 });
});
