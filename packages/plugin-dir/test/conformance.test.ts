import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoragePlugin } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { releaseImmutable } from './helpers.js';

let dir: string | undefined;

describeStoragePlugin({
  name: 'dir on the local filesystem with the real qemu-img',
  plugin: DirPlugin,
  setup: async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-dir-kit-'));
    return { config: { type: 'dir', storage: 'kit', path: dir, content: 'images,iso,backup' }, sizeUnit: 1024 * 1024 };
  },
  teardown: async () => {
    if (!dir) return;
    await releaseImmutable(dir);
    await rm(dir, { recursive: true, force: true });
  },
});
