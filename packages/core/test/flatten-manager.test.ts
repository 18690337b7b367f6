import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageManager, type StoragePluginClass } from '@stowage/core';
import { expectCode } from '@stowage/core/testing';
import { defineMemoryPlugin, MemoryPlugin, MemoryRunner } from './support/memory-plugin.js';

const MiB = 1024 * 1024;
const NoFlatten = defineMemoryPlugin({ type: 'memorynoflat', flatten: {} });
const DropsSnapshots = defineMemoryPlugin({ type: 'memorydrops', flatten: { toSnapshot: ['raw'], clone: ['raw'], cloneKeepsSnapshots: false } });
const NoHidden = defineMemoryPlugin({ type: 'memorynohidden', attributes: ['notes', 'protected'] });

let dir = '';
let runner: MemoryRunner;
const managers: StorageManager[] = [];

async function open(plugin: StoragePluginClass = MemoryPlugin): Promise<StorageManager> {
  const m = await StorageManager.open({ plugins: [plugin], config: [{ type: plugin.type, storage: 'mem' }], runner, lockDir: dir, log: { debug() {}, info() {}, warn() {} } });
  managers.push(m);
  return m;
}

async function template(m: StorageManager, vmid = 100): Promise<string> {
  return m.createBase(await m.allocImage('mem', { vmid, size: MiB }));
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-flatten-'));
  runner = new MemoryRunner();
});

afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  await rm(dir, { recursive: true, force: true });
});

describe('volumeSnapshotFlatten', () => {
  it('drops every snapshot; refuses a missing snapshot, a snapshot clone (IN_USE, named) and an unsupported format', async () => {
    const m = await open();
    const v = await m.allocImage('mem', { vmid: 100, size: MiB });
    await m.volumeSnapshot(v, 'a');
    await m.volumeSnapshot(v, 'b');
    await expectCode(m.volumeSnapshotFlatten(v, 'nope'), 'NOT_FOUND');
    const clone = await m.cloneImage(v, { vmid: 101, snapshot: 'a' });
    const e = await expectCode(m.volumeSnapshotFlatten(v, 'b'), 'IN_USE');
    expect(e.details['clones']).toEqual([clone]);
    await m.freeImage(clone);
    await m.volumeSnapshotFlatten(v, 'a');
    expect(await m.volumeSnapshotInfo(v)).toEqual([]);
    const n = await open(NoFlatten);
    const w = await n.allocImage('mem', { vmid: 102, size: MiB });
    await n.volumeSnapshot(w, 'a');
    await expectCode(n.volumeSnapshotFlatten(w, 'a'), 'NOT_SUPPORTED');
    expect(await n.volumeSnapshotInfo(w)).toHaveLength(1);
  });
});

describe('volumeSnapshotFlatten and clones of snapshots', () => {
  it('a clone of a snapshot asked for while the flatten runs waits for it, and finds the snapshot gone', async () => {
    const m = await open();
    const v = await m.allocImage('mem', { vmid: 100, size: MiB });
    await m.volumeSnapshot(v, 'a');
    let reached!: () => void;
    const atFlatten = new Promise<void>((r) => (reached = r));
    let go!: () => void;
    const resume = new Promise<void>((r) => (go = r));
    const run = runner.run.bind(runner);
    runner.run = async (argv, options) => {
      if (argv[1] === 'flatten') {
        reached();
        await resume;
      }
      return run(argv, options);
    };
    const flattened = m.volumeSnapshotFlatten(v, 'a');
    await atFlatten; // the manager found no clone of a snapshot, and the plugin is about to drop them
    let cloneSettled = false;
    const clone = m.cloneImage(v, { vmid: 101, snapshot: 'a' }).finally(() => (cloneSettled = true));
    await new Promise((r) => setTimeout(r, 100));
    expect(cloneSettled, 'the clone of a snapshot was made while the flatten held no storage lock').toBe(false);
    go();
    await flattened;
    await expectCode(clone, 'NOT_FOUND');
    expect(await m.volumeSnapshotInfo(v)).toEqual([]);
    expect((await m.listImages('mem')).map((i) => i.volid)).toEqual([v]);
  });
});

