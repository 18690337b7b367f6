/**
 * migrateVolume between two managers in this process (two directory storages with the real
 * qemu-img), the target reached as a LocalNode: the data arrives byte-identical and the source
 * goes; a copy that does not check out, an abort, a source that cannot be freed and a linked
 * clone without its base each leave the source as it was and nothing on the target.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalNode, StorageManager, volumeChecksum, type NodeImportOptions, type Progress, type StorageStatus } from '@stowage/core';
import { writeAll, type FileSystem, type PluginContext, type VolumeExportRequest, type VolumeImportRequest } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, releaseImmutable } from './helpers.js';

const MiB = 1024 ** 2;
let base: string;
let a: StorageManager;
let b: StorageManager;
let nodeB: LocalNode;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-migrate-'));
  const open = (name: string) =>
    StorageManager.open({ plugins: [DirPlugin], config: [{ type: 'dir', storage: 'local', path: join(base, name), 'create-base-path': true }], lockDir: join(base, `locks-${name}`) });
  a = await open('a');
  b = await open('b');
  nodeB = new LocalNode('b', b);
});
afterEach(async () => {
  await a.close();
  await b.close();
  await releaseImmutable(base);
  await rm(base, { recursive: true, force: true });
});

async function rawVolume(bytes = 3 * MiB): Promise<{ volid: string; data: Buffer }> {
  const volid = await a.allocImage('local', { vmid: 100, size: bytes, format: 'raw' });
  const data = randomBytes(bytes);
  await writeFile(join(base, 'a', 'images', '100', 'vm-100-disk-0.raw'), data);
  return { volid, data };
}

/** Every file below the target storage's images directory, hidden temporaries included. */
async function filesOfB(): Promise<string[]> {
  const out: string[] = [];
  const dir = join(base, 'b', 'images');
  for (const vmid of await readdir(dir).catch(() => [])) for (const f of await readdir(join(dir, vmid))) out.push(`${vmid}/${f}`);
  return out;
}

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** A node that flips one byte of every stream it imports (a disk that writes wrong data). */
class CorruptingNode extends LocalNode {
  override importVolume(volid: string, options: NodeImportOptions): Promise<string> {
    let flipped = false;
    const flip = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        if (!flipped && chunk.length > 100) {
          chunk = Buffer.from(chunk);
          chunk[100] = chunk[100]! ^ 0xff;
          flipped = true;
        }
        cb(null, chunk);
      },
    });
    return super.importVolume(volid, { ...options, input: options.input.pipe(flip) });
  }
}

