/**
 * The manager's replication flow between two managers in this process (`LocalNode`), over a
 * test storage type whose `zfs` stream carries one snapshot, whole or as an increment from a
 * base snapshot the receiver has: which run is full and which incremental, which snapshots each
 * side keeps, what a failed run leaves, and what is refused before anything is made. The real
 * ZFS and LVM-thin runs are in `plugin-lvmthin/test/replicate.real.test.ts` (testbed).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { z } from 'zod';
import { isStorageError, LocalNode, StorageError, type NodeImportOptions, type PluginCapabilities, type StorageManager, type StreamFormat } from '@stowage/core';
import type { PluginContext, TransferFormatsRequest, VolumeExportRequest, VolumeImportRequest } from '@stowage/core/plugin';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { fileConfigSchema, FilePlugin, type FileConfig } from './support/file-plugin.js';
import { codeOf, openFileManager, type FileManagerFixture } from './support/file-manager.js';

/** One snapshot per stream: `{ snapshot, base?, data }`, the data as of the snapshot. */
class SnapStreamPlugin extends FilePlugin {
  static override readonly type = 'testsnap';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testsnap') });
  static override readonly capabilities: PluginCapabilities = { ...FilePlugin.capabilities, exportFormats: ['zfs', 'raw+size'], importFormats: ['zfs', 'raw+size'] };

  override async volumeExportFormats(_ctx: PluginContext<FileConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    return request.snapshot !== undefined ? ['zfs'] : ['raw+size'];
  }

  override async volumeImportFormats(_ctx: PluginContext<FileConfig>, request: TransferFormatsRequest): Promise<StreamFormat[]> {
    return request.snapshot !== undefined ? ['zfs'] : ['raw+size'];
  }

  override async volumeExport(ctx: PluginContext<FileConfig>, request: VolumeExportRequest): Promise<void> {
    if (request.format !== 'zfs') return super.volumeExport(ctx, request);
    const { name } = request.volume;
    const snaps = (await this.readMeta(ctx, name)).snapshots.map((s) => s.name);
    for (const s of [request.snapshot, request.baseSnapshot]) if (s !== undefined && !snaps.includes(s)) throw new StorageError('NOT_FOUND', `no snapshot '${s}'`);
    const data = (await readFile(this.file(ctx, `${name}@${request.snapshot!}`))).toString('base64');
    await new Promise<void>((resolve, reject) => request.output.write(JSON.stringify({ snapshot: request.snapshot, base: request.baseSnapshot, data }), (e) => (e ? reject(e) : resolve())));
  }

  override async volumeImport(ctx: PluginContext<FileConfig>, request: VolumeImportRequest): Promise<string> {
    if (request.format !== 'zfs') return super.volumeImport(ctx, request);
    this.calls.push(`volumeImport ${request.volume.volname} zfs base=${String(request.baseSnapshot)}`);
    const chunks: Buffer[] = [];
    for await (const c of request.input) chunks.push(c as Buffer); // a broken input throws here, before anything is written
    const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { snapshot: string; base?: string; data: string };
    const { name } = request.volume;
    const meta = await this.readMeta(ctx, name);
    const exists = await readFile(this.file(ctx, name)).then(() => true, () => false);
    if (doc.base === undefined && exists) throw new StorageError('ALREADY_EXISTS', `'${name}' exists`);
    if (doc.base !== undefined && !meta.snapshots.some((s) => s.name === doc.base)) throw new StorageError('NOT_FOUND', `no base '${doc.base}'`);
    const data = Buffer.from(doc.data, 'base64');
    await writeFile(this.file(ctx, name), data);
    await writeFile(this.file(ctx, `${name}@${doc.snapshot}`), data);
    meta.snapshots.push({ name: doc.snapshot, timestamp: 0 });
    await this.writeMeta(ctx, name, meta);
    return name;
  }
}

