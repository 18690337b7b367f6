/**
 * Flattening on real ZFS in the testbed guest, calling the plugin directly: to a snapshot and a
 * linked clone off its base, with the bytes compared by hash; the process "killed" before each
 * command that changes something (`StopAtRunner`: the commands before it ran, none after, owner
 * tokens of a dead process) and `collectGarbage` afterwards (the volume is as before or as after,
 * nothing left); and the `hidden` attribute (a hidden base's clone refused by `zfs clone` itself). Each command failed in turn is the kit's step-fault
 * case of its flatten groups.
 * One dataset `stowage/flat`, 2 MiB zvols.
 */
import { pluginContext } from '@stowage/core/testing';
import type { CommandRunner } from '@stowage/core/plugin';
import { ZfsPoolPlugin, type ZfsPoolConfig } from '@stowage/plugin-zfs';
import { killBeforeEachStep, TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const dataset = `${TESTBED_POOLS.zpool}/flat`;
const runner = testbedRunner();
const config: ZfsPoolConfig = { type: 'zfspool', storage: 'flat', pool: dataset, sparse: true };
const plugin = new ZfsPoolPlugin();
const ctx = (r: CommandRunner = runner) => pluginContext({ config, runner: r });
const vol = (volname: string) => plugin.parseVolname(volname);
const MiB = 1024 * 1024;

/** Fills the first MiB of a zvol with fresh random bytes. */
async function write(name: string): Promise<void> {
  await runner.run(['sh', '-c', `udevadm settle; head -c ${MiB} /dev/urandom | dd of=/dev/zvol/${dataset}/${name} bs=64k conv=fsync status=none`]);
}

/** The SHA-256 of a zvol's bytes (or of one of its snapshots, through a temporary clone). */
async function hash(name: string): Promise<string> {
  const { stdout } = await runner.run(['sh', '-c', `udevadm settle; sha256sum < /dev/zvol/${dataset}/${name}`]);
  return stdout.split(' ')[0]!;
}

/** The dataset's children, snapshots included, as `name` lines without the dataset prefix. */
async function children(): Promise<string[]> {
  const { stdout } = await runner.run(['zfs', 'list', '-H', '-r', '-t', 'all', '-o', 'name', dataset]);
  return stdout.split('\n').filter((l) => l.startsWith(`${dataset}/`)).map((l) => l.slice(dataset.length + 1)).sort();
}

async function reset(): Promise<void> {
  await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
  await runner.run(['zfs', 'create', dataset]);
}

/** A zvol with snapshots `a` and `b` and a third state; the hashes of the three states. */
async function volumeWithSnapshots(name: string): Promise<{ a: string; b: string; now: string }> {
  await plugin.allocImage(ctx(), { vmid: 100, format: 'raw', name, size: 2 * MiB });
  await write(name);
  const a = await hash(name);
  await plugin.volumeSnapshot(ctx(), { volume: vol(name), snapshot: 'a' });
  await write(name);
  const b = await hash(name);
  await plugin.volumeSnapshot(ctx(), { volume: vol(name), snapshot: 'b' });
  await write(name);
  return { a, b, now: await hash(name) };
}

/** A base with a linked clone that has a snapshot `s` and a later state; the clone's hashes. */
async function cloneOfBase(): Promise<{ volname: string; s: string; now: string }> {
  await plugin.allocImage(ctx(), { vmid: 200, format: 'raw', name: 'vm-200-disk-0', size: 2 * MiB });
  await write('vm-200-disk-0');
  const base = await plugin.createBase(ctx(), { volume: vol('vm-200-disk-0') });
  const volname = await plugin.cloneImage(ctx(), { volume: vol(base), vmid: 201, name: 'vm-201-disk-0' });
  await write('vm-201-disk-0');
  const s = await hash('vm-201-disk-0');
  await plugin.volumeSnapshot(ctx(), { volume: vol(volname), snapshot: 's' });
  await write('vm-201-disk-0');
  return { volname, s, now: await hash('vm-201-disk-0') };
}

/** Commands that change something (not listings, lookups, waits): the points worth a kill. */
const MUTATING = /^zfs (set|snapshot|clone|promote|rename|destroy|inherit|send|recv)$/;
/** Whether a command changes something: where a kill is tried. */
const mutating = (argv: readonly string[]): boolean => MUTATING.test(argv.slice(0, 2).join(' '));

const BEFORE_SNAP = ['vm-100-disk-0', 'vm-100-disk-0@a', 'vm-100-disk-0@b'];
const AFTER_SNAP = ['vm-100-disk-0'];
const BEFORE_CLONE = ['base-200-disk-0', 'base-200-disk-0@__base__', 'vm-201-disk-0', 'vm-201-disk-0@s'];

describe('zfspool flatten on the testbed', () => {
  beforeAll(reset);
  afterAll(async () => {
    await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
  });

  it('takes a zvol back to an older snapshot and drops every snapshot', async () => {
    await reset();
    const h = await volumeWithSnapshots('vm-100-disk-0');
    await plugin.volumeSnapshotFlatten(ctx(), { volume: vol('vm-100-disk-0'), snapshot: 'a' });
    expect(await hash('vm-100-disk-0')).toBe(h.a);
    expect(await children()).toEqual(AFTER_SNAP);
    const [image] = await plugin.listImages(ctx(), {});
    expect(image).toMatchObject({ volname: 'vm-100-disk-0', parent: undefined, size: 2 * MiB });
  });

  it('refuses a volume whose snapshots have clones, naming them', async () => {
    await reset();
    await volumeWithSnapshots('vm-100-disk-0');
    await plugin.cloneImage(ctx(), { volume: vol('vm-100-disk-0'), snapshot: 'b', vmid: 102, name: 'vm-102-disk-0' });
    await expect(plugin.volumeSnapshotFlatten(ctx(), { volume: vol('vm-100-disk-0'), snapshot: 'a' })).rejects.toMatchObject({
      code: 'IN_USE',
      details: { clones: ['flat:vm-102-disk-0'] },
    });
  });

  // A killed flatten that leaves the volume as it was leaves it ready for the next round: the
  // volume is only built again after a round that flattened it. Failing each command in turn is
  // the kit's flatten groups' step-fault case (conformance.real.test.ts).
  it('is as before or as after, once collectGarbage ran, when killed before any command', async () => {
    const outcomes = await killBeforeEachStep({
      runner,
      node: 'localhost',
      prepare: async () => {
        await reset();
        return volumeWithSnapshots('vm-100-disk-0');
      },
      run: (r) => plugin.volumeSnapshotFlatten(ctx(r), { volume: vol('vm-100-disk-0'), snapshot: 'a' }),
      mutating,
      recover: async () => void (await plugin.collectGarbage(ctx(), {})),
      observe: async (h) => {
        const left = await children();
        const now = await hash('vm-100-disk-0');
        return JSON.stringify(left) === JSON.stringify(BEFORE_SNAP) && now === h.now ? 'before' : JSON.stringify(left) === JSON.stringify(AFTER_SNAP) && now === h.a ? 'after' : `neither: ${left.join(' ')}`;
      },
    });
    expect(outcomes.some((o) => o.endsWith('after'))).toBe(true);
  });

  it('detaches a linked clone from its base, keeps its snapshots and bytes; the base can then go', async () => {
    await reset();
    const h = await cloneOfBase();
    const progress: number[] = [];
    const reserved: string[] = [];
    const c = pluginContext({ config, runner, nameReserved: () => reserved.push('yes') });
    const volname = await plugin.flattenImage(c, { volume: vol(h.volname), onProgress: (p) => progress.push(p.done) });
    expect(volname).toBe('vm-201-disk-0');
    expect(reserved).toEqual(['yes']);
    expect(progress.at(-1)).toBeGreaterThan(MiB);
    expect(await hash('vm-201-disk-0')).toBe(h.now);
    expect((await plugin.volumeSnapshotInfo(ctx(), { volume: vol(volname) })).map((s) => s.name)).toEqual(['s']);
    const images = await plugin.listImages(ctx(), {});
    expect(images.find((i) => i.volname === volname)).toMatchObject({ parent: undefined });
    await plugin.freeImage(ctx(), { volume: vol('base-200-disk-0') });
    expect(await hash('vm-201-disk-0')).toBe(h.now);
    // the snapshot came along with its own bytes
    await plugin.volumeSnapshotRollback(ctx(), { volume: vol(volname), snapshot: 's' });
    expect(await hash('vm-201-disk-0')).toBe(h.s);
    expect(await children()).toEqual(['vm-201-disk-0', 'vm-201-disk-0@s']);
  });

  it('leaves the clone as it was or flattened, once collectGarbage ran, when killed before any command of flattenImage', async () => {
    await killBeforeEachStep({
      runner,
      node: 'localhost',
      prepare: async () => {
        await reset();
        return cloneOfBase();
      },
      run: (r) => plugin.flattenImage(ctx(r), { volume: vol('base-200-disk-0/vm-201-disk-0') }),
      mutating,
      recover: async () => void (await plugin.collectGarbage(ctx(), {})),
      // before and after have the same datasets; only the clone's origin tells them apart
      observe: async (h) => {
        const left = await children();
        if (JSON.stringify(left) !== JSON.stringify(BEFORE_CLONE) || (await hash('vm-201-disk-0')) !== h.now) return `neither: ${left.join(' ')}`;
        return (await plugin.listImages(ctx(), {})).some((i) => i.volname === h.volname && i.parent === 'flat:base-200-disk-0') ? 'before' : 'after';
      },
    });
  });

  it('keeps the hidden attribute as a user property and reports it in the listing', async () => {
    await reset();
    await plugin.allocImage(ctx(), { vmid: 300, format: 'raw', name: 'vm-300-disk-0', size: MiB });
    const volume = vol('vm-300-disk-0');
    expect(await plugin.getVolumeAttribute(ctx(), { volume, attribute: 'hidden' })).toBe(false);
    await plugin.updateVolumeAttribute(ctx(), { volume, attribute: 'hidden', value: true });
    expect(await plugin.getVolumeAttribute(ctx(), { volume, attribute: 'hidden' })).toBe(true);
    expect((await plugin.listImages(ctx(), {}))[0]).toMatchObject({ volname: 'vm-300-disk-0', hidden: true });
    await plugin.updateVolumeAttribute(ctx(), { volume, attribute: 'hidden', value: undefined });
    expect((await plugin.listImages(ctx(), {}))[0]!.hidden).toBeUndefined();
    await expect(plugin.getVolumeAttribute(ctx(), { volume, attribute: 'notes' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  it('hides a base by renaming its __base__ snapshot: zfs clone refuses it by itself, its clones keep their names', async () => {
    await reset();
    await plugin.allocImage(ctx(), { vmid: 310, format: 'raw', name: 'vm-310-disk-0', size: MiB });
    const base = vol(await plugin.createBase(ctx(), { volume: vol('vm-310-disk-0') }));
    const clone = await plugin.cloneImage(ctx(), { volume: base, vmid: 311, name: 'vm-311-disk-0' });
    await plugin.updateVolumeAttribute(ctx(), { volume: base, attribute: 'hidden', value: true });
    const hidden = await children();
    expect(hidden).toEqual(['base-310-disk-0', 'base-310-disk-0@__hidden__', 'vm-311-disk-0']);
    expect((await plugin.listImages(ctx(), {})).map((i) => [i.volname, i.parent, i.hidden])).toEqual([
      ['base-310-disk-0', undefined, true],
      [clone, 'flat:base-310-disk-0', undefined],
    ]);
    const e = await plugin.cloneImage(ctx(), { volume: base, vmid: 312, name: 'vm-312-disk-0' }).catch((x: unknown) => x);
    expect(e).toMatchObject({ code: 'INVALID_STATE', details: { volid: 'flat:base-310-disk-0', hidden: true } });
    expect(await children(), 'nothing made by the refused clone').toEqual(hidden);
    await plugin.updateVolumeAttribute(ctx(), { volume: base, attribute: 'hidden', value: true });
    expect(await children(), 'hidden twice').toEqual(hidden);
    await plugin.updateVolumeAttribute(ctx(), { volume: base, attribute: 'hidden', value: undefined });
    expect(await children()).toEqual(['base-310-disk-0', 'base-310-disk-0@__base__', 'vm-311-disk-0']);
    expect(await plugin.cloneImage(ctx(), { volume: base, vmid: 312, name: 'vm-312-disk-0' })).toBe('base-310-disk-0/vm-312-disk-0');
  });

  it('a clone of a base without __base__ nor __hidden__ is NOT_FOUND as before', async () => {
    await reset();
    await plugin.allocImage(ctx(), { vmid: 320, format: 'raw', name: 'vm-320-disk-0', size: MiB });
    const base = vol(await plugin.createBase(ctx(), { volume: vol('vm-320-disk-0') }));
    await runner.run(['zfs', 'destroy', `${dataset}/base-320-disk-0@__base__`]);
    await expect(plugin.cloneImage(ctx(), { volume: base, vmid: 321, name: 'vm-321-disk-0' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});
