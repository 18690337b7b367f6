/**
 * One operation of a dir storage, run in a process of its own so that the kill tests can end it
 * with SIGKILL half-way. Prints `ready` once the operation is well under way (data has moved, or
 * its command runs), then keeps going or waits for ever. Run with Node's type stripping; it
 * imports the built packages (dist).
 *
 * argv: <mode> <storage path> <lock dir>
 * modes: import-raw, import-qcow2 (a raw+size stream that stalls after 16 of 64 MiB), copy
 * (a raw volume copied, the process frozen mid-way), export (a qcow2 exported into an output that
 * stops reading), alloc (a 1 GiB qcow2 with preallocation=full), flatten (the linked clone
 * 101/vm-101-disk-0.qcow2 of base-100-disk-0.qcow2 flattened; the test kills it while qemu-img
 * runs), flatten-copied (the same, the process frozen once the copy is complete, before the rename).
 */
import { Readable, Writable } from 'node:stream';
import { encodeSizeHeader } from '@stowage/core/plugin';
import { LocalRunner } from '@stowage/core/plugin';
import { StorageManager } from '@stowage/core';
import { pluginContext } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { dirConfigSchema } from '@stowage/plugin-dir/config-schema';

const [mode, path, lockDir] = process.argv.slice(2);
const MiB = 1024 * 1024;
const manager = await StorageManager.open({
  plugins: [DirPlugin],
  config: [{ type: 'dir', storage: 'store', path, content: 'images', preallocation: mode === 'alloc' ? 'full' : undefined }],
  lockDir,
  node: 'killtest',
});

let said = false;
const ready = (): void => {
  if (!said) process.stdout.write('ready\n');
  said = true;
};
/** The whole process stops here: nothing of the operation runs any more until the kill. */
const freeze = (): void => {
  ready();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
};

function stallingStream(): Readable {
  const input = new Readable({ read() {} });
  input.push(encodeSizeHeader(64 * MiB));
  for (let i = 0; i < 16; i++) input.push(Buffer.alloc(MiB, i + 1));
  return input;
}

const progress = ({ done }: { done: number }): void => {
  if (done >= 8 * MiB) ready();
};

if (mode === 'import-raw' || mode === 'import-qcow2') {
  const ext = mode === 'import-raw' ? 'raw' : 'qcow2';
  await manager.volumeImport(`store:100/vm-100-disk-0.${ext}`, { format: 'raw+size', input: stallingStream(), onProgress: progress });
} else if (mode === 'copy') {
  await manager.copyVolume('store:200/vm-200-disk-0.raw', 'store', { vmid: 100, onProgress: ({ done }) => done >= 8 * MiB && freeze() });
} else if (mode === 'export') {
  let received = 0;
  const output = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received += chunk.length;
      if (received < 4 * MiB) callback();
      else ready();
    },
  });
  await manager.volumeExport('store:300/vm-300-disk-0.qcow2', { format: 'raw+size', output });
} else if (mode === 'alloc') {
  await manager.allocImage('store', { vmid: 100, size: 1024 * MiB, format: 'qcow2' });
} else if (mode === 'flatten' || mode === 'flatten-copied') {
  // the plugin's method itself (the manager's flattenImage comes with the core's part of issue 18)
  const plugin = new DirPlugin();
  const config = dirConfigSchema.parse({ type: 'dir', storage: 'store', path, content: 'images' });
  const ctx = pluginContext({ config, runner: new LocalRunner(), node: 'killtest' });
  const volume = plugin.parseVolname('100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2');
  const onProgress = ({ done, total }: { done: number; total?: number | undefined }): void => {
    if (mode === 'flatten-copied' && done === total) freeze();
  };
  await plugin.flattenImage(ctx, { volume, onProgress });
} else {
  throw new Error(`unknown mode ${mode}`);
}
process.stdout.write('finished\n');
