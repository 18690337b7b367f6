import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { descriptorInput, encodeSizeHeader, type PluginContext } from '@stowage/core/plugin';
import type { StreamFormat } from '@stowage/core';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let root: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-xfer-'));
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

async function exportBytes(volname: string, format: StreamFormat, withSnapshots = false): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await plugin.volumeExport(ctx, { volume: vol(volname), format, output: out, withSnapshots });
  out.end();
  return Buffer.concat(chunks);
}

function importBytes(volname: string, format: StreamFormat, bytes: Buffer, extra: { withSnapshots?: boolean; allowRename?: boolean } = {}): Promise<string> {
  return plugin.volumeImport(ctx, { volume: vol(volname), format, input: Readable.from([bytes]), ...extra });
}

function pattern(size: number): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i += 4096) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  b.fill(0, size / 2, size / 2 + size / 4); // a hole
  return b;
}

describe('formats', () => {
  it('raw+size without snapshots; the image\'s own +size format with them; none for snapshots or non-images', async () => {
    const f = (volname: string, o: { withSnapshots?: boolean; snapshot?: string; baseSnapshot?: string } = {}) =>
      plugin.volumeExportFormats(ctx, { volume: vol(volname), ...o });
    expect(await f('100/vm-100-disk-0.qcow2')).toEqual(['raw+size']);
    expect(await f('100/vm-100-disk-0.qcow2', { withSnapshots: true })).toEqual(['qcow2+size']);
    expect(await f('100/vm-100-disk-0.vmdk', { withSnapshots: true })).toEqual(['vmdk+size']);
    expect(await f('100/vm-100-disk-0.raw', { withSnapshots: true })).toEqual([]);
    expect(await f('100/vm-100-disk-0.raw', { snapshot: 's' })).toEqual([]);
    expect(await f('iso/x.iso')).toEqual([]);
    expect(await plugin.volumeImportFormats(ctx, { volume: vol('100/vm-100-disk-0.qcow2'), snapshot: 's' })).toEqual(['raw+size']);
    expect(await plugin.volumeImportFormats(ctx, { volume: vol('100/vm-100-disk-0.qcow2'), baseSnapshot: 's' })).toEqual([]);
  });
});

describe('round trips', () => {
  it('raw -> raw+size -> raw is byte-identical and stays sparse', async () => {
    const data = pattern(4 * MiB);
    const v = await importBytes('100/vm-100-disk-0.raw', 'raw+size', Buffer.concat([encodeSizeHeader(data.length), data]));
    expect(v).toBe('100/vm-100-disk-0.raw');
    const file = join(root, 'images/100/vm-100-disk-0.raw');
    expect((await readFile(file)).equals(data)).toBe(true);
    expect((await stat(file)).blocks * 512).toBeLessThan(data.length);
    const exported = await exportBytes(v, 'raw+size');
    expect(exported.readBigUInt64LE(0)).toBe(BigInt(data.length));
    expect(exported.subarray(8).equals(data)).toBe(true);
  });

  it('raw+size into qcow2 and vmdk (converted), and back out as raw+size', async () => {
    const data = pattern(2 * MiB);
    const stream = Buffer.concat([encodeSizeHeader(data.length), data]);
    for (const fmt of ['qcow2', 'vmdk'] as const) {
      const v = await importBytes(`100/vm-100-disk-${fmt === 'qcow2' ? 1 : 2}.${fmt}`, 'raw+size', stream);
      expect(await sh('qemu-img', ['info', '--output=json', join(root, 'images', v)])).toMatch(new RegExp(`"format": "${fmt}"`));
      const back = await exportBytes(v, 'raw+size');
      expect(back.subarray(8).equals(data)).toBe(true);
    }
    expect((await readdir(join(root, 'images/100'))).sort()).toEqual(['vm-100-disk-1.qcow2', 'vm-100-disk-2.vmdk']);
  });

  it('qcow2+size carries snapshots; vmdk+size carries the file', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 4 * MiB });
    const path = join(root, 'images', v);
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 128k', path]);
    await plugin.volumeSnapshot(ctx, { volume: vol(v), snapshot: 'keep' });
    const stream = await exportBytes(v, 'qcow2+size', true);
    expect(stream.readBigUInt64LE(0)).toBe(BigInt(4 * MiB));
    const copy = await importBytes('200/vm-200-disk-0.qcow2', 'qcow2+size', stream, { withSnapshots: true });
    expect((await plugin.volumeSnapshotInfo(ctx, { volume: vol(copy) })).map((s) => s.name)).toEqual(['keep']);
    expect(await sh('qemu-img', ['compare', path, join(root, 'images', copy)])).toMatch(/identical/);

    const k = await plugin.allocImage(ctx, { vmid: 100, format: 'vmdk', name: 'vm-100-disk-1.vmdk', size: 2 * MiB });
    await sh('qemu-io', ['-f', 'vmdk', '-c', 'write -P 0x33 64k 64k', join(root, 'images', k)]);
    const kcopy = await importBytes('200/vm-200-disk-1.vmdk', 'vmdk+size', await exportBytes(k, 'vmdk+size', true), { withSnapshots: true });
    expect(await sh('qemu-img', ['compare', join(root, 'images', k), join(root, 'images', kcopy)])).toMatch(/identical/);
  });

  it('an existing target is ALREADY_EXISTS and untouched, unless a rename is allowed', async () => {
    await plugin.allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: MiB });
    const stream = Buffer.concat([encodeSizeHeader(4096), Buffer.alloc(4096, 9)]);
    expect(await code(importBytes('100/vm-100-disk-0.raw', 'raw+size', stream))).toBe('ALREADY_EXISTS');
    expect((await stat(join(root, 'images/100/vm-100-disk-0.raw'))).size).toBe(MiB);
    expect(await importBytes('100/vm-100-disk-0.raw', 'raw+size', stream, { allowRename: true })).toBe('100/vm-100-disk-1.raw');
  });
});