describe('flattenImage', () => {
  it('detaches a clone (new volid, no parent) so its base can be freed; refuses a volume that is no clone', async () => {
    const m = await open();
    const base = await template(m);
    const clone = await m.cloneImage(base, { vmid: 101 });
    await m.volumeSnapshot(clone, 's');
    await expectCode(m.freeImage(base), 'IN_USE');
    const flat = await m.flattenImage(clone);
    expect(flat).toBe('mem:vm-101-disk-0');
    const [image] = await m.listImages('mem', { volids: [flat] });
    expect(image?.parent).toBeUndefined();
    expect((await m.volumeSnapshotInfo(flat)).map((s) => s.name)).toEqual(['s']);
    await m.freeImage(base);
    await expectCode(m.flattenImage(flat), 'INVALID_STATE');
  });

  it('refuses a clone with snapshots where the plugin would lose them, and an unsupported format', async () => {
    const m = await open(DropsSnapshots);
    const clone = await m.cloneImage(await template(m), { vmid: 101 });
    await m.volumeSnapshot(clone, 's');
    const e = await expectCode(m.flattenImage(clone), 'INVALID_STATE');
    expect(e.details['snapshots']).toEqual(['s']);
    const n = await open(NoFlatten);
    await expectCode(n.flattenImage(await n.cloneImage(await template(n, 200), { vmid: 201 })), 'NOT_SUPPORTED');
  });
});

describe('lazy free', () => {
  it('hides a template with clones, keeps it from listings and clones, and frees it with its last clone', async () => {
    const m = await open();
    const base = await template(m);
    const c1 = await m.cloneImage(base, { vmid: 101 });
    const c2 = await m.cloneImage(base, { vmid: 102 });
    expect(await m.freeImage(base, { whenUnused: true })).toEqual({ volid: base, outcome: 'hidden', alsoFreed: [] });
    expect((await m.listImages('mem')).map((i) => i.volid)).toEqual([c1, c2]);
    expect((await m.listImages('mem', { includeHidden: true })).find((i) => i.volid === base)?.hidden).toBe(true);
    await expectCode(m.cloneImage(base, { vmid: 103 }), 'INVALID_STATE');
    await expectCode(m.freeImage(base), 'IN_USE');
    const other = await open(); // another process: the state is on the storage
    expect(await other.freeImage(c1, {})).toEqual({ volid: c1, outcome: 'freed', alsoFreed: [] });
    await m.flattenImage(c2);
    expect(runner.store.list('kit')).toEqual([]);
    expect(runner.store.list('mem').map((r) => r.name)).toEqual(['vm-102-disk-0']);
  });

  it('reads no hidden attribute beside a clone where the plugin refuses hidden templates itself (cloneRefusesHidden)', async () => {
    const reads: string[] = [];
    const counting = (type: string, cloneRefusesHidden: boolean) =>
      class extends defineMemoryPlugin({ type }) {
        static override readonly capabilities = { ...MemoryPlugin.capabilities, cloneRefusesHidden };
        override getVolumeAttribute(...args: Parameters<MemoryPlugin['getVolumeAttribute']>): ReturnType<MemoryPlugin['getVolumeAttribute']> {
          reads.push(args[1].attribute);
          return super.getVolumeAttribute(...args);
        }
      };
    for (const [plugin, expected] of [
      [counting('memoryreads', false), ['hidden']],
      [counting('memoryrefuses', true), []],
    ] as const) {
      const m = await open(plugin);
      const base = await template(m);
      reads.length = 0;
      await m.cloneImage(base, { vmid: 101 });
      expect(reads, `attributes read by a clone (cloneRefusesHidden ${plugin.capabilities.cloneRefusesHidden})`).toEqual(expected);
    }
  });

  it('frees a template without clones at once; refuses when the plugin keeps no hidden attribute, and a protected template', async () => {
    const m = await open();
    const lone = await template(m);
    expect((await m.freeImage(lone, { whenUnused: true })).outcome).toBe('freed');
    const base = await template(m, 110);
    await m.cloneImage(base, { vmid: 111 });
    await m.updateVolumeAttribute(base, 'protected', true);
    await expectCode(m.freeImage(base, { whenUnused: true }), 'PROTECTED');
    const n = await open(NoHidden);
    const b = await template(n, 120);
    const clone = await n.cloneImage(b, { vmid: 121 });
    const e = await expectCode(n.freeImage(b, { whenUnused: true }), 'NOT_SUPPORTED');
    expect(e.details['clones']).toEqual([clone]);
  });

  it("takes the caller's inUse: a volume its guests use is not freed, a template so used is hidden with whenUnused and kept after its last clone", async () => {
    const m = await open();
    const volumes = () => m.listImages('mem', { includeHidden: true }).then((l) => l.map((i) => i.volid));
    // a plain volume a guest uses: refused, as list and as function, with or without whenUnused
    const disk = await m.allocImage('mem', { vmid: 90, size: MiB });
    const e = await expectCode(m.freeImage(disk, { inUse: [disk] }), 'IN_USE');
    expect(e.details['usedBy']).toBe('inUse');
    await expectCode(m.freeImage(disk, { whenUnused: true, inUse: (i) => i.volid === disk }), 'IN_USE');
    await expectCode(m.freeImage(disk, { inUse: 'all' as never }), 'INVALID_ARGUMENT');
    expect(await volumes()).toContain(disk);
    // a template a guest boots from directly, without clones: refused, or hidden with whenUnused
    const direct = await template(m, 91);
    await expectCode(m.freeImage(direct, { inUse: [direct] }), 'IN_USE');
    expect(await m.freeImage(direct, { whenUnused: true, inUse: [direct] })).toEqual({ volid: direct, outcome: 'hidden', alsoFreed: [] });
    await expectCode(m.cloneImage(direct, { vmid: 92 }), 'INVALID_STATE');
    // ... which prune frees once no guest uses it
    expect((await m.pruneImages('mem', { inUse: [direct] })).freed).toEqual([]);
    expect((await m.pruneImages('mem', {})).freed).toEqual([direct]);
    // a hidden template that a guest uses outlives its last clone, freed or flattened
    const base = await template(m, 100);
    const c1 = await m.cloneImage(base, { vmid: 101 });
    const c2 = await m.cloneImage(base, { vmid: 102 });
    await m.freeImage(base, { whenUnused: true });
    expect(await m.freeImage(c1, { inUse: [base] })).toEqual({ volid: c1, outcome: 'freed', alsoFreed: [] });
    const flat = await m.flattenImage(c2, { inUse: (i) => i.volid === base });
    expect(await volumes()).toEqual([disk, base, flat].sort());
    await expectCode(m.flattenImage(flat, { inUse: 7 as never }), 'INVALID_ARGUMENT');
  });
});

