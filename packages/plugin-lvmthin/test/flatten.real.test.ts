/**
 * Flattening on real LVM-thin in the testbed guest, calling the plugin directly: to a snapshot
 * with the bytes compared by hash; the process "killed" before each command that changes
 * something (`StopAtRunner`: the commands before it ran, none after, owner tokens of a dead
 * process) and `collectGarbage` afterwards (as before or as after, nothing left); a linked clone flattened off its base (no parent, base freeable, bytes kept); and the
 * `hidden` attribute (a rename that makes LVM itself refuse a clone). The testbed's pool `data`, 4 MiB volumes (one extent).
 */
import { pluginContext } from '@stowage/core/testing';
import type { CommandRunner } from '@stowage/core/plugin';
import { LvmThinPlugin } from '@stowage/plugin-lvmthin';
import { killBeforeEachStep, TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const { vgname: vg, thinpool } = TESTBED_POOLS;
const runner = testbedRunner();
const config = { type: 'lvmthin', storage: 'flat', vgname: vg, thinpool } as const;
const plugin = new LvmThinPlugin();
const ctx = (r: CommandRunner = runner) => pluginContext({ config, runner: r });
const vol = (volname: string) => plugin.parseVolname(volname);
const MiB = 1024 * 1024;

/** Fills the first MiB of an LV with fresh random bytes. */
async function write(lv: string): Promise<void> {
  await runner.run(['sh', '-c', `head -c ${MiB} /dev/urandom | dd of=/dev/${vg}/${lv} bs=64k conv=fsync status=none`]);
}

/** The SHA-256 of an LV's bytes. */
async function hash(lv: string): Promise<string> {
  const { stdout } = await runner.run(['sh', '-c', `sha256sum < /dev/${vg}/${lv}`]);
  return stdout.split(' ')[0]!;
}

/** The thin LVs of the pool, by name. */
async function lvs(): Promise<string[]> {
  const { stdout } = await runner.run(['lvs', '--noheadings', '-o', 'lv_name', '-S', `pool_lv=${thinpool}`, vg]);
  return stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

async function reset(): Promise<void> {
  await runner.run(['lvremove', '-f', '-S', `pool_lv=${thinpool}`, vg], { okExitCodes: ANY_EXIT });
}

/** A volume with snapshots `a` and `b` and a third state; the hashes of the three states. */
async function volumeWithSnapshots(name: string): Promise<{ a: string; b: string; now: string }> {
  await plugin.allocImage(ctx(), { vmid: 100, format: 'raw', name, size: 4 * MiB });
  await write(name);
  const a = await hash(name);
  await plugin.volumeSnapshot(ctx(), { volume: vol(name), snapshot: 'a' });
  await write(name);
  const b = await hash(name);
  await plugin.volumeSnapshot(ctx(), { volume: vol(name), snapshot: 'b' });
  await write(name);
  return { a, b, now: await hash(name) };
}

const BEFORE = ['snap_vm-100-disk-0_a', 'snap_vm-100-disk-0_b', 'vm-100-disk-0'];
const AFTER = ['vm-100-disk-0'];

describe('lvmthin flatten on the testbed', () => {
  beforeAll(reset);
  afterAll(reset);

  it('takes a volume back to an older snapshot and drops every snapshot', async () => {
    await reset();
    const h = await volumeWithSnapshots('vm-100-disk-0');
    await plugin.volumeSnapshotFlatten(ctx(), { volume: vol('vm-100-disk-0'), snapshot: 'a' });
    expect(await hash('vm-100-disk-0')).toBe(h.a);
    expect(await lvs()).toEqual(AFTER);
    expect(await plugin.listImages(ctx(), {})).toMatchObject([{ volname: 'vm-100-disk-0', parent: undefined, size: 4 * MiB }]);
  });

  // A killed flatten that leaves the volume as it was leaves it ready for the next round. Failing
  // each command in turn is the kit's flatten groups' step-fault case (conformance.real.test.ts).
  it('is as before or as after, once collectGarbage ran, when killed before any command that changes something', async () => {
    const outcomes = await killBeforeEachStep({
      runner,
      node: 'localhost',
      prepare: async () => {
        await reset();
        return volumeWithSnapshots('vm-100-disk-0');
      },
      run: (r) => plugin.volumeSnapshotFlatten(ctx(r), { volume: vol('vm-100-disk-0'), snapshot: 'a' }),
      mutating: (argv) => /^(lvchange|lvcreate|lvrename|lvremove)$/.test(argv[0]!),
      recover: async () => void (await plugin.collectGarbage(ctx(), {})),
      observe: async (h) => {
        const left = await lvs();
        const now = await hash('vm-100-disk-0');
        return JSON.stringify(left) === JSON.stringify(BEFORE) && now === h.now ? 'before' : JSON.stringify(left) === JSON.stringify(AFTER) && now === h.a ? 'after' : `neither: ${left.join(' ')}`;
      },
    });
    expect(outcomes.some((o) => o.endsWith('after'))).toBe(true);
  });

  it('flattens a linked clone off its base: no parent, the base can go, bytes and snapshots kept', async () => {
    await reset();
    await plugin.allocImage(ctx(), { vmid: 200, format: 'raw', name: 'vm-200-disk-0', size: 4 * MiB });
    await write('vm-200-disk-0');
    const base = await plugin.createBase(ctx(), { volume: vol('vm-200-disk-0') });
    const clone = await plugin.cloneImage(ctx(), { volume: vol(base), vmid: 201, name: 'vm-201-disk-0' });
    await write(clone);
    await plugin.volumeSnapshot(ctx(), { volume: vol(clone), snapshot: 's' });
    const before = await hash(clone);
    await expect(plugin.freeImage(ctx(), { volume: vol(base) })).rejects.toMatchObject({ code: 'IN_USE' });
    expect(await plugin.flattenImage(ctx(), { volume: vol(clone) })).toBe(clone);
    const images = await plugin.listImages(ctx(), {});
    expect(images.find((i) => i.volname === clone)).toMatchObject({ parent: undefined });
    await expect(plugin.flattenImage(ctx(), { volume: vol(clone) })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await plugin.freeImage(ctx(), { volume: vol(base) });
    await plugin.activateVolume(ctx(), { volume: vol(clone) });
    expect(await hash(clone)).toBe(before);
    expect((await plugin.volumeSnapshotInfo(ctx(), { volume: vol(clone) })).map((s) => s.name)).toEqual(['s']);
  });

  it('hides a volume by renaming its LV, reports it under its volname, and shows it again', async () => {
    await reset();
    await plugin.allocImage(ctx(), { vmid: 300, format: 'raw', name: 'vm-300-disk-0', size: 4 * MiB });
    const volume = vol('vm-300-disk-0');
    expect(await plugin.getVolumeAttribute(ctx(), { volume, attribute: 'hidden' })).toBe(false);
    await plugin.updateVolumeAttribute(ctx(), { volume, attribute: 'hidden', value: true });
    expect(await plugin.getVolumeAttribute(ctx(), { volume, attribute: 'hidden' })).toBe(true);
    expect(await lvs()).toEqual(['stowage_hidden_vm-300-disk-0']);
    expect((await plugin.listImages(ctx(), {}))[0]).toMatchObject({ volname: 'vm-300-disk-0', hidden: true });
    await plugin.updateVolumeAttribute(ctx(), { volume, attribute: 'hidden', value: false });
    expect(await lvs()).toEqual(['vm-300-disk-0']);
    expect((await plugin.listImages(ctx(), {}))[0]!.hidden).toBeUndefined();
    await expect(plugin.getVolumeAttribute(ctx(), { volume, attribute: 'protected' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });

  it('refuses a clone of a hidden base in the clone itself, makes nothing, and frees the base with its clones gone', async () => {
    await reset();
    await plugin.allocImage(ctx(), { vmid: 310, format: 'raw', name: 'vm-310-disk-0', size: 4 * MiB });
    const base = vol(await plugin.createBase(ctx(), { volume: vol('vm-310-disk-0') }));
    await plugin.cloneImage(ctx(), { volume: base, vmid: 311, name: 'vm-311-disk-0' });
    await plugin.updateVolumeAttribute(ctx(), { volume: base, attribute: 'hidden', value: true });
    await expect(plugin.cloneImage(ctx(), { volume: base, vmid: 312, name: 'vm-312-disk-0' })).rejects.toMatchObject({ code: 'INVALID_STATE', details: { hidden: true } });
    expect(await lvs()).toEqual(['stowage_hidden_base-310-disk-0', 'vm-311-disk-0']);
    expect((await plugin.volumeSizeInfo(ctx(), { volume: vol('vm-311-disk-0') })).parent).toBe('flat:base-310-disk-0');
    await expect(plugin.freeImage(ctx(), { volume: base })).rejects.toMatchObject({ code: 'IN_USE' });
    await plugin.freeImage(ctx(), { volume: vol('vm-311-disk-0') });
    await plugin.freeImage(ctx(), { volume: base });
    expect(await lvs()).toEqual([]);
  });
});
