import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoragePlugin, type KitFeatures } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { releaseImmutable } from './helpers.js';

/**
 * The kit on a temporary directory with the real qemu-img: once as declared (raw first, made
 * natively, so the kit's fault cases for allocImage and volumeImport have no command to fail),
 * and once with qcow2 and vmdk only, so that allocation and import go through qemu-img and the
 * fault cases fail each of its commands.
 */
const runs: [string, KitFeatures | undefined][] = [
  ['as declared', undefined],
  ['qcow2 and vmdk only', { formats: ['qcow2', 'vmdk'] }],
];

for (const [label, features] of runs) {
  let dir: string | undefined;
  describeStoragePlugin({
    name: `dir (${label}) on the local filesystem with the real qemu-img`,
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
    ...(features ? { features } : {}),
  });
}
