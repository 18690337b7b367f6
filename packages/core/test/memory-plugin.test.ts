import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FaultInjectingRunner } from '../src/command/fault-runner.js';
import type { CommandRunner } from '../src/command/runner.js';
import { isStorageError, StorageError, type StorageErrorCode } from '../src/errors.js';
import type { PluginContext } from '../src/plugin-types.js';
import type { MemoryConfig } from '../src/testing/memory/config.js';
import { outcomeOf } from '../src/testing/assert.js';
import { pluginContext } from '../src/testing/plugin-context.js';
import { encodeSizeHeader } from '../src/transfer.js';
import { defineMemoryPlugin, MemoryPlugin, MemoryRunner } from './support/memory-plugin.js';

const MiB = 1024 ** 2;
const silent = { debug() {}, info() {}, warn() {} };

function context(runner: CommandRunner, storeId = 'mem'): PluginContext<MemoryConfig> {
  return pluginContext({ config: { type: 'memory', storage: storeId }, runner, log: silent, node: 'test' });
}

function code(p: Promise<unknown>): Promise<StorageErrorCode | 'ok'> {
  return outcomeOf(p, 'a memory plugin call');
}

function setup(plugin = new MemoryPlugin()) {
  const runner = new MemoryRunner({ chunkSize: 4096 });
  const fresh = () => context(runner);
  const vol = (volname: string) => plugin.parseVolname(volname);
  return { plugin, runner, fresh, vol };
}

async function exportBytes(plugin: MemoryPlugin, ctx: PluginContext<MemoryConfig>, volname: string, snapshot?: string): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await plugin.volumeExport(ctx, { volume: plugin.parseVolname(volname), format: 'raw+size', output: out, snapshot });
  return Buffer.concat(chunks);
}

describe('memory plugin: names', () => {
  const p = new MemoryPlugin();
  it('parses vm, base and linked-clone names like the ZFS plugin', () => {
    expect(p.parseVolname('vm-100-disk-0')).toMatchObject({ vtype: 'images', name: 'vm-100-disk-0', vmid: 100, isBase: false, baseName: undefined, format: 'raw' });
    expect(p.parseVolname('base-100-disk-2')).toMatchObject({ name: 'base-100-disk-2', vmid: 100, isBase: true });
    expect(p.parseVolname('base-100-disk-0/vm-101-disk-0')).toMatchObject({ name: 'vm-101-disk-0', vmid: 101, baseName: 'base-100-disk-0', baseVmid: 100, isBase: false });
    expect(p.parseVolname('vm-100-cloudinit').name).toBe('vm-100-cloudinit');
  });
  it.each(['', '..', '../vm-100-disk-0', 'vm-100-disk-0/../x', 'vm-100-disk-0;reboot', 'vm-100-$(reboot)', 'vm-100-disk 0', 'vm-100-dïsk-0', 'vm-0-disk-0', 'vm-100-disk-0/vm-101-disk-0', 'x-100-disk-0'])(
    'refuses %j with INVALID_VOLUME_ID',
    (name) => {
      expect(() => p.parseVolname(name)).toThrow(expect.objectContaining({ code: 'INVALID_VOLUME_ID' }));
    },
  );
});

describe('memory runner', () => {
  it('fails an unknown program as not found, and a bad command line with exit code 2', async () => {
    const r = new MemoryRunner();
    await expect(r.run(['qemu-img', 'info'])).rejects.toMatchObject({ code: 'COMMAND_FAILED', details: { notFound: true } });
    await expect(r.run(['stowage-memory', 'create', 'p', 'x', 'ten'])).rejects.toMatchObject({ exitCode: 2 });
    expect((await r.run(['stowage-memory', 'destroy', 'p', 'x'], { okExitCodes: [0, 1] })).exitCode).toBe(1);
  });
  it('hands other programs to its fallback', async () => {
    const seen: string[][] = [];
    const fallback: CommandRunner = { description: 'fake', run: async (argv) => (seen.push([...argv]), { stdout: 'ok', stderr: '', exitCode: 0 }) };
    expect((await new MemoryRunner({ fallback }).run(['true'])).stdout).toBe('ok');
    expect(seen).toEqual([['true']]);
  });
});

