/**
 * Replays the scenarios captured on real ZFS (`capture.ts`): every plugin call must issue
 * exactly the recorded commands and come to the same outcome as on the real tools, and the
 * outcomes must be the ones the plugin promises (codes, clones, blockers, parents, sizes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFixtures, ReplayRunner, type CommandFixture } from '@stowage/core/testing';
import { describe, expect, it } from 'vitest';
import type { ZfsTuning } from '../src/exec.js';
import { ZfsPoolPlugin } from '../src/zfs-plugin.js';
import { SCENARIO_DIR } from './capture.js';
import { captureContext } from './support/context.js';
import { DEAD_OWNER, FOREIGN_OWNER, outcomeOf, SCENARIOS, snapNames, type Outcome } from './support/scenarios.js';

const MiB = 1024 * 1024;
type Image = Record<string, unknown>;
const ok = (o: Outcome) => (o as { ok: unknown }).ok;
const byName = (o: Outcome) => Object.fromEntries((ok(o) as Image[]).map((i) => [i['volname'], i]));

/** What `collectGarbage` finds in the `garbage` scenario: the dead owner's zvol goes, the other node's stays. */
const garbageReport = {
  removed: [{ name: 'vm-150-disk-0', owner: DEAD_OWNER, reason: 'owner-dead' }],
  kept: [{ name: 'vm-151-disk-0', owner: FOREIGN_OWNER, reason: 'owner-unknown' }],
};

