/**
 * A ready-made {@link KitVolumeData}: `dd` through a command runner, for volumes that are block
 * devices or raw files on the machine the runner reaches.
 *
 * @module
 */
import { LocalRunner } from '../command/local-runner.js';
import type { CommandRunner } from '../command/runner.js';
import type { KitVolumeData } from './options.js';

/**
 * The argv of one fill: `dd` reads the bytes from stdin and writes them at `offset` (in bytes,
 * `oflag=seek_bytes`), without truncating a file (`conv=notrunc`) and flushed before it exits
 * (`conv=fsync`), so that a snapshot taken next contains them.
 */
function ddArgs(path: string, offset: number): string[] {
  return ['dd', `of=${path}`, 'bs=1M', 'oflag=seek_bytes', `seek=${offset}`, 'conv=notrunc,fsync', 'status=none'];
}

/**
 * A {@link KitVolumeData} that writes with GNU `dd` through a runner: the bytes go to its stdin,
 * and `dd` writes them at the offset of the volume's path (a block device such as
 * `/dev/<vg>/<lv>` or `/dev/zvol/<pool>/<name>`, or a raw image file). Use the suite's own runner
 * (not a fault-injecting one), so that the writes happen where the storage is.
 *
 * @param runner - where `dd` runs
 * @returns the hook for `setup`'s `volumeData`
 * @throws nothing itself; each fill rejects with the runner's `CommandError` when `dd` fails
 * @example
 * ```ts
 * const runner = testbedRunner(); // an SshRunner into the test VM
 * describeStoragePlugin({
 *   name: 'lvmthin on the testbed',
 *   plugin: LvmThinPlugin,
 *   setup: () => ({ config, runner, sizeUnit: 4 * 1024 * 1024, volumeData: ddVolumeData(runner) }),
 * });
 * ```
 */
export function ddVolumeData(runner: CommandRunner = new LocalRunner()): KitVolumeData {
  return {
    fill: async ({ path, offset, length, byte }) => {
      await runner.run(ddArgs(path, offset), { stdin: Buffer.alloc(length, byte) });
    },
  };
}