/** Exports and imports `raw+size` only, also when a snapshot is named (the base class's default). */
class RawOnlyPlugin extends FilePlugin {
  static override readonly type = 'testraw';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testraw') });
  static override readonly capabilities: PluginCapabilities = { ...FilePlugin.capabilities, exportFormats: ['raw+size'], importFormats: ['raw+size'] };
}

/** A node whose imports lose their input after the first chunk. */
class BrokenNode extends LocalNode {
  override importVolume(volid: string, options: NodeImportOptions): Promise<string> {
    const cut = new Transform({ transform: (_c, _e, cb) => cb(new Error('the connection to the node broke')) });
    options.input.once('error', (e) => cut.destroy(e));
    return super.importVolume(volid, { ...options, input: options.input.pipe(cut) });
  }
}

const VOLID = 'testsnap-r:vm-100-disk-0';
let a: FileManagerFixture;
let b: FileManagerFixture;
let node: LocalNode;

const names = async (m: StorageManager, volid = VOLID): Promise<string[]> => (await m.volumeSnapshotInfo(volid)).map((s) => s.name);
const write = (fx: FileManagerFixture, text: string): Promise<void> => writeFile(join(fx.dirs['testsnap-r']!, 'vm-100-disk-0'), text);
/** Takes a snapshot through the plugin itself (the manager takes no replication names from a caller). */
const snapshotBehindTheManager = (fx: FileManagerFixture, snapshot: string): Promise<void> =>
  fx.plugin('testsnap-r').volumeSnapshot({ config: { path: fx.dirs['testsnap-r'] } } as PluginContext<FileConfig>, { volume: fx.manager.parseVolume(VOLID).volume, snapshot });
const read = (fx: FileManagerFixture): Promise<string> => readFile(join(fx.dirs['testsnap-r']!, 'vm-100-disk-0'), 'utf8');

