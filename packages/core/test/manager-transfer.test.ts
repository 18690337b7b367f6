import { randomBytes } from 'node:crypto';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeSizeHeader, type PluginContext, type VolumeExportRequest, type VolumeImportRequest } from '@stowage/core/plugin';
import { isStorageError, StorageError, type PluginCapabilities, type Progress } from '@stowage/core';
import { z } from 'zod';
import { FilePlugin, fileConfigSchema, type FileConfig } from './support/file-plugin.js';
import { codeOf, openFileManager, type FileManagerFixture } from './support/file-manager.js';

/** The same files, but a storage type that only speaks `raw+size`. */
class RawOnlyPlugin extends FilePlugin {
  static override readonly type = 'testraw';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testraw') });
  static override readonly capabilities: PluginCapabilities = { ...FilePlugin.capabilities, exportFormats: ['raw+size'], importFormats: ['raw+size'] };
}

/** A storage type that only speaks a format nobody else does. */
class ZfsOnlyPlugin extends FilePlugin {
  static override readonly type = 'testzfs';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testzfs') });
  static override readonly capabilities: PluginCapabilities = { ...FilePlugin.capabilities, exportFormats: ['zfs'], importFormats: ['zfs'] };
}

/** Exports slowly, in small chunks, so that a copy can be aborted half-way. */
class SlowPlugin extends FilePlugin {
  static override readonly type = 'testslow';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testslow') });
  static override readonly capabilities: PluginCapabilities = RawOnlyPlugin.capabilities;
  override async volumeExport(ctx: PluginContext<FileConfig>, request: VolumeExportRequest): Promise<void> {
    const data = await readFile(this.file(ctx, request.volume.name));
    request.output.write(encodeSizeHeader(data.length));
    for (let off = 0; off < data.length; off += 4096) {
      if (ctx.signal?.aborted) throw new StorageError('ABORTED', 'export aborted');
      await new Promise((r) => setTimeout(r, 5));
      request.output.write(data.subarray(off, off + 4096));
    }
  }
}

/** Imports fail after the volume was made: the import writes half the data, then throws. */
class FailingImportPlugin extends RawOnlyPlugin {
  static override readonly type = 'testfail';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testfail') });
  override async volumeImport(ctx: PluginContext<FileConfig>, request: VolumeImportRequest): Promise<string> {
    const file = this.file(ctx, request.volume.name);
    await writeFile(file, 'half', { flag: 'wx' });
    await rm(file); // a plugin undoes what it made itself
    throw new StorageError('COMMAND_FAILED', 'dd: error writing: Input/output error');
  }
}

const plugins = [RawOnlyPlugin, ZfsOnlyPlugin, SlowPlugin, FailingImportPlugin];
let fx: FileManagerFixture;

afterEach(async () => {
  FilePlugin.leakOnImportFailure = false;
  await fx?.close();
});