/** What each step must have given on the real tools (checked on the captured outcome and, through equality, on the replay). */
const EXPECTED: Record<string, Record<string, (o: Outcome) => void>> = {
  lifecycle: {
    'status of an empty dataset': (o) => expect(o).toMatchObject({ ok: { active: true } }),
    'list empty': (o) => expect(o).toEqual({ ok: [] }),
    'free name': (o) => expect(o).toEqual({ ok: 'vm-100-disk-0' }),
    'alloc 1.5 MiB': (o) => expect(o).toEqual({ ok: 'vm-100-disk-0' }),
    'alloc again': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'size info': (o) => expect(o).toMatchObject({ ok: { size: 2 * MiB, format: 'raw' } }),
    'snapshot info of a new volume': (o) => expect(o).toEqual({ ok: [] }),
    'snapshot s1 again': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'snapshot info': (o) => {
      expect(snapNames(ok(o))).toEqual(['s1', 's2', 's3']);
      for (const s of ok(o) as Array<{ id: string; timestamp: number }>) expect(s).toMatchObject({ id: expect.stringMatching(/^[0-9]+$/), timestamp: expect.any(Number) });
    },
    'rollback blockers of s1': (o) => expect(o).toEqual({ ok: ['s2', 's3'] }),
    'rollback to s1': (o) => expect(o).toMatchObject({ code: 'SNAPSHOT_BLOCKERS', details: { blockers: ['s2', 's3'] } }),
    'clone from s2': (o) => expect(o).toEqual({ ok: 'vm-101-disk-0' }),
    'clone onto a taken name': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'clone from a missing snapshot': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'rollback to s1 destroying blockers, a clone on s2': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-101-disk-0'] } }),
    'delete snapshot with a clone': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-101-disk-0'] } }),
    'free volume whose snapshot has a clone': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-101-disk-0'] } }),
    'rollback to s3, the newest': (o) => expect(o).toEqual({ ok: null }),
    'delete s3 again': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'rollback to missing': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'same size': (o) => expect(o).toEqual({ ok: null }),
    shrink: (o) => expect(o).toMatchObject({ code: 'CANNOT_SHRINK' }),
    'rename the clone': (o) => expect(o).toEqual({ ok: 'vm-102-disk-0' }),
    'rename onto a taken name': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'rename a missing volume': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'create base': (o) => expect(o).toEqual({ ok: 'base-103-disk-0' }),
    'create base of the old name': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'clone base': (o) => expect(o).toEqual({ ok: 'base-103-disk-0/vm-104-disk-0' }),
    'clone a plain volume without a snapshot': (o) => expect(o).toMatchObject({ code: 'NOT_SUPPORTED' }),
    'free base with clone': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:base-103-disk-0/vm-104-disk-0'] } }),
    'list all': (o) => {
      const images = byName(o);
      expect(Object.keys(images).sort()).toEqual(['base-103-disk-0', 'base-103-disk-0/vm-104-disk-0', 'vm-100-disk-0', 'vm-102-disk-0']);
      expect(images['vm-100-disk-0']).toMatchObject({ size: 3 * MiB, vmid: 100, isBase: false, format: 'raw' });
      expect(images['vm-100-disk-0']).not.toHaveProperty('parent');
      expect(images['base-103-disk-0']).not.toHaveProperty('parent');
      expect(images['vm-102-disk-0']).toMatchObject({ parent: 'cap:vm-100-disk-0@s2', vmid: 102 });
      expect(images['base-103-disk-0']).toMatchObject({ isBase: true, size: MiB });
      expect(images['base-103-disk-0/vm-104-disk-0']).toMatchObject({ parent: 'cap:base-103-disk-0', vmid: 104, volid: 'cap:base-103-disk-0/vm-104-disk-0' });
    },
    'list vmid 104': (o) => expect(Object.keys(byName(o))).toEqual(['base-103-disk-0/vm-104-disk-0']),
    'list by volname': (o) => expect(Object.keys(byName(o)).sort()).toEqual(['base-103-disk-0/vm-104-disk-0', 'vm-102-disk-0']),
    'size info of clone': (o) => expect(o).toMatchObject({ ok: { size: MiB, parent: 'cap:base-103-disk-0' } }),
    'free name next to a base': (o) => expect(o).toEqual({ ok: 'vm-103-disk-1' }),
    'activate missing snapshot': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'free again': (o) => expect(o).toEqual({ code: 'NOT_FOUND', details: {} }),
    'list empty at the end': (o) => expect(o).toEqual({ ok: [] }),
  },
  subvol: {
    'free name': (o) => expect(o).toEqual({ ok: 'subvol-200-disk-0' }),
    'alloc a subvol with a zvol name': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT' }),
    path: (o) => expect(o).toEqual({ ok: { path: '/stowzcap/cap/subvol-200-disk-0', vmid: 200, vtype: 'images' } }),
    'size info after growing': (o) => expect(o).toMatchObject({ ok: { size: 8 * MiB, format: 'subvol' } }),
    'size info after the rollback': (o) => expect(o).toMatchObject({ ok: { size: 4 * MiB } }),
    'clone s1': (o) => expect(o).toEqual({ ok: 'subvol-201-disk-0' }),
    'create base': (o) => expect(o).toEqual({ ok: 'basevol-202-disk-0' }),
    'clone base': (o) => expect(o).toEqual({ ok: 'basevol-202-disk-0/subvol-203-disk-0' }),
    'list all': (o) => {
      const images = byName(o);
      expect(images['subvol-201-disk-0']).toMatchObject({ size: 4 * MiB, parent: 'cap:subvol-200-disk-0@s1', format: 'subvol' });
      expect(images['basevol-202-disk-0/subvol-203-disk-0']).toMatchObject({ size: 2 * MiB, parent: 'cap:basevol-202-disk-0' });
    },
    'list volumes': (o) => expect((ok(o) as Array<{ content: string }>).every((v) => v.content === 'rootdir')).toBe(true),
    'export formats': (o) => expect(o).toEqual({ ok: ['zfs'] }),
    'raw export refused': (o) => expect(o).toMatchObject({ code: 'NOT_SUPPORTED' }),
    'list empty at the end': (o) => expect(o).toEqual({ ok: [] }),
  },
  transfer: {
    'import raw': (o) => expect(o).toEqual({ ok: 'vm-110-disk-0' }),
    'import raw onto a taken name': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'import raw renamed': (o) => expect(o).toEqual({ ok: 'vm-110-disk-1' }),
    'import raw seen while it runs': (o) =>
      expect(o).toEqual({ ok: { listed: ['vm-110-disk-0', 'vm-110-disk-1'], free: { code: 'NOT_FOUND', details: {} }, freeName: 'vm-113-disk-1', imported: 'vm-113-disk-0' } }),
    'list vmid 113': (o) => expect((o as { ok: Array<{ volname: string }> }).ok.map((i) => i.volname)).toEqual(['vm-113-disk-0']),
    'free the import seen while it runs': (o) => expect(o).toEqual({ ok: null }),
    'import raw truncated': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT' }),
    'snapshots of the imported base': (o) => expect(snapNames(ok(o))).toEqual(['__base__']),
    'export raw of a snapshot refused': (o) => expect(o).toMatchObject({ code: 'NOT_SUPPORTED' }),
    'export zfs without a snapshot': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT' }),
    'export zfs of a missing snapshot': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'import zfs full': (o) => expect(o).toEqual({ ok: 'vm-115-disk-0' }),
    'snapshots of the copy': (o) => expect(o).toEqual(EXPECTED_STATE.sourceSnapshots),
    'import zfs onto a taken name': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'import zfs renamed': (o) => expect(o).toEqual({ ok: 'vm-115-disk-1' }),
    'import zfs truncated': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT', details: { failure: 'bad-stream' } }),
    'import zfs that is not a zfs stream': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT', details: { failure: 'bad-stream' } }),
    'import a zvol stream as a subvol': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT', details: { type: 'volume' } }),
    'list vmid 116': (o) => expect(o).toEqual({ ok: [] }),
    'export zfs increment a..b': (o) => expect((ok(o) as { length: number }).length).toBeLessThan(2 * 64 * 1024),
    'import increment onto the copy': (o) => expect(o).toEqual({ ok: 'vm-115-disk-0' }),
    'snapshots of the copy after the increment': (o) => expect(snapNames(ok(o))).toEqual(['a', 'b']),
    'import a truncated increment': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT' }),
    'snapshots after the truncated increment': (o) => expect(snapNames(ok(o))).toEqual(['a']),
    'import increment onto a missing base': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'import zfs with snapshots': (o) => expect(o).toEqual({ ok: 'vm-118-disk-0' }),
    'snapshots of the replica': (o) => expect(snapNames(ok(o))).toEqual(['a', 'b']),
    'list empty at the end': (o) => expect(o).toEqual({ ok: [] }),
  },
  busy: {
    'free while held': (o) => expect(o).toMatchObject({ code: 'BUSY', details: { attempts: 3 } }),
    free: (o) => expect(o).toEqual({ ok: null }),
    'list empty': (o) => expect(o).toEqual({ ok: [] }),
  },
  'no-space': {
    'alloc 1 TiB with a reservation': (o) => expect(o).toMatchObject({ code: 'NO_SPACE', details: { requested: 1024 * 1024 * MiB, available: expect.any(Number) } }),
    'grow to 1 TiB': (o) => expect(o).toMatchObject({ code: 'NO_SPACE' }),
    'subvol quota is not a reservation': (o) => expect(o).toEqual({ ok: 'subvol-131-disk-0' }),
    list: (o) => expect(byName(o)['vm-130-disk-0']).toMatchObject({ size: MiB }),
  },
  blocksize: {
    'alloc with a block size the pool refuses': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT', details: { failure: 'bad-size' } }),
    list: (o) => expect(o).toEqual({ ok: [] }),
  },
  'no-link': {
    alloc: (o) => expect(o).toMatchObject({ code: 'TIMEOUT', details: { timeoutMs: 1500 } }),
    'list after the timeout': (o) => expect(o).toEqual({ ok: [] }),
  },
  garbage: {
    list: (o) => expect(o).toEqual({ ok: [] }),
    'free an unfinished volume': (o) => expect(o).toEqual({ code: 'NOT_FOUND', details: {} }),
    'free name next to an unfinished volume': (o) => expect(o).toEqual({ ok: 'vm-150-disk-1' }),
    'alloc onto an unfinished volume': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'collect, dry run': (o) => expect(o).toEqual({ ok: garbageReport }),
    collect: (o) => expect(o).toEqual({ ok: garbageReport }),
    'collect again': (o) => expect(o).toEqual({ ok: { removed: [], kept: garbageReport.kept } }),
    'alloc where the dead owner left a zvol': (o) => expect(o).toEqual({ ok: 'vm-150-disk-0' }),
  },
  'dataset-missing': {
    status: (o) => expect(o).toMatchObject({ ok: { active: false, total: 0 } }),
    list: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    alloc: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND', details: { failure: 'parent-missing' } }),
    free: (o) => expect(o).toEqual({ code: 'NOT_FOUND', details: {} }),
    ...Object.fromEntries(
      ['size info', 'resize', 'snapshot', 'snapshot info', 'delete snapshot', 'rollback', 'create base', 'clone a missing base', 'rename', 'activate volume', 'export raw'].map((s) => [
        s,
        (o: Outcome) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
      ]),
    ),
  },
  'pool-missing': {
    'activate storage (import fails)': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND', details: { failure: 'pool-missing' } }),
    status: (o) => expect(o).toMatchObject({ ok: { active: false } }),
    list: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    alloc: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
  },
};

