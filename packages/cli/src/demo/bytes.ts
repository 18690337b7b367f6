/**
 * Bytes in and out of volumes for the demo: a known pattern, exports into memory, imports from
 * memory, and qemu-io writes through a volume's path.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import type { StorageManager } from '@stowage/core';

const execFileAsync = promisify(execFile);

/**
 * A recognisable pattern: each 4 KiB block starts with its index and a tag, so a wrong or
 * shifted block is easy to spot.
 *
 * @param size - bytes
 * @param tag - a short text written into every block
 */
export function knownData(size: number, tag: string): Buffer {
  const data = Buffer.alloc(size);
  for (let off = 0, i = 0; off < size; off += 4096, i++) {
    data.writeUInt32LE(i, off);
    data.write(`${tag}:${i}`, off + 4, 'latin1');
  }
  return data;
}

/**
 * Exports a volume as `raw+size` into memory and returns the payload (the size header checked
 * and removed).
 *
 * @param storages - the manager
 * @param volid - the volume
 * @param snapshot - a snapshot to export instead of the current state
 */
export async function exportBytes(storages: StorageManager, volid: string, snapshot?: string): Promise<Buffer> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  await storages.volumeExport(volid, { format: 'raw+size', output: sink, snapshot });
  const all = Buffer.concat(chunks);
  const size = Number(all.readBigUInt64LE(0));
  if (size !== all.length - 8) throw new Error(`export of ${volid}: header says ${size} bytes, stream carried ${all.length - 8}`);
  return all.subarray(8);
}

/**
 * Imports bytes as a new volume from a `raw+size` stream made in memory.
 *
 * @param storages - the manager
 * @param volid - the volume to create
 * @param data - its content
 * @returns the volume id written
 */
export function importBytes(storages: StorageManager, volid: string, data: Buffer): Promise<string> {
  const header = Buffer.alloc(8);
  header.writeBigUInt64LE(BigInt(data.length));
  return storages.volumeImport(volid, { format: 'raw+size', input: Readable.from([header, data]) });
}

/**
 * Overwrites the start of a qcow2 image with a byte pattern, through its path, with the real
 * `qemu-io` (as a guest's writes would land).
 *
 * @param path - the image file
 * @param byte - the pattern byte
 * @param length - how many bytes from offset 0
 */
export async function qemuIoWrite(path: string, byte: number, length: number): Promise<void> {
  await execFileAsync('qemu-io', ['-f', 'qcow2', '-c', `write -P ${byte} 0 ${length}`, path]);
}

/**
 * The first offset where two buffers differ, or -1 when they are equal.
 *
 * @param a - one buffer
 * @param b - the other
 */
export function firstDiff(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return a.length === b.length ? -1 : n;
}
