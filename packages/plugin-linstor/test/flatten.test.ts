/**
 * Flattening on LINSTOR, against the stand-in with LVM-thin and with ZFS pools: to a snapshot
 * (built beside the volume, swapped by one property change), a clone off its base (a property
 * change where the data does not need the base, a send/receive copy where ZFS ties the clone to
 * it), and the `hidden` attribute. Fault cases: a 500 at each request of a flatten, and the
 * controller lost from each request on (as when the caller is killed), leave the volume as it
 * was or as flattened, and `collectGarbage` removes what is left once the owner is dead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { currentOwner, formatOwner } from '@stowage/core/plugin';
import { LinstorPlugin } from '../src/index.js';
import { PROP_INCOMPLETE, PROP_SUPERSEDES_OWNER } from '../src/names.js';
import { pluginContext } from './plugin-context.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';

const MiB = 1024 * 1024;
type Provider = 'LVM_THIN' | 'ZFS_THIN';

let cluster: Cluster | undefined;
let plugin: LinstorPlugin | undefined;

afterEach(async () => {
  if (plugin && cluster) await plugin.deactivateStorage(pluginContext(cluster.config(), cluster.node));
  if (cluster) {
    expect(cluster.validator?.violations ?? []).toEqual([]);
    await cluster.close();
  }
  cluster = undefined;
  plugin = undefined;
});

async function setup(provider: Provider) {
  const c = await startCluster({ provider });
  cluster = c;
  const p = new LinstorPlugin();
  plugin = p;
  const ctx = () => pluginContext(c.config(), c.node);
  const vol = (n: string) => p.parseVolname(n);
  const device = async (n: string) => (await p.path(ctx(), { volume: vol(n) })).path;
  const write = async (n: string, byte: number) => writeFileSync(await device(n), Buffer.alloc(MiB, byte), { flag: 'r+' });
  const read = async (n: string) => readFileSync(await device(n));
  const names = async () => (await p.listImages(ctx(), {})).map((i) => i.volname);
  const snaps = async (n: string) => (await p.volumeSnapshotInfo(ctx(), { volume: vol(n) })).map((s) => s.name);
  /** A volume with snapshots a (1 MiB of 0xa1), b (2 MiB, 0xb2), and 3 MiB of 0xc3 now. */
  const withSnapshots = async (n = 'vm-100-disk-0') => {
    await p.allocImage(ctx(), { vmid: 100, format: 'raw', name: n, size: MiB });
    await write(n, 0xa1);
    await p.volumeSnapshot(ctx(), { volume: vol(n), snapshot: 'a' });
    await p.volumeResize(ctx(), { volume: vol(n), size: 2 * MiB });
    await write(n, 0xb2);
    await p.volumeSnapshot(ctx(), { volume: vol(n), snapshot: 'b' });
    await p.volumeResize(ctx(), { volume: vol(n), size: 3 * MiB });
    await write(n, 0xc3);
    return n;
  };
  /** A base (0x5e) and a clone of it with 0x77 in its first MiB. */
  const withClone = async () => {
    await p.allocImage(ctx(), { vmid: 200, format: 'raw', name: 'vm-200-disk-0', size: 2 * MiB });
    await write('vm-200-disk-0', 0x5e);
    const base = await p.createBase(ctx(), { volume: vol('vm-200-disk-0') });
    const clone = await p.cloneImage(ctx(), { volume: vol(base), vmid: 201, name: 'vm-201-disk-0' });
    await write(clone, 0x77);
    return { base, clone };
  };
  /** Makes this process's marks look like those of a dead process (an earlier boot). */
  const ownerDies = () => {
    const self = currentOwner(c.node);
    const dead = formatOwner({ ...self, boot: (self.boot[0] === 'f' ? '0' : 'f') + self.boot.slice(1) });
    for (const d of c.model.definitions.values()) {
      for (const key of [PROP_INCOMPLETE, PROP_SUPERSEDES_OWNER]) if (d.props[key] === formatOwner(self)) d.props[key] = dead;
    }
  };
  return { c, p, ctx, vol, write, read, names, snaps, withSnapshots, withClone, ownerDies, ctrl: c.controllers[0]! };
}

const filled = (size: number, byte: number) => Buffer.concat([Buffer.alloc(MiB, byte), Buffer.alloc(size - MiB)]);

