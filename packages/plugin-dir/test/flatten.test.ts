/**
 * Issue 18 on a directory storage, with the real qemu-img: `flattenImage` detaches a qcow2
 * linked clone from its base, `volumeSnapshotFlatten` takes an image back to a snapshot and
 * drops all snapshots. Bytes are compared before and after; every step failed in turn leaves
 * the image as it was.
 */
import { readdir, readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalRunner, type CommandResult, type CommandRunner, type PluginContext, type RunOptions } from '@stowage/core/plugin';
import { FaultInjectingRunner } from '@stowage/core/testing';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, releaseImmutable, sh } from './helpers.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let root: string;
let scratch: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-flat-'));
  scratch = await mkdtemp(join(tmpdir(), 'stowage-flat-raw-'));
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
  await rm(scratch, { recursive: true, force: true });
});

const file = (volname: string) => join(root, 'images', vol(volname).vmid + '/' + vol(volname).name);
const qemuIo = (path: string, command: string) => sh('qemu-io', ['-f', 'qcow2', '-c', command, path]);

let reads = 0;
/** The guest-visible bytes of an image (or of one of its snapshots), through qemu-img. */
async function bytesOf(path: string, snapshot?: string): Promise<Buffer> {
  const out = join(scratch, `read-${reads++}.raw`);
  await sh('qemu-img', ['convert', '-f', 'qcow2', ...(snapshot ? ['-l', `snapshot.name=${snapshot}`] : []), '-O', 'raw', path, out]);
  return readFile(out);
}

async function info(path: string): Promise<{ 'virtual-size': number; 'backing-filename'?: string; snapshots?: { name: string }[] }> {
  return JSON.parse(await sh('qemu-img', ['info', '--output=json', '-U', '-f', 'qcow2', path])) as never;
}

async function temporaries(): Promise<string[]> {
  const out: string[] = [];
  for (const d of await readdir(join(root, 'images'))) out.push(...(await readdir(join(root, 'images', d))).filter((n) => n.startsWith('.stowage-')));
  return out;
}

/**
 * Whether the failed step was the flush of the directory after the rename (the last step): the
 * flatten is done by then, so its failure is only logged and the call succeeds.
 */
function flushOfNames(faulty: FaultInjectingRunner, failAt: number, steps: number, outcome: string): boolean {
  const failed = faulty.commands[failAt - 1] ?? [];
  if (failed[0] !== 'fs.sync' || failed[1]?.includes('/.stowage-') === true) return false;
  expect(failAt, 'the flush of the directory is the last step').toBe(steps);
  expect(outcome).toBe('ok');
  return true;
}

/** A base with data in its first 8 MiB and a clone that overwrote 1 MiB of it and wrote 2 MiB past it. */
async function baseAndClone(c: PluginContext<DirConfig> = ctx): Promise<{ base: string; clone: string }> {
  const v = await plugin.allocImage(c, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 16 * MiB });
  await qemuIo(file(v), 'write -P 1 0 8M');
  const base = await plugin.createBase(c, { volume: vol(v) });
  const clone = await plugin.cloneImage(c, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
  await qemuIo(file(clone), 'write -P 2 1M 1M');
  await qemuIo(file(clone), 'write -P 3 9M 2M');
  return { base, clone };
}