describe('standard input read in blocks (descriptorInput, what `stowage receive` and `import -` read)', () => {
  /** The stream in a file, opened as a descriptor input whose stream opener must not be needed. */
  async function descriptorOf(name: string, bytes: Buffer): Promise<{ input: Readable; fd: number }> {
    const path = join(root, name);
    await writeFile(path, bytes);
    const fd = openSync(path, 'r');
    return { input: descriptorInput(fd, () => { throw new Error('the stream was opened'); }), fd };
  }

  it('raw+size into raw: byte-identical and sparse, read in blocks (never as a stream); into qcow2 converted', async () => {
    const data = pattern(5 * MiB + 4096);
    const raw = await descriptorOf('in.raw+size', Buffer.concat([encodeSizeHeader(data.length), data]));
    expect(await plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-0.raw'), format: 'raw+size', input: raw.input })).toBe('100/vm-100-disk-0.raw');
    closeSync(raw.fd);
    const file = join(root, 'images/100/vm-100-disk-0.raw');
    expect((await readFile(file)).equals(data)).toBe(true);
    expect((await stat(file)).blocks * 512).toBeLessThan(data.length);
    expect(raw.input.readableDidRead).toBe(false);

    const q = await descriptorOf('in2.raw+size', Buffer.concat([encodeSizeHeader(data.length), data]));
    const v = await plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-1.qcow2'), format: 'raw+size', input: q.input });
    closeSync(q.fd);
    expect((await exportBytes(v, 'raw+size')).subarray(8).equals(data)).toBe(true);
  });

  it('a truncated stream leaves nothing behind', async () => {
    const t = await descriptorOf('short.raw+size', Buffer.concat([encodeSizeHeader(3 * MiB), pattern(2 * MiB)]));
    expect(await code(plugin.volumeImport(ctx, { volume: vol('100/vm-100-disk-0.raw'), format: 'raw+size', input: t.input }))).toBe('INVALID_ARGUMENT');
    closeSync(t.fd);
    expect(await readdir(join(root, 'images'))).toEqual([]);
  });
});

describe('bad streams leave nothing behind', () => {
  async function nothingLeft(): Promise<void> {
    expect(await readdir(join(root, 'images'))).toEqual([]);
  }

  it('truncated raw+size, extra bytes, a header cut short', async () => {
    const data = pattern(MiB);
    expect(await code(importBytes('100/vm-100-disk-0.raw', 'raw+size', Buffer.concat([encodeSizeHeader(2 * MiB), data])))).toBe('INVALID_ARGUMENT');
    await nothingLeft();
    expect(await code(importBytes('100/vm-100-disk-0.qcow2', 'raw+size', Buffer.concat([encodeSizeHeader(2 * MiB), data])))).toBe('INVALID_ARGUMENT');
    await nothingLeft();
    expect(await code(importBytes('100/vm-100-disk-0.raw', 'raw+size', Buffer.concat([encodeSizeHeader(10), Buffer.alloc(11)])))).toBe('INVALID_ARGUMENT');
    await nothingLeft();
    expect(await code(importBytes('100/vm-100-disk-0.raw', 'raw+size', Buffer.alloc(5)))).toBe('INVALID_ARGUMENT');
    await nothingLeft();
  });

  it('a truncated qcow2+size stream fails qemu-img check', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 300, format: 'qcow2', name: 'vm-300-disk-0.qcow2', size: 8 * MiB });
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 4M', join(root, 'images', v)]);
    const full = await exportBytes(v, 'qcow2+size', true);
    await plugin.freeImage(ctx, { volume: vol(v) });
    expect(await code(importBytes('100/vm-100-disk-0.qcow2', 'qcow2+size', full.subarray(0, full.length - MiB), { withSnapshots: true }))).toBe('INVALID_ARGUMENT');
    await nothingLeft();
  });

  it('untrusted images: data file, backing file, multi-extent or descriptor vmdk, not the announced format', async () => {
    const scratch = await mkdtemp(join(tmpdir(), 'stowage-untrusted-'));
    try {
      const make = async (name: string, opts: string[], size = '1M'): Promise<Buffer> => {
        await sh('qemu-img', ['create', '-q', ...opts, join(scratch, name), size]);
        return readFile(join(scratch, name));
      };
      const withHeader = (b: Buffer) => Buffer.concat([encodeSizeHeader(MiB), b]);
      const cases: [string, StreamFormat, Buffer][] = [
        ['100/vm-100-disk-0.qcow2', 'qcow2+size', await make('df.qcow2', ['-f', 'qcow2', '-o', `data_file=${join(scratch, 'data.raw')}`])],
        ['100/vm-100-disk-0.qcow2', 'qcow2+size', await make('bf.qcow2', ['-f', 'qcow2', '-u', '-F', 'raw', '-b', '/etc/hostname'])],
        ['100/vm-100-disk-0.qcow2', 'qcow2+size', await make('rb.qcow2', ['-f', 'qcow2', '-u', '-F', 'qcow2', '-b', '../100/base-100-disk-0.qcow2'])],
        ['100/vm-100-disk-0.vmdk', 'vmdk+size', await make('me.vmdk', ['-f', 'vmdk', '-o', 'subformat=twoGbMaxExtentSparse'], '3G')],
        ['100/vm-100-disk-0.vmdk', 'vmdk+size', await make('fl.vmdk', ['-f', 'vmdk', '-o', 'subformat=monolithicFlat'])],
        ['100/vm-100-disk-0.qcow2', 'qcow2+size', Buffer.alloc(MiB, 0x41)],
      ];
      for (const [volname, format, bytes] of cases) {
        expect(await code(importBytes(volname, format, withHeader(bytes), { withSnapshots: true }))).toBe('INVALID_ARGUMENT');
        await nothingLeft();
      }
    } finally {
      await rm(scratch, { recursive: true, force: true });
    }
  });

  it('a linked clone may keep its own base as backing file, when that base is on this storage', async () => {
    const base = await plugin.createBase(ctx, { volume: vol(await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB })) });
    const clone = await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
    const stream = await exportBytes(clone, 'qcow2+size', true);
    expect(await importBytes('100/base-100-disk-0.qcow2/102/vm-102-disk-0.qcow2', 'qcow2+size', stream, { withSnapshots: true })).toBe(
      '100/base-100-disk-0.qcow2/102/vm-102-disk-0.qcow2',
    );
    expect(await code(importBytes('103/vm-103-disk-0.qcow2', 'qcow2+size', stream, { withSnapshots: true }))).toBe('INVALID_ARGUMENT');
    await mkdir(join(root, 'images/999')).catch(() => undefined);
    await writeFile(join(root, 'images/999/.keep'), '');
    expect((await readdir(join(root, 'images'))).sort()).toEqual(['100', '101', '102', '999']);
  });

  it('a stream format that does not match the target image is NOT_SUPPORTED', async () => {
    expect(await code(importBytes('100/vm-100-disk-0.raw', 'qcow2+size', Buffer.alloc(16), { withSnapshots: true }))).toBe('NOT_SUPPORTED');
    expect(await code(importBytes('100/vm-100-disk-0.qcow2', 'qcow2+size', Buffer.alloc(16)))).toBe('NOT_SUPPORTED');
    await nothingLeft();
  });
});
