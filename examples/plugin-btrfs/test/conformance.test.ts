/**
 * The stowage conformance kit on a real btrfs filesystem (a loop-mounted file), skipped with the
 * reason when this machine cannot make one (not root, no btrfs-progs).
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { ddVolumeData, describeStoragePlugin } from '@stowage/core/testing';
import { BtrfsPlugin } from '../src/index.js';
import { btrfsHostileFiles } from './hostile-files.js';
import { loopBtrfsUnavailable, makeLoopBtrfs, type LoopBtrfs } from './loop-btrfs.js';

const unavailable = await loopBtrfsUnavailable();

if (unavailable) {
  describe('btrfs conformance', () => {
    it.skip(`needs a real btrfs: ${unavailable}`, () => undefined);
  });
} else {
  let fs: LoopBtrfs | undefined;
  describeStoragePlugin({
    name: 'btrfs on a loop-mounted file',
    plugin: BtrfsPlugin,
    // the flatten groups' fault cases make a volume with snapshots for each of a dozen steps
    timeoutMs: 300_000,
    setup: async () => {
      fs = await makeLoopBtrfs();
      const path = join(fs.mountpoint, 'stowage');
      await mkdir(path);
      return {
        config: { type: 'btrfs', storage: 'kit', path },
        // the kit writes into each volume's raw file in its subvolume with dd
        volumeData: ddVolumeData(),
        // the crash cases run an import in a child process that loads the built plugin (dist/, `tsc -b`)
        child: { pluginModule: new URL('../dist/index.js', import.meta.url).href, pluginExport: 'BtrfsPlugin' },
        // the confinement cases put named pipes and symbolic links where disk.raw should be
        hostile: btrfsHostileFiles('kit', path),
      };
    },
    teardown: async () => {
      await fs?.remove();
    },
  });
}