/** Facts shared between steps, filled while checking (the copy's snapshots must equal the source's). */
const EXPECTED_STATE: { sourceSnapshots?: Outcome } = {};

describe.each(SCENARIOS.map((s) => [s.name, s] as const))('replay of %s', (name, scenario) => {
  const fixtureFile = join(SCENARIO_DIR, `${name}.json`);
  const outcomeFile = join(SCENARIO_DIR, `${name}.outcomes.json`);
  const captured = existsSync(outcomeFile) ? (JSON.parse(readFileSync(outcomeFile, 'utf8')) as Array<{ step: string; outcome: Outcome }>) : [];

  it('has a capture for every step', () => {
    const calls = scenario.steps.filter((s) => 'call' in s).map((s) => s.name);
    expect(captured.map((c) => c.step)).toEqual(calls);
  });

  it('the captured outcomes are what the plugin promises', () => {
    const checks = EXPECTED[name] ?? {};
    const byStep = new Map(captured.map((c) => [c.step, c.outcome]));
    if (name === 'transfer') EXPECTED_STATE.sourceSnapshots = byStep.get('snapshots of the source');
    for (const [step, check] of Object.entries(checks)) {
      const outcome = byStep.get(step);
      expect(outcome, `captured outcome of '${step}'`).toBeDefined();
      check(outcome!);
    }
  });

  it('replays to the same outcomes, running only the recorded commands', async () => {
    await replay(scenario, await loadFixtures(fixtureFile), captured);
  });
});