describe('flattenImage of a qcow2 linked clone', () => {
  it('keeps the bytes, drops the backing file and the base prefix, reports progress, and lets the base go', async () => {
    let reserved = 0;
    const c = dirContext({ path: root });
    const { base, clone } = await baseAndClone(c);
    const before = await bytesOf(file(clone));
    const progress: { done: number; total?: number | undefined }[] = [];
    const flat = await plugin.flattenImage({ ...c, nameReserved: () => reserved++ }, { volume: vol(clone), onProgress: (p) => progress.push(p) });
    expect(flat).toBe('101/vm-101-disk-0.qcow2');
    expect(reserved).toBe(1);
    expect((await info(file(flat)))['backing-filename']).toBeUndefined();
    expect((await bytesOf(file(flat))).equals(before)).toBe(true);
    expect(progress.at(-1)).toEqual({ done: 16 * MiB, total: 16 * MiB });
    expect(progress.map((p) => p.done)).toEqual([...progress.map((p) => p.done)].sort((a, b) => a - b));
    const listed = await plugin.listImages(c, {});
    expect(listed.map((i) => [i.volname, i.parent])).toEqual([
      ['100/base-100-disk-0.qcow2', undefined],
      ['101/vm-101-disk-0.qcow2', undefined],
    ]);
    expect(await temporaries()).toEqual([]);
    await releaseImmutable(root);
    await plugin.freeImage(c, { volume: vol(base) });
    expect((await bytesOf(file(flat))).equals(before)).toBe(true);
    expect(JSON.parse(await sh('qemu-img', ['check', '--output=json', '-f', 'qcow2', file(flat)]))).toMatchObject({ 'check-errors': 0 });
  });

  it('keeps the file mode and the attribute files', async () => {
    const { clone } = await baseAndClone();
    await plugin.updateVolumeAttribute(ctx, { volume: vol(clone), attribute: 'notes', value: 'hello' });
    const mode = (await stat(file(clone))).mode;
    const flat = await plugin.flattenImage(ctx, { volume: vol(clone) });
    expect((await stat(file(flat))).mode).toBe(mode);
    expect(await plugin.getVolumeAttribute(ctx, { volume: vol(flat), attribute: 'notes' })).toBe('hello');
  });

  it('an image that is already flat (a retry after the rename) is left alone', async () => {
    const { clone } = await baseAndClone();
    const flat = await plugin.flattenImage(ctx, { volume: vol(clone) });
    const counting = new FaultInjectingRunner(new LocalRunner());
    expect(await plugin.flattenImage(dirContext({ path: root }, counting), { volume: vol(clone) })).toBe(flat);
    expect(counting.count).toBe(0);
  });

  it('refuses a clone with internal snapshots (INVALID_STATE, details.snapshots) and a base, changing nothing', async () => {
    const { base, clone } = await baseAndClone();
    await plugin.volumeSnapshot(ctx, { volume: vol(clone), snapshot: 'before' });
    const bytes = await readFile(file(clone));
    const err = await plugin.flattenImage(ctx, { volume: vol(clone) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'INVALID_STATE', details: { snapshots: ['before'] } });
    expect((await readFile(file(clone))).equals(bytes)).toBe(true);
    expect(await code(plugin.flattenImage(ctx, { volume: vol(base) }))).toBe('INVALID_STATE');
    expect(await temporaries()).toEqual([]);
  });

  it('a clone whose backing file leads outside the storage is refused by the gate before qemu-img runs', async () => {
    const { clone } = await baseAndClone();
    const outside = join(scratch, 'outside.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', outside, '16M']);
    await sh('qemu-img', ['rebase', '-u', '-f', 'qcow2', '-F', 'qcow2', '-b', outside, file(clone)]);
    const counting = new FaultInjectingRunner(new LocalRunner());
    expect(await code(plugin.flattenImage(dirContext({ path: root }, counting), { volume: vol(clone) }))).toBe('CORRUPT');
    expect(counting.count).toBe(0);
  });

  it('every command and filesystem step failed in turn leaves the clone as it was, and no temporary', async () => {
    const { clone } = await baseAndClone();
    const bytes = await readFile(file(clone));
    const counting = new FaultInjectingRunner(new LocalRunner(), { fs: true });
    await plugin.flattenImage(dirContext({ path: root }, counting), { volume: vol(clone) });
    const steps = counting.count;
    expect(steps).toBeGreaterThanOrEqual(6); // the temporary, qemu-img convert, chmod, sync, rename, sync of the directory
    // put the clone back as it was
    await rm(file(clone));
    await import('node:fs/promises').then((fs) => fs.writeFile(file(clone), bytes, { mode: 0o640 }));
    for (let failAt = 1; failAt <= steps; failAt++) {
      const faulty = new FaultInjectingRunner(new LocalRunner(), { fs: true, failAt });
      const outcome = await code(plugin.flattenImage(dirContext({ path: root }, faulty), { volume: vol(clone) }));
      if (flushOfNames(faulty, failAt, steps, outcome)) continue;
      expect(outcome, `step ${failAt}`).not.toBe('ok');
      expect((await readFile(file(clone))).equals(bytes), `step ${failAt}`).toBe(true);
      expect(await temporaries(), `step ${failAt}`).toEqual([]);
    }
  });

  it('a clone changed while it is copied (here: written after qemu-img read it) is left as it is now: BUSY', async () => {
    const { clone } = await baseAndClone();
    const local = new LocalRunner();
    const meddling: CommandRunner = {
      description: 'meddling',
      async run(argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
        const result = await local.run(argv, options);
        if (argv[1] === 'convert') await qemuIo(file(clone), 'write -P 7 0 64k');
        return result;
      },
    };
    expect(await code(plugin.flattenImage(dirContext({ path: root }, meddling), { volume: vol(clone) }))).toBe('BUSY');
    expect((await info(file(clone)))['backing-filename']).toBe('../100/base-100-disk-0.qcow2');
    expect((await bytesOf(file(clone))).subarray(0, 65536).every((b) => b === 7)).toBe(true);
    expect(await temporaries()).toEqual([]);
  });
});