function sink(): { out: Writable; bytes: () => Buffer } {
  const chunks: Buffer[] = [];
  const out = new Writable({
    write(chunk: Buffer, _e, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  return { out, bytes: () => Buffer.concat(chunks) };
}

function rawSize(data: Buffer, cut = 0): Readable {
  const all = Buffer.concat([encodeSizeHeader(data.length), data]);
  return Readable.from([all.subarray(0, all.length - cut)]);
}

describe('volumeExport / volumeImport', () => {
  beforeEach(async () => {
    fx = await openFileManager(['st', 'testraw-b'], { extra: plugins });
  });

  it('round-trips bytes through raw+size, reporting progress with the total from the header', async () => {
    const data = randomBytes(300_000);
    const progress: Progress[] = [];
    const volid = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(data), onProgress: (p) => progress.push(p) });
    expect(volid).toBe('st:vm-100-disk-0');
    expect(progress.at(-1)).toEqual({ done: data.length + 8, total: data.length + 8 });
    const { out, bytes } = sink();
    const exported: Progress[] = [];
    await fx.manager.volumeExport(volid, { format: 'raw+size', output: out, onProgress: (p) => exported.push(p) });
    expect(bytes()).toEqual(Buffer.concat([encodeSizeHeader(data.length), data]));
    expect(exported.at(-1)).toEqual({ done: data.length + 8, total: data.length + 8 });
    expect(out.writableEnded).toBe(false);
  });

  it('fails the export when the output breaks, with or without progress counting', async () => {
    const volid = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(randomBytes(1 << 20)) });
    for (const onProgress of [undefined, () => undefined]) {
      let written = 0;
      const broken = new Writable({
        write(chunk: Buffer, _e, cb) {
          written += chunk.length;
          cb(written > 100_000 ? new Error('EPIPE: reader went away') : null);
        },
      });
      broken.on('error', () => undefined);
      await expect(fx.manager.volumeExport(volid, { format: 'raw+size', output: broken, onProgress })).rejects.toThrow();
    }
  });

  it('refuses formats the volume does not offer', async () => {
    await fx.manager.volumeImport('testraw-b:vm-1-disk-0', { format: 'raw+size', input: rawSize(Buffer.alloc(10)) });
    expect(await codeOf(fx.manager.volumeExport('testraw-b:vm-1-disk-0', { format: 'zfs', output: sink().out }))).toBe('NOT_SUPPORTED');
    expect(await codeOf(fx.manager.volumeImport('testraw-b:vm-2-disk-0', { format: 'qcow2+size', input: rawSize(Buffer.alloc(10)) }))).toBe(
      'NOT_SUPPORTED',
    );
    expect(await fx.files('testraw-b')).toEqual(['vm-1-disk-0']);
  });

  it('leaves nothing behind when a truncated stream fails the import', async () => {
    expect(await codeOf(fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(randomBytes(5000), 100) }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await codeOf(fx.manager.volumeImport('st:vm-100-disk-1', { format: 'raw+size', input: Readable.from([Buffer.alloc(5)]) }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await fx.files('st')).toEqual([]);
  });

  it('never frees by name after a failed import: only the plugin, which knows what it made, cleans up', async () => {
    // A plugin that leaks leaves its file; the manager does not guess by name that it is the
    // import's (it may be another operation's volume). The kit's fault cases catch such a plugin.
    FilePlugin.leakOnImportFailure = true;
    expect(await codeOf(fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(randomBytes(5000), 100) }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(await fx.files('st')).toEqual(['vm-100-disk-0']);
    expect(fx.warnings.filter((w) => w.includes('half-made'))).toEqual([]);
  });

  it('never frees a volume that existed before the import', async () => {
    FilePlugin.leakOnImportFailure = true;
    const vol = await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    expect(await codeOf(fx.manager.volumeImport(vol, { format: 'raw+size', input: rawSize(Buffer.alloc(10)) }))).toBe('ALREADY_EXISTS');
    expect(await fx.files('st')).toEqual(['vm-100-disk-0']);
    // allowRename picks a free name instead.
    expect(await fx.manager.volumeImport(vol, { format: 'raw+size', input: rawSize(Buffer.alloc(10)), allowRename: true })).toBe('st:vm-100-disk-1');
  });
});

describe('copyVolume', () => {
  beforeEach(async () => {
    fx = await openFileManager(['st', 'st2', 'testraw-b', 'testzfs-z', 'testzfs-y', 'testslow-s', 'testfail-f'], { extra: plugins });
  });

  it('copies between storage types, negotiating raw+size, with progress and identical bytes', async () => {
    const data = randomBytes(1 << 20);
    const src = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(data) });
    const progress: Progress[] = [];
    const copy = await fx.manager.copyVolume(src, 'testraw-b', { onProgress: (p) => progress.push(p) });
    expect(copy).toBe('testraw-b:vm-100-disk-0');
    expect(fx.plugin('testraw-b').calls).toContain('volumeImport vm-100-disk-0 raw+size');
    expect(await readFile(join(fx.dirs['testraw-b']!, 'vm-100-disk-0'))).toEqual(data);
    expect(progress.at(-1)).toEqual({ done: data.length + 8, total: data.length + 8 });
    for (let i = 1; i < progress.length; i++) expect(progress[i]!.done).toBeGreaterThanOrEqual(progress[i - 1]!.done);
    // The source is untouched, and a second copy gets the next free name (and another owner when asked).
    expect(await fx.manager.copyVolume(src, 'testraw-b')).toBe('testraw-b:vm-100-disk-1');
    expect(await fx.manager.copyVolume(src, 'testraw-b', { vmid: 200 })).toBe('testraw-b:vm-200-disk-0');
    expect(await readFile(join(fx.dirs['st']!, 'vm-100-disk-0'))).toEqual(data);
  });

  it("prefers the source's first format when the target takes it (snapshots travel with it)", async () => {
    const src = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(Buffer.from('version 1')) });
    await fx.manager.volumeSnapshot(src, 'v1');
    const copy = await fx.manager.copyVolume(src, 'st2', { withSnapshots: true, name: 'vm-100-copy' });
    expect(copy).toBe('st2:vm-100-copy');
    expect(fx.plugin('st2').calls).toContain('volumeImport vm-100-copy test+snaps');
    expect((await fx.manager.volumeSnapshotInfo(copy)).map((s) => s.name)).toEqual(['v1']);
  });

  it('fails with NOT_SUPPORTED and both format lists when the storages share no format, creating nothing', async () => {
    const src = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(Buffer.alloc(10)) });
    const e = await fx.manager.copyVolume(src, 'testzfs-z').catch((x: unknown) => x);
    expect(isStorageError(e, 'NOT_SUPPORTED')).toBe(true);
    expect((e as StorageError).details).toEqual({ exportFormats: ['test+snaps', 'raw+size'], importFormats: ['zfs'] });
    expect(await fx.files('testzfs-z')).toEqual([]);
  });

  it('sends snapshot streams (zfs) from a temporary __migration__ snapshot and removes it on both sides', async () => {
    const src = await fx.manager.allocImage('testzfs-z', { vmid: 100, size: 4096 });
    await writeFile(join(fx.dirs['testzfs-z']!, 'vm-100-disk-0'), 'zfs payload');
    await fx.manager.volumeSnapshot(src, 'daily');
    const copy = await fx.manager.copyVolume(src, 'testzfs-y');
    expect(copy).toBe('testzfs-y:vm-100-disk-0');
    expect(fx.plugin('testzfs-y').calls).toContain('volumeImport vm-100-disk-0 zfs');
    expect(await readFile(join(fx.dirs['testzfs-y']!, 'vm-100-disk-0'), 'utf8')).toBe('zfs payload');
    expect((await fx.manager.volumeSnapshotInfo(src)).map((s) => s.name)).toEqual(['daily']);
    expect((await fx.manager.volumeSnapshotInfo(copy)).map((s) => s.name)).toEqual(['daily']);
    expect((await fx.files('testzfs-z')).some((f) => f.includes('__migration__'))).toBe(false);
    expect((await fx.files('testzfs-y')).some((f) => f.includes('__migration__'))).toBe(false);
  });

  it('frees the half-made target when the import fails', async () => {
    const src = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(randomBytes(100_000)) });
    expect(await codeOf(fx.manager.copyVolume(src, 'testfail-f'))).toBe('COMMAND_FAILED');
    expect(await fx.files('testfail-f')).toEqual([]);
    expect(await fx.files('st')).toEqual(['vm-100-disk-0']);
  });

  it('stops on abort with ABORTED and leaves no target behind', async () => {
    const data = randomBytes(400 * 4096);
    const src = await fx.manager.volumeImport('testslow-s:vm-100-disk-0', { format: 'raw+size', input: rawSize(data) });
    const ac = new AbortController();
    let seen = 0;
    const p = fx.manager.copyVolume(src, 'st', {
      signal: ac.signal,
      onProgress: ({ done }) => {
        seen = done;
        if (done > 20 * 4096) ac.abort();
      },
    });
    expect(await codeOf(p)).toBe('ABORTED');
    expect(seen).toBeLessThan(data.length);
    expect(await fx.files('st')).toEqual([]);
    expect(await codeOf(fx.manager.copyVolume(src, 'st', { signal: AbortSignal.abort() }))).toBe('ABORTED');
  });

  it('refuses bad input before anything is made', async () => {
    const src = await fx.manager.volumeImport('st:vm-100-disk-0', { format: 'raw+size', input: rawSize(Buffer.alloc(10)) });
    expect(await codeOf(fx.manager.copyVolume(src, 'nope'))).toBe('NOT_FOUND');
    expect(await codeOf(fx.manager.copyVolume(src, 'st2', { vmid: -5 }))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(fx.manager.copyVolume(src, 'st2', { name: '../x' }))).toBe('INVALID_VOLUME_ID');
    expect(await codeOf(fx.manager.copyVolume(src, 'st2', { format: 'qcow2' }))).toBe('NOT_SUPPORTED');
    expect(await fx.files('st2')).toEqual([]);
  });
});