/** A handle whose writes store byte 100 of the file changed: a disk that keeps other bytes than it was given. */
function corruptingHandle(handle: FileHandle): FileHandle {
  const flipped = (bytes: Uint8Array, position: number): Uint8Array => {
    if (position > 100 || position + bytes.length <= 100) return bytes;
    const copy = Buffer.from(bytes);
    copy[100 - position] = copy[100 - position]! ^ 0xff;
    return copy;
  };
  return new Proxy(handle, {
    get(target, key) {
      if (key === 'write') {
        return (bytes: Buffer, offset: number, length: number, position: number) => target.write(flipped(bytes.subarray(offset, offset + length), position), 0, length, position);
      }
      if (key === 'writev') {
        return (buffers: Buffer[], position: number) => {
          let at = position;
          const out = buffers.map((b) => {
            const one = flipped(b, at);
            at += b.length;
            return one;
          });
          return target.writev(out, position);
        };
      }
      const value = Reflect.get(target, key) as unknown;
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** A directory storage whose files keep other bytes than its imports write (through `ctx.fs`). */
class CorruptingDirPlugin extends DirPlugin {
  override volumeImport(ctx: PluginContext<DirConfig>, request: VolumeImportRequest): Promise<string> {
    const fs: FileSystem = { ...ctx.fs, open: async (path, flags, mode) => corruptingHandle(await ctx.fs.open(path, flags, mode)) };
    return super.volumeImport({ ...ctx, fs }, request);
  }
}

/** A directory storage whose second export of a volume sends byte 100 changed: a sender whose stream is not what the source holds (or a source written to while it is sent). */
class SendsOtherBytesPlugin extends DirPlugin {
  static exports = 0;
  override volumeExport(ctx: PluginContext<DirConfig>, request: VolumeExportRequest): Promise<void> {
    if (++SendsOtherBytesPlugin.exports !== 2) return super.volumeExport(ctx, request);
    let at = 0;
    const output = new Writable({
      write(chunk: Buffer, _enc, cb) {
        const copy = Buffer.from(chunk);
        if (at <= 100 && at + copy.length > 100) copy[100 - at] = copy[100 - at]! ^ 0xff;
        at += copy.length;
        writeAll(request.output, copy).then(() => cb(), cb);
      },
    });
    return super.volumeExport(ctx, { ...request, output });
  }
}

/** A node that reports no free space, and records whether anything was imported. */
class FullNode extends LocalNode {
  imported = false;
  override async status(storeId: string): Promise<StorageStatus> {
    return { ...(await super.status(storeId)), available: 0 };
  }
  override importVolume(volid: string, options: NodeImportOptions): Promise<string> {
    this.imported = true;
    return super.importVolume(volid, options);
  }
}

describe('migrateVolume to a LocalNode', () => {
  it('moves a raw volume byte-identical, reports progress, and frees the source', async () => {
    const { volid, data } = await rawVolume();
    const seen: Progress[] = [];
    const moved = await a.migrateVolume(volid, { toNode: nodeB, onProgress: (p) => seen.push(p) });
    expect(moved).toMatchObject({ volid: 'local:100/vm-100-disk-0.raw', from: volid, node: 'b', format: 'raw+size', bytes: 8 + data.length });
    expect(await readFile(join(base, 'b', 'images', '100', 'vm-100-disk-0.raw'))).toEqual(data);
    expect(await a.listImages('local')).toEqual([]);
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toEqual({ done: 8 + data.length, total: 8 + data.length });
  });

  it('the target reads a raw copy back from its file as it writes it: no second pass over the volume through its export', async () => {
    const { volid, data } = await rawVolume();
    class CountingNode extends LocalNode {
      checksums = 0;
      override checksum(v: string, options?: { readonly signal?: AbortSignal | undefined }) {
        this.checksums++;
        return super.checksum(v, options);
      }
    }
    const node = new CountingNode('b', b);
    const moved = await a.migrateVolume(volid, { toNode: node });
    expect(node.checksums).toBe(0);
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(BigInt(data.length));
    expect(moved.sha256).toBe(sha(Buffer.concat([header, data])));
    expect(await readFile(join(base, 'b', 'images', '100', 'vm-100-disk-0.raw'))).toEqual(data);
  });

  it('the copy is compared with the source read on its own: a stream that differs from the source is CORRUPT, removed from the target, the source kept', async () => {
    const sender = await StorageManager.open({
      plugins: [SendsOtherBytesPlugin],
      config: [{ type: 'dir', storage: 'local', path: join(base, 'a'), 'create-base-path': true }],
      lockDir: join(base, 'locks-a'),
    });
    try {
      const { volid, data } = await rawVolume();
      SendsOtherBytesPlugin.exports = 0;
      const err = await sender.migrateVolume(volid, { toNode: nodeB }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CORRUPT' });
      expect(SendsOtherBytesPlugin.exports).toBe(2); // the source's own read, then the stream
      expect(await filesOfB()).toEqual([]);
      expect(sha(await readFile(join(base, 'a', 'images', '100', 'vm-100-disk-0.raw')))).toBe(sha(data));
    } finally {
      await sender.close();
    }
  });

  it('a copy whose data differs from what was sent is CORRUPT: removed from the target, the source kept', async () => {
    const { volid, data } = await rawVolume();
    expect(await code(a.migrateVolume(volid, { toNode: new CorruptingNode('b', b) }))).toBe('CORRUPT');
    expect(await filesOfB()).toEqual([]);
    expect(sha(await readFile(join(base, 'a', 'images', '100', 'vm-100-disk-0.raw')))).toBe(sha(data));
  });

  it('a target that writes other bytes than it received is CORRUPT (its copy is read back): removed there, the source kept', async () => {
    const { volid, data } = await rawVolume();
    const corrupting = await StorageManager.open({
      plugins: [CorruptingDirPlugin],
      config: [{ type: 'dir', storage: 'local', path: join(base, 'c'), 'create-base-path': true }],
      lockDir: join(base, 'locks-c'),
    });
    try {
      const err = await a.migrateVolume(volid, { toNode: new LocalNode('c', corrupting) }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'CORRUPT', details: { volid: 'local:100/vm-100-disk-0.raw', node: 'c' } });
      expect(await corrupting.listImages('local')).toEqual([]);
      expect(await readdir(join(base, 'c', 'images', '100')).catch(() => [])).toEqual([]);
    } finally {
      await corrupting.close();
    }
    expect(sha(await readFile(join(base, 'a', 'images', '100', 'vm-100-disk-0.raw')))).toBe(sha(data));
  });

  it('too little free space on the target is NO_SPACE, before anything is sent', async () => {
    const { volid } = await rawVolume(MiB);
    const full = new FullNode('b', b);
    expect(await a.migrateVolume(volid, { toNode: full }).catch((e: unknown) => e)).toMatchObject({ code: 'NO_SPACE', details: { node: 'b', needed: MiB } });
    expect(full.imported).toBe(false);
    expect(await filesOfB()).toEqual([]);
    expect((await a.listImages('local')).map((i) => i.volid)).toEqual([volid]);
  });

  it('an abort mid-stream is ABORTED: nothing on the target, the source intact', async () => {
    const { volid, data } = await rawVolume(8 * MiB);
    const stop = new AbortController();
    const run = a.migrateVolume(volid, { toNode: nodeB, signal: stop.signal, onProgress: (p) => (p.done > MiB ? stop.abort() : undefined) });
    expect(await code(run)).toBe('ABORTED');
    expect(await filesOfB()).toEqual([]);
    expect((await a.listImages('local')).map((i) => i.volid)).toEqual([volid]);
    expect(sha(await readFile(join(base, 'a', 'images', '100', 'vm-100-disk-0.raw')))).toBe(sha(data));
  });

  it('a source that cannot be freed (a base with clones) keeps the move from happening: the copy is removed again', async () => {
    const disk = await a.allocImage('local', { vmid: 100, size: MiB, format: 'qcow2' });
    const tmpl = await a.createBase(disk);
    await a.cloneImage(tmpl, { vmid: 101 });
    expect(await code(a.migrateVolume(tmpl, { toNode: nodeB }))).toBe('IN_USE');
    expect(await filesOfB()).toEqual([]);
    expect((await a.listImages('local')).length).toBe(2);
  });

  it('a linked clone is refused without full while its base is not on the target, and moves standalone with full', async () => {
    const disk = await a.allocImage('local', { vmid: 100, size: MiB, format: 'qcow2' });
    const tmpl = await a.createBase(disk);
    const clone = await a.cloneImage(tmpl, { vmid: 101 });
    const err = await a.migrateVolume(clone, { toNode: nodeB }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_SUPPORTED', details: { base: tmpl, node: 'b' } });
    expect(await filesOfB()).toEqual([]);

    const expected = (await volumeChecksum(a, clone)).sha256;
    const moved = await a.migrateVolume(clone, { toNode: nodeB, full: true });
    expect(moved.volid).toBe('local:101/vm-101-disk-0.qcow2');
    expect((await nodeB.checksum(moved.volid)).sha256).toBe(expected);
    expect((await b.volumeSizeInfo(moved.volid)).parent).toBeUndefined();
    expect((await a.listImages('local')).map((i) => i.volid)).toEqual([tmpl]);
  });

  it('a linked clone keeps its link when the target has its base with the same data, and is refused when the data differ', async () => {
    const tmpl = await a.createBase(await a.allocImage('local', { vmid: 100, size: MiB, format: 'qcow2' }));
    const clone = await a.cloneImage(tmpl, { vmid: 101 });
    const other = await a.cloneImage(tmpl, { vmid: 102 });
    const tmplB = await b.createBase(await b.allocImage('local', { vmid: 100, size: MiB, format: 'qcow2' }));
    expect(tmplB).toBe(tmpl); // the same volid on B, both bases empty: the same data
    const moved = await a.migrateVolume(clone, { toNode: nodeB });
    expect(moved).toMatchObject({ volid: clone, format: 'qcow2+size' });
    expect((await b.volumeSizeInfo(moved.volid)).parent).toBe(tmplB);

    // a base of the same name but other data on the target: refused, nothing sent
    await b.freeImage(moved.volid);
    await b.freeImage(tmplB);
    await b.createBase(await b.allocImage('local', { vmid: 100, size: 2 * MiB, format: 'qcow2' }));
    const err = await a.migrateVolume(other, { toNode: nodeB }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_SUPPORTED', details: { base: tmpl } });
    expect(await filesOfB()).toEqual(['100/base-100-disk-0.qcow2']);
  });

  it('a target storage the node does not have is NOT_FOUND, before anything is sent', async () => {
    const { volid } = await rawVolume(MiB);
    expect(await code(a.migrateVolume(volid, { toNode: nodeB, storage: 'elsewhere' }))).toBe('NOT_FOUND');
    expect((await a.listImages('local')).map((i) => i.volid)).toEqual([volid]);
  });
});