describe('volumeSnapshotFlatten of a qcow2 image', () => {
  it('a standalone image: the snapshot bytes and size, no snapshots, even after it grew', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 8 * MiB });
    const path = file(v);
    await qemuIo(path, 'write -P 1 0 2M');
    await plugin.volumeSnapshot(ctx, { volume: vol(v), snapshot: 'first' });
    await qemuIo(path, 'write -P 2 1M 2M');
    await plugin.volumeResize(ctx, { volume: vol(v), size: 12 * MiB });
    await qemuIo(path, 'write -P 3 9M 1M');
    await plugin.volumeSnapshot(ctx, { volume: vol(v), snapshot: 'second' });
    await qemuIo(path, 'write -P 4 0 12M');
    // qemu-img reads a snapshot at the image's current size: the rest reads as zeros
    const read = await bytesOf(path, 'first');
    expect(read.subarray(8 * MiB).every((b) => b === 0)).toBe(true);
    const first = read.subarray(0, 8 * MiB);
    const progress: number[] = [];
    await plugin.volumeSnapshotFlatten(ctx, { volume: vol(v), snapshot: 'first', onProgress: (p) => progress.push(p.done) });
    expect((await bytesOf(path)).equals(first)).toBe(true);
    expect((await info(path))['virtual-size']).toBe(8 * MiB);
    expect(await plugin.volumeSnapshotInfo(ctx, { volume: vol(v) })).toEqual([]);
    expect(progress.at(-1)).toBe(8 * MiB);
    expect(await temporaries()).toEqual([]);
  });

  it('a linked clone stays a clone of its base (relative backing file), with the snapshot bytes, zeroed areas included', async () => {
    const { clone } = await baseAndClone();
    const path = file(clone);
    await qemuIo(path, 'write -z 4M 1M'); // zeros over the base's data
    await plugin.volumeSnapshot(ctx, { volume: vol(clone), snapshot: 's' });
    await qemuIo(path, 'write -P 5 0 12M');
    await plugin.volumeSnapshot(ctx, { volume: vol(clone), snapshot: 'later' });
    const atS = await bytesOf(path, 's');
    await plugin.volumeSnapshotFlatten(ctx, { volume: vol(clone), snapshot: 's' });
    expect((await bytesOf(path)).equals(atS)).toBe(true);
    expect((await info(path))['backing-filename']).toBe('../100/base-100-disk-0.qcow2');
    expect((await plugin.listImages(ctx, { vmid: 101 })).map((i) => [i.volname, i.parent])).toEqual([[clone, 'test:100/base-100-disk-0.qcow2']]);
    expect(await plugin.volumeSnapshotInfo(ctx, { volume: vol(clone) })).toEqual([]);
  });

  it('a snapshot that does not exist is NOT_FOUND; a base is INVALID_STATE; nothing changes', async () => {
    const { base, clone } = await baseAndClone();
    const bytes = await readFile(file(clone));
    expect(await code(plugin.volumeSnapshotFlatten(ctx, { volume: vol(clone), snapshot: 'nope' }))).toBe('NOT_FOUND');
    expect(await code(plugin.volumeSnapshotFlatten(ctx, { volume: vol(base), snapshot: 'nope' }))).toBe('INVALID_STATE');
    expect((await readFile(file(clone))).equals(bytes)).toBe(true);
  });

  it('every command and filesystem step failed in turn leaves the image and its snapshots as they were', async () => {
    const v = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 4 * MiB });
    await qemuIo(file(v), 'write -P 1 0 1M');
    await plugin.volumeSnapshot(ctx, { volume: vol(v), snapshot: 's' });
    await plugin.volumeResize(ctx, { volume: vol(v), size: 6 * MiB });
    await qemuIo(file(v), 'write -P 2 0 1M');
    const bytes = await readFile(file(v));
    const counting = new FaultInjectingRunner(new LocalRunner(), { fs: true });
    const fsCopy = join(scratch, 'copy.qcow2');
    await sh('cp', ['--sparse=always', file(v), fsCopy]);
    await plugin.volumeSnapshotFlatten(dirContext({ path: root }, counting), { volume: vol(v), snapshot: 's' });
    const steps = counting.count;
    expect(steps).toBeGreaterThanOrEqual(7); // the temporary, convert, resize, chmod, sync, rename, sync of the directory
    for (let failAt = 1; failAt <= steps; failAt++) {
      await sh('cp', ['--sparse=always', fsCopy, file(v)]);
      const faulty = new FaultInjectingRunner(new LocalRunner(), { fs: true, failAt });
      const outcome = await code(plugin.volumeSnapshotFlatten(dirContext({ path: root }, faulty), { volume: vol(v), snapshot: 's' }));
      if (flushOfNames(faulty, failAt, steps, outcome)) continue;
      expect(outcome, `step ${failAt}`).not.toBe('ok');
      expect((await readFile(file(v))).equals(bytes), `step ${failAt}`).toBe(true);
      expect(await temporaries(), `step ${failAt}`).toEqual([]);
    }
  });
});