describe('memory plugin: volumes', () => {
  it('allocates, lists with and without a vmid, frees, and refuses a second free with NOT_FOUND', async () => {
    const { plugin, fresh, vol } = setup();
    expect(await plugin.allocImage(fresh(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 4 * MiB })).toBe('vm-100-disk-0');
    await plugin.allocImage(fresh(), { vmid: 101, format: 'raw', name: 'vm-101-disk-0', size: MiB });
    expect((await plugin.listImages(fresh(), {})).map((i) => i.volid)).toEqual(['mem:vm-100-disk-0', 'mem:vm-101-disk-0']);
    expect(await plugin.listImages(fresh(), { vmid: 101 })).toMatchObject([{ volid: 'mem:vm-101-disk-0', size: MiB, vmid: 101, isBase: false, format: 'raw' }]);
    expect(await code(plugin.allocImage(fresh(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB }))).toBe('ALREADY_EXISTS');
    expect(await code(plugin.allocImage(fresh(), { vmid: 100, format: 'raw', name: 'vm-101-disk-9', size: MiB }))).toBe('INVALID_ARGUMENT');
    await plugin.freeImage(fresh(), { volume: vol('vm-100-disk-0') });
    expect(await code(plugin.freeImage(fresh(), { volume: vol('vm-100-disk-0') }))).toBe('NOT_FOUND');
    expect((await plugin.listImages(fresh(), {})).map((i) => i.volname)).toEqual(['vm-101-disk-0']);
  });

  it('keeps volumes sparse and shares data between a base and its clones', async () => {
    const { plugin, fresh } = setup();
    const data = Buffer.alloc(MiB);
    randomBytes(8192).copy(data, 0);
    await plugin.volumeImport(fresh(), { volume: plugin.parseVolname('vm-100-disk-0'), format: 'raw+size', input: Readable.from([encodeSizeHeader(MiB), data]) });
    const used = (await plugin.status(fresh())).used;
    expect(used).toBe(8192);
    const base = await plugin.createBase(fresh(), { volume: plugin.parseVolname('vm-100-disk-0') });
    expect(base).toBe('base-100-disk-0');
    const clone = await plugin.cloneImage(fresh(), { volume: plugin.parseVolname(base), vmid: 101, name: 'vm-101-disk-0' });
    expect(clone).toBe('base-100-disk-0/vm-101-disk-0');
    const status = await plugin.status(fresh());
    expect(status.used).toBe(8192);
    expect(status.used + status.available).toBe(status.total);
    expect(await plugin.listImages(fresh(), { vmid: 101 })).toMatchObject([{ volname: clone, parent: 'mem:base-100-disk-0' }]);
    expect((await exportBytes(plugin, fresh(), clone)).subarray(8)).toEqual(data);
    expect(await code(plugin.freeImage(fresh(), { volume: plugin.parseVolname(base) }))).toBe('IN_USE');
    expect(await code(plugin.volumeResize(fresh(), { volume: plugin.parseVolname(base), size: 2 * MiB }))).toBe('INVALID_ARGUMENT');
  });

  it('refuses to free a protected volume and keeps notes', async () => {
    const { plugin, fresh, vol } = setup();
    await plugin.allocImage(fresh(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB });
    await plugin.updateVolumeAttribute(fresh(), { volume: vol('vm-100-disk-0'), attribute: 'protected', value: true });
    await plugin.updateVolumeAttribute(fresh(), { volume: vol('vm-100-disk-0'), attribute: 'notes', value: 'hello world' });
    expect(await code(plugin.freeImage(fresh(), { volume: vol('vm-100-disk-0') }))).toBe('PROTECTED');
    expect(await plugin.getVolumeAttribute(fresh(), { volume: vol('vm-100-disk-0'), attribute: 'notes' })).toBe('hello world');
    await plugin.updateVolumeAttribute(fresh(), { volume: vol('vm-100-disk-0'), attribute: 'protected', value: false });
    expect(await plugin.getVolumeAttribute(fresh(), { volume: vol('vm-100-disk-0'), attribute: 'protected' })).toBe(false);
    await plugin.freeImage(fresh(), { volume: vol('vm-100-disk-0') });
  });
});