beforeEach(async () => {
  a = await openFileManager(['testsnap-r', 'testraw-s'], { extra: [SnapStreamPlugin, RawOnlyPlugin] });
  b = await openFileManager(['testsnap-r', 'testraw-s'], { extra: [SnapStreamPlugin, RawOnlyPlugin] });
  node = new LocalNode('b', b.manager);
  await a.manager.volumeImport(VOLID, { format: 'raw+size', input: Readable.from([Buffer.from([5, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('one..')]) });
});

afterEach(async () => {
  await a.close();
  await b.close();
});

describe('replicateVolume', () => {
  it('sends the whole volume first, then increments from the newest snapshot both have, dropping the older one on both sides', async () => {
    const progress: number[] = [];
    const full = await a.manager.replicateVolume(VOLID, { toNode: node, onProgress: (p) => progress.push(p.done) });
    expect(full).toMatchObject({ volid: VOLID, from: VOLID, node: 'b', format: 'zfs', mode: 'full', dropped: [] });
    expect(full.snapshot).toMatch(/^__replicate_b_\d+__$/);
    expect(full).not.toHaveProperty('baseSnapshot');
    expect(progress.at(-1)).toBe(full.bytes);
    expect(await read(b)).toBe('one..');
    expect(await names(a.manager)).toEqual([full.snapshot]);
    expect(await names(b.manager)).toEqual([full.snapshot]);

    await write(a, 'two..');
    const next = await a.manager.replicateVolume(VOLID, { toNode: node });
    expect(next).toMatchObject({ mode: 'incremental', baseSnapshot: full.snapshot, dropped: [full.snapshot] });
    expect(b.plugin('testsnap-r').calls).toContain(`volumeImport vm-100-disk-0 zfs base=${full.snapshot}`);
    expect(await read(b)).toBe('two..');
    expect(await names(a.manager)).toEqual([next.snapshot]);
    expect(await names(b.manager)).toEqual([next.snapshot]);
    expect(await read(a), 'the source stays').toBe('two..');
  });

  it('leaves both sides at their last replication when the stream breaks, and the next run goes on from there', async () => {
    const full = await a.manager.replicateVolume(VOLID, { toNode: node });
    await write(a, 'two..');
    const e = await a.manager.replicateVolume(VOLID, { toNode: new BrokenNode('b', b.manager) }).catch((x: unknown) => x);
    expect(isStorageError(e, 'UNAVAILABLE') && e.message.includes('the connection to the node broke'), String(e)).toBe(true);
    expect(await names(a.manager)).toEqual([full.snapshot]);
    expect(await names(b.manager)).toEqual([full.snapshot]);
    expect(await read(b)).toBe('one..');
    const next = await a.manager.replicateVolume(VOLID, { toNode: node });
    expect(next).toMatchObject({ mode: 'incremental', baseSnapshot: full.snapshot });
    expect(await read(b)).toBe('two..');
  });

  it("drops a killed run's snapshot on the source, and one the node got without the source knowing, on the next run", async () => {
    const full = await a.manager.replicateVolume(VOLID, { toNode: node });
    // a run killed after its snapshot was taken on the source, and one whose answer was lost after the node had its snapshot
    const stale = `__replicate_b_${Date.now() + 5000}__`;
    await snapshotBehindTheManager(a, stale);
    const orphan = `__replicate_b_${Date.now() + 9000}__`;
    await snapshotBehindTheManager(b, orphan);
    const next = await a.manager.replicateVolume(VOLID, { toNode: node });
    expect(next).toMatchObject({ mode: 'incremental', baseSnapshot: full.snapshot });
    expect(next.dropped).toEqual([full.snapshot, stale]);
    expect(await names(a.manager)).toEqual([next.snapshot]);
    expect(await names(b.manager)).toEqual([next.snapshot]);
  });

  it('refuses a replica that shares no replication snapshot (ALREADY_EXISTS), taking no snapshot', async () => {
    await b.manager.volumeImport(VOLID, { format: 'raw+size', input: Readable.from([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('x')]) });
    expect(await codeOf(a.manager.replicateVolume(VOLID, { toNode: node }))).toBe('ALREADY_EXISTS');
    expect(await names(a.manager)).toEqual([]);
  });

  it('refuses storages without a snapshot stream (NOT_SUPPORTED) before anything is made', async () => {
    const volid = await a.manager.volumeImport('testraw-s:vm-100-disk-0', { format: 'raw+size', input: Readable.from([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('x')]) });
    expect(await codeOf(a.manager.replicateVolume(volid, { toNode: node, storage: 'testsnap-r' }))).toBe('NOT_SUPPORTED');
    expect(await names(a.manager, volid)).toEqual([]);
    expect(await b.files('testsnap-r')).toEqual([]);
  });

  it('removes the copy and the snapshot when the node does not keep the snapshot (CORRUPT)', async () => {
    // raw+size carries no snapshot, and this storage type offers it for a snapshot all the same
    const volid = await a.manager.volumeImport('testraw-s:vm-100-disk-0', { format: 'raw+size', input: Readable.from([Buffer.from([1, 0, 0, 0, 0, 0, 0, 0]), Buffer.from('x')]) });
    expect(await codeOf(a.manager.replicateVolume(volid, { toNode: node }))).toBe('CORRUPT');
    expect(await names(a.manager, volid)).toEqual([]);
    expect(await b.files('testraw-s')).toEqual([]);
  });

  it('takes replication snapshot names in transfers and deletes, never from a caller taking a snapshot', async () => {
    const full = await a.manager.replicateVolume(VOLID, { toNode: node });
    expect(await codeOf(a.manager.volumeSnapshot(VOLID, '__replicate_b_1__'))).toBe('INVALID_ARGUMENT');
    expect(await a.manager.volumeExportFormats(VOLID, { snapshot: full.snapshot })).toEqual(['zfs']);
    expect(await codeOf(a.manager.volumeImport('testsnap-r:vm-101-disk-0', { format: 'zfs', input: Readable.from([]), snapshot: '__replicate_b c_1__' }))).toBe('INVALID_ARGUMENT');
    await a.manager.volumeSnapshotDelete(VOLID, full.snapshot);
    expect(await names(a.manager)).toEqual([]);
  });
});
