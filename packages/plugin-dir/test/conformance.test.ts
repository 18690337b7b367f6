import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { LocalRunner } from '@stowage/core/plugin';
import { describeStoragePlugin, type KitChildProcess, type KitFeatures, type KitVolumeData } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { releaseImmutable } from './helpers.js';
import { dirHostileFiles } from './hostile.js';

const runner = new LocalRunner();
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = fileURLToPath(new URL('../../..', import.meta.url));

/** The kit's crash cases run an import in a child process, on the built packages (`pnpm test` builds first). */
const child: KitChildProcess = {
  pluginModule: pathToFileURL(join(packageDir, 'dist/index.js')).href,
  pluginExport: 'DirPlugin',
  coreModule: pathToFileURL(join(repoDir, 'packages/core/dist/index.js')).href,
};

/**
 * The kit's data cases write into the image files the way QEMU does, with the real `qemu-io` on
 * the image's own format (a qcow2 clone's writes land in its overlay, not in the base).
 */
const volumeData: KitVolumeData = {
  fill: async ({ path, format, offset, length, byte }) => {
    const { stdout } = await runner.run(['qemu-io', '-f', format, '-c', `write -P ${byte} ${offset} ${length}`, path]);
    if (!stdout.includes(`wrote ${length}/${length} bytes`)) throw new Error(`qemu-io did not write ${length} bytes into ${path}: ${stdout}`);
  },
};

/**
 * The kit on a temporary directory with the real qemu-img: once with the image formats (raw
 * first, made natively, so the kit's fault cases for allocImage and volumeImport have no command
 * to fail), and once with qcow2 and vmdk only, so that allocation and import go through qemu-img
 * and the fault cases fail each of its commands. Container subvolumes (declared too) are
 * directories without a size, which the kit's size checks cannot take: proxmox-compat.test.ts
 * covers them.
 */
const runs: [string, KitFeatures | undefined][] = [
  ['raw, qcow2 and vmdk', { formats: ['raw', 'qcow2', 'vmdk'] }],
  ['qcow2 and vmdk only', { formats: ['qcow2', 'vmdk'] }],
];

for (const [label, features] of runs) {
  let dir: string | undefined;
  describeStoragePlugin({
    name: `dir (${label}) on the local filesystem with the real qemu-img`,
    plugin: DirPlugin,
    setup: async () => {
      dir = await mkdtemp(join(tmpdir(), 'stowage-dir-kit-'));
      return {
        config: { type: 'dir', storage: 'kit', path: dir, content: 'images,iso,backup' },
        sizeUnit: 1024 * 1024,
        volumeData,
        child,
        hostile: dirHostileFiles(dir),
      };
    },
    teardown: async () => {
      if (!dir) return;
      await releaseImmutable(dir);
      await rm(dir, { recursive: true, force: true });
    },
    ...(features ? { features } : {}),
  });
}