describe('memory plugin: snapshots', () => {
  async function withSnapshots(plugin: MemoryPlugin) {
    const s = setup(plugin);
    await plugin.allocImage(s.fresh(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB });
    for (const [i, snap] of ['a', 'b', 'c'].entries()) {
      await plugin.volumeResize(s.fresh(), { volume: s.vol('vm-100-disk-0'), size: (i + 2) * MiB });
      await plugin.volumeSnapshot(s.fresh(), { volume: s.vol('vm-100-disk-0'), snapshot: snap });
    }
    return s;
  }

  it('rolls back to any snapshot and clones from one', async () => {
    const { plugin, fresh, vol } = await withSnapshots(new MemoryPlugin());
    const v = vol('vm-100-disk-0');
    await plugin.volumeSnapshotRollback(fresh(), { volume: v, snapshot: 'a' });
    expect((await plugin.volumeSizeInfo(fresh(), { volume: v })).size).toBe(2 * MiB);
    expect((await plugin.volumeSnapshotInfo(fresh(), { volume: v })).map((s) => s.name)).toEqual(['a', 'b', 'c']);
    expect(await plugin.cloneImage(fresh(), { volume: v, vmid: 102, name: 'vm-102-disk-0', snapshot: 'b' })).toBe('vm-102-disk-0');
    expect(await code(plugin.volumeSnapshotDelete(fresh(), { volume: v, snapshot: 'b' }))).toBe('IN_USE');
    expect(await code(plugin.volumeSnapshot(fresh(), { volume: v, snapshot: 'c' }))).toBe('ALREADY_EXISTS');
    expect(await code(plugin.volumeSnapshotDelete(fresh(), { volume: v, snapshot: 'zz' }))).toBe('NOT_FOUND');
  });

  it('in the newest-only variant, names blockers and destroys them only when asked', async () => {
    const Strict = defineMemoryPlugin({ type: 'memorystrict', rollbackAnySnapshot: false, cloneFromSnapshot: false, shrink: false });
    const { plugin, fresh, vol } = await withSnapshots(new Strict());
    const v = vol('vm-100-disk-0');
    expect(await plugin.volumeRollbackIsPossible(fresh(), { volume: v, snapshot: 'a' })).toEqual(['b', 'c']);
    const err = await plugin.volumeSnapshotRollback(fresh(), { volume: v, snapshot: 'a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StorageError);
    expect(err).toMatchObject({ code: 'SNAPSHOT_BLOCKERS', details: { blockers: ['b', 'c'] } });
    await plugin.volumeSnapshotRollback(fresh(), { volume: v, snapshot: 'a', destroyBlockers: true });
    expect((await plugin.volumeSnapshotInfo(fresh(), { volume: v })).map((s) => s.name)).toEqual(['a']);
    expect(await code(plugin.volumeResize(fresh(), { volume: v, size: MiB }))).toBe('CANNOT_SHRINK');
    expect(await code(plugin.cloneImage(fresh(), { volume: v, vmid: 102, name: 'vm-102-disk-0', snapshot: 'a' }))).toBe('NOT_SUPPORTED');
  });
});

describe('memory plugin: multi-step operations leave nothing behind', () => {
  it('undoes the rename when making a base fails at its second step', async () => {
    const { plugin, runner, vol } = setup();
    await plugin.allocImage(context(runner), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB });
    const faulty = new FaultInjectingRunner(runner, { failAt: (argv) => argv[1] === 'set' });
    expect(await code(plugin.createBase(context(faulty), { volume: vol('vm-100-disk-0') }))).toBe('COMMAND_FAILED');
    expect((await plugin.listImages(context(runner), {})).map((i) => i.volname)).toEqual(['vm-100-disk-0']);
  });

  it('removes the volume of an import whose stream is truncated', async () => {
    const { plugin, fresh } = setup();
    const input = Readable.from([encodeSizeHeader(MiB), Buffer.alloc(1000, 1)]);
    expect(await code(plugin.volumeImport(fresh(), { volume: plugin.parseVolname('vm-100-disk-0'), format: 'raw+size', input }))).toBe('INVALID_ARGUMENT');
    expect(await plugin.listImages(fresh(), {})).toEqual([]);
  });

  it('refuses a stream shorter or longer than its header as every plugin does: INVALID_ARGUMENT with details { size, received }', async () => {
    const { plugin, fresh } = setup();
    const importing = (chunks: Buffer[]) => plugin.volumeImport(fresh(), { volume: plugin.parseVolname('vm-100-disk-0'), format: 'raw+size', input: Readable.from(chunks) });
    const short = await importing([encodeSizeHeader(8192), Buffer.alloc(1000, 1)]).catch((e: unknown) => e);
    expect(isStorageError(short, 'INVALID_ARGUMENT') && short.details).toEqual({ size: 8192, received: 1000 });
    const long = await importing([encodeSizeHeader(1000), Buffer.alloc(3000, 1)]).catch((e: unknown) => e);
    expect(isStorageError(long, 'INVALID_ARGUMENT') && long.details).toEqual({ size: 1000, received: 3000 });
    expect(await plugin.listImages(fresh(), {})).toEqual([]);
  });

  it('round-trips bytes through export and import, and exports a snapshot as it was', async () => {
    const { plugin, fresh } = setup();
    const data = randomBytes(MiB + 123);
    const name = await plugin.volumeImport(fresh(), { volume: plugin.parseVolname('vm-100-disk-0'), format: 'raw+size', input: Readable.from([encodeSizeHeader(data.length), data]) });
    await plugin.volumeSnapshot(fresh(), { volume: plugin.parseVolname(name), snapshot: 's1' });
    await plugin.volumeResize(fresh(), { volume: plugin.parseVolname(name), size: 3 * MiB });
    const again = await plugin.volumeImport(fresh(), {
      volume: plugin.parseVolname(name),
      format: 'raw+size',
      allowRename: true,
      input: Readable.from([encodeSizeHeader(4), Buffer.from('abcd')]),
    });
    expect(again).toBe('vm-100-disk-1');
    const snap = await exportBytes(plugin, fresh(), name, 's1');
    expect(snap.readBigUInt64LE(0)).toBe(BigInt(data.length));
    expect(snap.subarray(8)).toEqual(data);
    expect((await exportBytes(plugin, fresh(), name)).length).toBe(8 + 3 * MiB);
  });
});