describe('pruneImages', () => {
  it('frees unused templates only: transitive use, inUse (list and callback), protected, keep, olderThan, dryRun', async () => {
    const m = await open();
    const used = await template(m, 100);
    const clone = await m.cloneImage(used, { vmid: 101 });
    const named = await template(m, 102);
    const guarded = await template(m, 103);
    await m.updateVolumeAttribute(guarded, 'protected', true);
    const hidden = await template(m, 104);
    const c = await m.cloneImage(hidden, { vmid: 105 });
    await m.freeImage(hidden, { whenUnused: true });
    await m.freeImage(c);
    expect((await m.listImages('mem', { includeHidden: true })).map((i) => i.volid)).not.toContain(hidden);
    const spare = await template(m, 106);
    const dry = await m.pruneImages('mem', { inUse: [named], dryRun: true });
    expect(dry.freed).toEqual([spare]);
    expect(dry.kept).toEqual([
      { volid: used, reason: 'in-use', usedBy: clone },
      { volid: named, reason: 'in-use', usedBy: named },
      { volid: guarded, reason: 'protected' },
    ]);
    expect((await m.pruneImages('mem', { inUse: (i) => i.volid === named, olderThan: 3_600_000 })).kept.map((k) => k.reason)).toEqual(['in-use', 'in-use', 'newer', 'newer']);
    expect((await m.pruneImages('mem', { keep: 1, dryRun: true })).kept.filter((k) => k.reason === 'keep')).toHaveLength(1);
    const done = await m.pruneImages('mem', { inUse: [named] });
    expect(done).toMatchObject({ dryRun: false, freed: [spare] });
    expect((await m.listImages('mem')).map((i) => i.volid)).toEqual([used, clone, named, guarded].sort());
    await expectCode(m.pruneImages('mem', { keep: -1 }), 'INVALID_ARGUMENT');
  });

  it('keeps a template cloned while prune runs (the clone is made between its listing and its lock)', async () => {
    const m = await open();
    const other = await open();
    const base = await template(m);
    let clone = '';
    const report = await m.pruneImages('mem', {
      inUse: async (image) => {
        if (image.volid === base) clone = await other.cloneImage(base, { vmid: 101 });
        return false;
      },
    });
    expect(report.freed).toEqual([]);
    expect(report.kept).toEqual([{ volid: base, reason: 'in-use', usedBy: clone }]);
  });

  it('makes one listing of the storage for 300 volumes, not one per volume', async () => {
    const m = await open();
    const bases: string[] = [];
    for (let i = 0; i < 10; i++) bases.push(await template(m, 300 + i));
    for (let i = 0; i < 290; i++) await m.cloneImage(bases[i % 5]!, { vmid: 400 + i });
    const calls: string[] = [];
    const run = runner.run.bind(runner);
    runner.run = (argv, options) => {
      calls.push(argv[1] ?? '');
      return run(argv, options);
    };
    const report = await m.pruneImages('mem', {});
    expect(report.freed).toHaveLength(5);
    expect(calls.filter((c) => c === 'list').length).toBeLessThanOrEqual(2);
    expect(calls.length).toBeLessThanOrEqual(2 + 5 * 2);
  });
});