/** Replays a scenario's calls on `fixtures`: each must come to its captured outcome, and every fixture must be used. */
async function replay(scenario: (typeof SCENARIOS)[number], fixtures: CommandFixture[], captured: Array<{ step: string; outcome: Outcome }>, tuning: Partial<ZfsTuning> = {}): Promise<ReplayRunner> {
  const runner = new ReplayRunner(fixtures, { description: `zfs fixtures ${scenario.name}` });
  const plugin = new ZfsPoolPlugin();
  plugin.tuning = { ...plugin.tuning, ...scenario.tuning, ...tuning };
  const state = new Map<string, Buffer>();
  const expected = new Map(captured.map((c) => [c.step, c.outcome]));
  for (const step of scenario.steps) {
    if (!('call' in step)) continue;
    const outcome = await outcomeOf(step.call(plugin, captureContext(runner, scenario.config), state));
    // a wait that times out polls as often as time allows: the number of tries is not replayed
    const comparable = (o: Outcome | undefined) => (scenario.timed && o && 'code' in o ? { ...o, details: { ...o.details, attempts: undefined } } : o);
    expect(comparable(outcome), `replayed outcome of '${step.name}'`).toEqual(comparable(expected.get(step.name)));
  }
  if (!scenario.timed) expect(runner.unused().map((f) => f.argv.join(' ')), 'recorded commands the replay did not run').toEqual([]);
  return runner;
}

describe('replay of flatten, the old state busy for a moment', () => {
  it('tries the last destroy of each flatten again, and ends as on the real tools', async () => {
    const scenario = SCENARIOS.find((s) => s.name === 'flatten')!;
    const captured = JSON.parse(readFileSync(join(SCENARIO_DIR, 'flatten.outcomes.json'), 'utf8')) as Array<{ step: string; outcome: Outcome }>;
    // the swap's drop: `zfs destroy -r <old state>` (flattenImage), `zfs destroy -R <vol>@<oldest>%<snapshot>` (volumeSnapshotFlatten)
    const isDrop = (argv: readonly string[]) => argv[1] === 'destroy' && (argv.at(-1)!.includes('/stowage-flatten-old-') || argv[2] === '-R');
    const drops: string[][] = [];
    const fixtures = (await loadFixtures(join(SCENARIO_DIR, 'flatten.json'))).flatMap((f) => {
      if (!isDrop(f.argv) || f.exitCode !== 0 || drops.length === 2) return [f];
      drops.push([...f.argv]);
      // what zfs prints while udev still holds the renamed zvol's device (fixtures/zfs-destroy-busy.json)
      return [{ ...f, stdout: '', stderr: `cannot destroy '${f.argv.at(-1)}': dataset is busy\n`, exitCode: 1 }, f];
    });
    expect(drops, 'the drops of the two flattens in the capture').toHaveLength(2);
    const runner = await replay(scenario, fixtures, captured, { busyDelayMs: 1 });
    for (const drop of drops) expect(runner.calls.filter((c) => c.join(' ') === drop.join(' ')), drop.join(' ')).toHaveLength(2);
  });
});
