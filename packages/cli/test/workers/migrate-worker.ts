/**
 * Migrates one volume to an ssh node and, once more than 1 MiB has been sent, prints `streaming`
 * and stops its event loop (for two minutes at most), so that the test can SIGKILL it mid-stream.
 *
 * argv: <storage.cfg> <lock dir> <node options JSON> <volid>
 */
import { SshNode, StorageManager, type SshNodeOptions } from '@stowage/core';
import { DirPlugin } from '@stowage/plugin-dir';

const [configFile = '', lockDir = '', nodeJson = '', volid = ''] = process.argv.slice(2);
const manager = await StorageManager.open({ plugins: [DirPlugin], configFile, lockDir });
const node = new SshNode(JSON.parse(nodeJson) as SshNodeOptions);
await manager.migrateVolume(volid, {
  toNode: node,
  onProgress: ({ done }) => {
    if (done <= 1024 * 1024) return;
    // frozen for at most 2 minutes, so that a test that fails before its kill leaves nothing running for long
    process.stdout.write('streaming\n', () => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000));
  },
});
process.stdout.write('finished\n');