describe.each<Provider>(['LVM_THIN', 'ZFS_THIN'])('volumeSnapshotFlatten on %s', (provider) => {
  it('takes the volume back to an older snapshot (bytes and size), drops every snapshot, keeps its name', async () => {
    const { c, p, ctx, vol, read, names, snaps, withSnapshots } = await setup(provider);
    const n = await withSnapshots();
    const rdBefore = [...c.model.definitions.values()][0]!.name;
    const progress: number[] = [];
    await p.volumeSnapshotFlatten(ctx(), { volume: vol(n), snapshot: 'a', onProgress: (x) => progress.push(x.done) });
    expect(await names()).toEqual([n]);
    expect(await snaps(n)).toEqual([]);
    expect((await p.volumeSizeInfo(ctx(), { volume: vol(n) })).size).toBe(MiB);
    expect((await read(n)).equals(filled(MiB, 0xa1))).toBe(true);
    // one definition left, not the old one, nothing DELETING, no marks
    const defs = [...c.model.definitions.values()];
    expect(defs.map((d) => [d.name === rdBefore, d.flags, [...d.snapshots.keys()]])).toEqual([[false, [], []]]);
    expect(Object.keys(defs[0]!.props).filter((k) => k.startsWith('Aux/stowage/') && !/\/(name|vmid)$/.test(k))).toEqual([]);
    if (provider === 'ZFS_THIN') expect(progress).toEqual([0, MiB]);
    await p.freeImage(ctx(), { volume: vol(n) });
    expect(c.model.definitions.size).toBe(0);
  });

  it('refuses a base and an unknown snapshot', async () => {
    const { p, ctx, vol, withSnapshots } = await setup(provider);
    const n = await withSnapshots();
    await expect(p.volumeSnapshotFlatten(ctx(), { volume: vol(n), snapshot: 'zz' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await p.allocImage(ctx(), { vmid: 9, format: 'raw', name: 'base-9-disk-0', size: MiB });
    await p.volumeSnapshot(ctx(), { volume: vol('base-9-disk-0'), snapshot: 's' });
    await expect(p.volumeSnapshotFlatten(ctx(), { volume: vol('base-9-disk-0'), snapshot: 's' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('the stand-in models the ZFS dependencies (linstor-server ZfsProvider, REST spec on use_zfs_clone)', () => {
  it('a snapshot restored into a definition cannot be deleted, and stays DELETING; on LVM-thin it can', async () => {
    for (const provider of ['ZFS_THIN', 'LVM_THIN'] as const) {
      const { c, p, ctx, vol, withSnapshots, ctrl } = await setup(provider);
      const n = await withSnapshots();
      await p.activateVolume(ctx(), { volume: vol(n), snapshot: 'a' }); // restores snap_a into its own definition
      const rd = [...c.model.definitions.values()].find((d) => d.props['Aux/stowage/name'] === n)!;
      const del = fetch(`${ctrl.url}/v1/resource-definitions/${rd.name}/snapshots/snap_a`, { method: 'DELETE' });
      expect((await del).status).toBe(provider === 'ZFS_THIN' ? 500 : 200);
      if (provider === 'ZFS_THIN') expect(rd.snapshots.get('snap_a')?.deleting).toBe(true);
      expect(c.validator?.violations ?? []).toEqual([]);
      await plugin!.deactivateStorage(ctx());
      await c.close();
      cluster = undefined;
    }
  });

  it('a definition with a use_zfs_clone clone cannot be deleted (DELETING); the clone carries UseZFSClone', async () => {
    const { c, ctrl, withClone } = await setup('ZFS_THIN');
    await withClone();
    const [base, clone] = [...c.model.definitions.values()];
    expect(clone!.props.UseZFSClone).toBe('true');
    expect((await fetch(`${ctrl.url}/v1/resource-definitions/${base!.name}`, { method: 'DELETE' })).status).toBe(500);
    expect(base!.flags).toContain('DELETE');
    expect(c.model.definitions.size).toBe(2);
  });
});

describe.each<Provider>(['LVM_THIN', 'ZFS_THIN'])('flattenImage on %s', (provider) => {
  it('detaches the clone: own volname, same bytes, no parent, and the base can be freed', async () => {
    const { c, p, ctx, vol, read, withClone, ctrl } = await setup(provider);
    const { base, clone } = await withClone();
    const bytes = await read(clone);
    const clones0 = ctrl.count('POST', '/v1/resource-definitions/');
    const flat = await p.flattenImage(ctx(), { volume: vol(clone) });
    expect(flat).toBe('vm-201-disk-0');
    expect((await read(flat)).equals(bytes)).toBe(true);
    expect(await p.listImages(ctx(), { vmid: 201 })).toMatchObject([{ volname: 'vm-201-disk-0', parent: undefined }]);
    // LVM-thin: the data never needed the base, only the link goes; ZFS: a send/receive copy
    expect(ctrl.count('POST', '/v1/resource-definitions/') - clones0).toBe(provider === 'LVM_THIN' ? 0 : 1);
    await p.freeImage(ctx(), { volume: vol(base) });
    expect([...c.model.definitions.values()].map((d) => d.flags)).toEqual([[]]);
    expect((await read(flat)).equals(bytes)).toBe(true);
  });

  it(provider === 'LVM_THIN' ? 'keeps the snapshots' : 'refuses a clone with snapshots (INVALID_STATE)', async () => {
    const { p, ctx, vol, snaps, withClone } = await setup(provider);
    const { clone } = await withClone();
    await p.volumeSnapshot(ctx(), { volume: vol(clone), snapshot: 's1' });
    if (provider === 'LVM_THIN') {
      expect(await snaps(await p.flattenImage(ctx(), { volume: vol(clone) }))).toEqual(['s1']);
    } else {
      await expect(p.flattenImage(ctx(), { volume: vol(clone) })).rejects.toMatchObject({ code: 'INVALID_STATE', details: { snapshots: ['s1'] } });
    }
  });

  it('refuses a volume that is not a linked clone', async () => {
    const { p, ctx, vol } = await setup(provider);
    await p.allocImage(ctx(), { vmid: 1, format: 'raw', name: 'vm-1-disk-0', size: MiB });
    await expect(p.flattenImage(ctx(), { volume: vol('vm-1-disk-0') })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });
});

describe('the hidden attribute', () => {
  it('is a definition property, reported by listImages from the one listing', async () => {
    const { c, p, ctx, vol, ctrl } = await setup('LVM_THIN');
    await p.allocImage(ctx(), { vmid: 3, format: 'raw', name: 'base-3-disk-0', size: MiB });
    await p.allocImage(ctx(), { vmid: 4, format: 'raw', name: 'vm-4-disk-0', size: MiB });
    expect(await p.getVolumeAttribute(ctx(), { volume: vol('base-3-disk-0'), attribute: 'hidden' })).toBeUndefined();
    await p.updateVolumeAttribute(ctx(), { volume: vol('base-3-disk-0'), attribute: 'hidden', value: true });
    expect([...c.model.definitions.values()].find((d) => d.props['Aux/stowage/name'] === 'base-3-disk-0')?.props['Aux/stowage/hidden']).toBe('yes');
    const before = ctrl.requests.length;
    expect((await p.listImages(ctx(), {})).map((i) => [i.volname, i.hidden])).toEqual([
      ['base-3-disk-0', true],
      ['vm-4-disk-0', undefined],
    ]);
    expect(ctrl.requests.slice(before).map((r) => r.path.split('?')[0])).toEqual(['/v1/resource-definitions', '/v1/view/resources']);
    expect(await p.getVolumeAttribute(ctx(), { volume: vol('base-3-disk-0'), attribute: 'hidden' })).toBe(true);
    await p.updateVolumeAttribute(ctx(), { volume: vol('base-3-disk-0'), attribute: 'hidden', value: undefined });
    expect((await p.listImages(ctx(), {}))[0]?.hidden).toBeUndefined();
    await expect(p.getVolumeAttribute(ctx(), { volume: vol('vm-4-disk-0'), attribute: 'notes' })).rejects.toMatchObject({ code: 'NOT_SUPPORTED' });
  });
});

type Setup = Awaited<ReturnType<typeof setup>>;

/** A flatten case: how to prepare it, run it, and what "before" and "after" look like. */
interface FaultCase {
  readonly name: string;
  readonly provider: Provider;
  prepare(s: Setup): Promise<void>;
  run(s: Setup): Promise<unknown>;
  state(s: Setup): Promise<unknown>;
  readonly before: unknown;
  readonly after: unknown;
}

const snapshotState = async (s: Setup) => ({ names: await s.names(), snaps: await s.snaps('vm-100-disk-0'), first: (await s.read('vm-100-disk-0'))[0], size: (await s.read('vm-100-disk-0')).length });
const cloneState = async (s: Setup) => {
  const names = await s.names();
  const clone = names.find((n) => n.endsWith('vm-201-disk-0'))!;
  return { names, first: (await s.read(clone))[0] };
};

const faultCases: FaultCase[] = (['LVM_THIN', 'ZFS_THIN'] as const).flatMap((provider): FaultCase[] => [
  {
    name: 'volumeSnapshotFlatten',
    provider,
    prepare: async (s) => void (await s.withSnapshots()),
    run: (s) => s.p.volumeSnapshotFlatten(s.ctx(), { volume: s.vol('vm-100-disk-0'), snapshot: 'a' }),
    state: snapshotState,
    before: { names: ['vm-100-disk-0'], snaps: ['a', 'b'], first: 0xc3, size: 3 * MiB },
    after: { names: ['vm-100-disk-0'], snaps: [], first: 0xa1, size: MiB },
  },
  {
    name: 'flattenImage',
    provider,
    prepare: async (s) => void (await s.withClone()),
    run: (s) => s.p.flattenImage(s.ctx(), { volume: s.vol('base-200-disk-0/vm-201-disk-0') }),
    state: cloneState,
    before: { names: ['base-200-disk-0', 'base-200-disk-0/vm-201-disk-0'], first: 0x77 },
    after: { names: ['base-200-disk-0', 'vm-201-disk-0'], first: 0x77 },
  },
]);

describe.each(faultCases.map((f) => [`${f.name} on ${f.provider}`, f] as const))('%s under faults', (_label, f) => {
  /** How many /v1 requests a clean run makes. */
  async function requestsOfRun(): Promise<number> {
    const s = await setup(f.provider);
    await f.prepare(s);
    const start = s.ctrl.v1Count;
    await f.run(s);
    expect(await f.state(s)).toEqual(f.after);
    const n = s.ctrl.v1Count - start;
    expect(s.c.validator?.violations ?? []).toEqual([]);
    await s.p.deactivateStorage(s.ctx());
    await s.c.close();
    cluster = undefined;
    return n;
  }

  async function eachStep(mode: 'failAt' | 'failFrom') {
    const total = await requestsOfRun();
    expect(total).toBeGreaterThan(2);
    const outcomes = new Set<string>();
    for (let k = 1; k <= total; k++) {
      const s = await setup(f.provider);
      await f.prepare(s);
      const defsBefore = s.c.model.definitions.size;
      s.ctrl[mode](k);
      const failed = await f.run(s).then(
        () => false,
        () => true,
      );
      s.ctrl[mode](0);
      const state = await f.state(s);
      expect([f.before, f.after], `request ${k}: failed=${failed}`).toContainEqual(state);
      if (failed && mode === 'failAt') expect(state, `request ${k}: a failed flatten leaves the volume as it was`).toEqual(f.before);
      outcomes.add(state === f.before || JSON.stringify(state) === JSON.stringify(f.before) ? 'before' : 'after');
      // what is left is collected once its owner is dead; nothing stays DELETING
      s.ownerDies();
      await s.p.collectGarbage(s.ctx(), {});
      expect(await f.state(s), `request ${k}: collectGarbage changes nothing the caller sees`).toEqual(state);
      expect(s.c.model.definitions.size, `request ${k}: leftovers collected`).toBe(defsBefore);
      expect([...s.c.model.definitions.values()].flatMap((d) => [...d.flags, ...[...d.snapshots.values()].filter((x) => x.deleting).map(() => 'snapshot DELETE')])).toEqual([]);
      expect(s.c.validator?.violations ?? []).toEqual([]);
      await s.p.deactivateStorage(s.ctx());
      await s.c.close();
      cluster = undefined;
    }
    expect(outcomes.has('before')).toBe(true);
  }

  it('a 500 at each request in turn: before (failed) or after', () => eachStep('failAt'));
  it('the controller lost from each request on, as when killed: before or after, leftovers collected', () => eachStep('failFrom'));
});
