/**
 * Replays the scenarios captured on real LVM (`capture.ts`): every plugin call must issue
 * exactly the recorded commands and come to the same outcome as on the real tools, and the
 * outcomes must be the ones the plugin promises (codes, clones, parents, sizes).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadFixtures, ReplayRunner } from '@stowage/core/testing';
import { describe, expect, it } from 'vitest';
import { LvmThinPlugin } from '../src/lvmthin-plugin.js';
import { FIXTURES_DIR } from './capture.js';
import { captureContext } from './support/context.js';
import { DEAD_OWNER, FOREIGN_OWNER, outcomeOf, payload, SCENARIOS, type Outcome } from './support/scenarios.js';
import { createHash } from 'node:crypto';
import { encodeSizeHeader } from '@stowage/core/plugin';

const KiB = 1024;
const exportedSha = createHash('sha256').update(Buffer.concat([encodeSizeHeader(64 * KiB), payload()])).digest('hex');

/** What `collectGarbage` finds in the `garbage` scenario: the dead owner's LV goes, the other node's stays. */
const garbageReport = {
  removed: [{ name: 'vm-150-disk-0', owner: DEAD_OWNER, reason: 'owner-dead' }],
  kept: [{ name: 'vm-151-disk-0', owner: FOREIGN_OWNER, reason: 'owner-unknown' }],
};

/** What each step must have given on the real tools (checked on the captured outcome and on the replay). */
const EXPECTED: Record<string, Record<string, (o: Outcome) => void>> = {
  flatten: {
    'is it hidden': (o) => expect(o).toEqual({ ok: true }),
    'clone the hidden base': (o) => expect(o).toEqual({ code: 'INVALID_STATE', details: { hidden: true } }),
    list: (o) => {
      const byName = Object.fromEntries(((o as { ok: Array<Record<string, unknown>> }).ok ?? []).map((i) => [i['volname'], i]));
      expect(Object.keys(byName).sort()).toEqual(['base-160-disk-0', 'vm-162-disk-0', 'vm-165-disk-0']);
      expect(byName['base-160-disk-0']).toMatchObject({ volid: 'cap:base-160-disk-0', isBase: true, hidden: true });
      expect(byName['vm-165-disk-0']).toMatchObject({ parent: 'cap:base-160-disk-0' });
      expect(byName['vm-162-disk-0']!['parent']).toBeUndefined();
    },
    'size info of the clone of the hidden base': (o) => expect(o).toMatchObject({ ok: { parent: 'cap:base-160-disk-0' } }),
    'free the hidden base while cloned': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-165-disk-0'] } }),
    'show the base': (o) => expect(o).toEqual({ ok: null }),
    'is it hidden after showing': (o) => expect(o).toEqual({ ok: false }),
    'create base over the hidden base': (o) => expect(o).toEqual({ code: 'ALREADY_EXISTS', details: { hidden: true } }),
    'free the base': (o) => expect(o).toEqual({ ok: null }),
  },
  lifecycle: {
    'status of a fresh pool': (o) => expect(o).toMatchObject({ ok: { total: 256 * KiB * KiB, used: 0, available: 256 * KiB * KiB, active: true } }),
    'list empty': (o) => expect(o).toEqual({ ok: [] }),
    alloc: (o) => expect(o).toEqual({ ok: 'vm-100-disk-0' }),
    'alloc again': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS', details: { failure: 'exists' } }),
    'snapshot s1 again': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'snapshot info': (o) => expect((o as { ok: Array<{ name: string }> }).ok.map((s) => s.name)).toEqual(['s1', 's2']),
    'clone from s1': (o) => expect(o).toEqual({ ok: 'vm-101-disk-0' }),
    'clone onto a taken name': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'free volume whose snapshot has a clone': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-101-disk-0'] } }),
    'delete snapshot with a clone': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-101-disk-0'] } }),
    'rollback to s1': (o) => expect(o).toEqual({ ok: null }),
    'rollback to missing': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    grow: (o) => expect(o).toEqual({ ok: null }),
    'same size': (o) => expect(o).toEqual({ ok: null }),
    shrink: (o) => expect(o).toMatchObject({ code: 'CANNOT_SHRINK' }),
    'rename with snapshot': (o) => expect(o).toEqual({ ok: 'vm-102-disk-0' }),
    'base of a volume with snapshots': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { snapshots: ['s1'] } }),
    'create base': (o) => expect(o).toEqual({ ok: 'base-103-disk-0' }),
    'clone base': (o) => expect(o).toEqual({ ok: 'vm-104-disk-0' }),
    'free base with clone': (o) => expect(o).toMatchObject({ code: 'IN_USE', details: { clones: ['cap:vm-104-disk-0'] } }),
    'list all': (o) => {
      const list = (o as { ok: Array<Record<string, unknown>> }).ok;
      const byName = Object.fromEntries(list.map((i) => [i['volname'], i]));
      expect(Object.keys(byName).sort()).toEqual(['base-103-disk-0', 'vm-101-disk-0', 'vm-102-disk-0', 'vm-104-disk-0']);
      expect(byName['vm-101-disk-0']).toMatchObject({ parent: 'cap:vm-102-disk-0@s1', vmid: 101, isBase: false, format: 'raw' });
      expect(byName['vm-104-disk-0']).toMatchObject({ parent: 'cap:base-103-disk-0', vmid: 104 });
      expect(byName['base-103-disk-0']).toMatchObject({ isBase: true, size: 64 * KiB });
      expect(byName['base-103-disk-0']!['parent']).toBeUndefined();
      // rolled back to its own snapshot: not a clone of anything
      expect(byName['vm-102-disk-0']).toMatchObject({ size: 256 * KiB, vmid: 102 });
      expect(byName['vm-102-disk-0']!['parent']).toBeUndefined();
    },
    'list vmid 102': (o) => expect((o as { ok: Array<{ volname: string }> }).ok.map((i) => i.volname)).toEqual(['vm-102-disk-0']),
    'size info of clone': (o) => expect(o).toMatchObject({ ok: { size: 64 * KiB, format: 'raw', parent: 'cap:base-103-disk-0' } }),
    'status with volumes': (o) => expect(o).toMatchObject({ ok: { total: 256 * KiB * KiB, active: true } }),
    'free base': (o) => expect(o).toEqual({ ok: null }),
    'free again': (o) => expect(o).toEqual({ code: 'NOT_FOUND', details: {} }),
    'list empty at the end': (o) => expect(o).toEqual({ ok: [] }),
  },
  transfer: {
    import: (o) => expect(o).toEqual({ ok: 'vm-110-disk-0' }),
    'import onto a taken name': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'import renamed': (o) => expect(o).toEqual({ ok: 'vm-110-disk-1' }),
    'import truncated': (o) => expect(o).toMatchObject({ code: 'INVALID_ARGUMENT' }),
    'list after failed import': (o) => expect(o).toEqual({ ok: [] }),
    export: (o) => expect(o).toEqual({ ok: { length: 8 + 64 * KiB, sha256: exportedSha } }),
    'export snapshot': (o) => expect(o).toEqual({ ok: { length: 8 + 64 * KiB, sha256: exportedSha } }),
    'import seen while it runs': (o) =>
      expect(o).toEqual({ ok: { listed: ['vm-110-disk-0', 'vm-110-disk-1'], free: { code: 'NOT_FOUND', details: {} }, freeName: 'vm-113-disk-1', imported: 'vm-113-disk-0' } }),
    'list after the import seen while it runs': (o) => expect((o as { ok: Array<{ volname: string }> }).ok.map((i) => i.volname)).toEqual(['vm-113-disk-0']),
    'free the import seen while it runs': (o) => expect(o).toEqual({ ok: null }),
    'import as base': (o) => expect(o).toEqual({ ok: 'base-112-disk-0' }),
    'export base': (o) => expect(o).toEqual({ ok: { length: 8 + 64 * KiB, sha256: exportedSha } }),
  },
  garbage: {
    list: (o) => expect(o).toEqual({ ok: [] }),
    'free an unfinished volume': (o) => expect(o).toEqual({ code: 'NOT_FOUND', details: {} }),
    'free name next to an unfinished volume': (o) => expect(o).toEqual({ ok: 'vm-150-disk-1' }),
    'alloc onto an unfinished volume': (o) => expect(o).toMatchObject({ code: 'ALREADY_EXISTS' }),
    'collect, dry run': (o) => expect(o).toEqual({ ok: garbageReport }),
    collect: (o) => expect(o).toEqual({ ok: garbageReport }),
    'collect again': (o) => expect(o).toEqual({ ok: { removed: [], kept: garbageReport.kept } }),
    'alloc where the dead owner left an LV': (o) => expect(o).toEqual({ ok: 'vm-150-disk-0' }),
  },
  'vg-missing': {
    status: (o) => expect(o).toMatchObject({ ok: { active: false, total: 0, details: { reason: 'NOT_FOUND' } } }),
    list: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND', details: { failure: 'vg-missing' } }),
    alloc: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND', details: { failure: 'vg-missing' } }),
    snapshot: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
  },
  'pool-missing': {
    status: (o) => expect(o).toMatchObject({ ok: { active: false, details: { reason: 'NOT_FOUND' } } }),
    list: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND', details: { failure: 'pool-missing' } }),
    alloc: (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'clone from a missing base': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
    'snapshot of a missing volume': (o) => expect(o).toMatchObject({ code: 'NOT_FOUND' }),
  },
  busy: {
    'free while held': (o) => expect(o).toMatchObject({ code: 'BUSY', details: { failure: 'busy', attempts: 4 } }),
    'deactivate while held': (o) => expect(o).toMatchObject({ code: 'BUSY', details: { failure: 'busy', attempts: 4 } }),
    'deactivate while held briefly': (o) => expect(o).toEqual({ ok: null }),
    'free while held briefly': (o) => expect(o).toEqual({ ok: null }),
    'list after free': (o) => expect(o).toEqual({ ok: [] }),
  },
  'pool-full': {
    'status of a full pool': (o) => expect(o).toMatchObject({ ok: { active: true, available: 0, details: { dataPercent: 100, health: 'out-of-data-space' } } }),
    'alloc in a full pool': (o) => expect(o).toMatchObject({ code: 'NO_SPACE', details: { failure: 'pool-full', pool: { dataPercent: 100, health: 'out-of-data-space' } } }),
    'snapshot in a full pool': (o) => expect(o).toMatchObject({ code: 'NO_SPACE', details: { pool: { dataPercent: 100 } } }),
    free: (o) => expect(o).toEqual({ ok: null }),
  },
  'metadata-full': {
    'status of the pool': (o) => expect(o).toMatchObject({ ok: { active: false, available: 0, details: { health: 'failed' } } }),
    alloc: (o) => expect(o).toMatchObject({ code: 'NO_SPACE', details: { pool: { health: 'failed', available: 0 } } }),
    snapshot: (o) => expect(o).toMatchObject({ code: 'NO_SPACE', details: { pool: { health: 'failed' } } }),
  },
};

/** The retries after a busy device, as captured: a failure, `udevadm settle`, then success. */
function retriedOnce(fixtures: Awaited<ReturnType<typeof loadFixtures>>, program: string): boolean {
  return fixtures.some(
    (f, i) => f.argv[0] === program && f.exitCode !== 0 && fixtures[i + 1]?.argv[0] === 'udevadm' && fixtures.slice(i + 2).find((g) => g.argv[0] === program)?.exitCode === 0,
  );
}

describe('captured busy devices', () => {
  it('show lvchange and lvremove failing as busy, udev settling, and the retry succeeding', async () => {
    const fixtures = await loadFixtures(join(FIXTURES_DIR, 'busy.json'));
    expect(retriedOnce(fixtures, 'lvchange')).toBe(true);
    expect(retriedOnce(fixtures, 'lvremove')).toBe(true);
  });
});

describe.each(SCENARIOS.map((s) => [s.name, s] as const))('replay of %s (captured on real LVM)', (name, scenario) => {
  const file = join(FIXTURES_DIR, `${name}.json`);
  const outcomesFile = join(FIXTURES_DIR, `${name}.outcomes.json`);

  it('has its fixtures', () => {
    expect(existsSync(file), `${file} is missing: run test/capture.ts against the testbed`).toBe(true);
  });

  it('gives the promised outcomes on the real tools', () => {
    const captured = JSON.parse(readFileSync(outcomesFile, 'utf8')) as Array<{ step: string; outcome: Outcome }>;
    const expected = EXPECTED[name] ?? {};
    for (const stepName of Object.keys(expected)) {
      const entry = captured.find((c) => c.step === stepName);
      expect(entry, `step '${stepName}' was captured`).toBeDefined();
      expected[stepName]!(entry!.outcome);
    }
  });

  it('replays every command and reaches the same outcomes', async () => {
    const runner = new ReplayRunner(await loadFixtures(file), { description: `replay ${name}` });
    const captured = JSON.parse(readFileSync(outcomesFile, 'utf8')) as Array<{ step: string; outcome: Outcome }>;
    const plugin = new LvmThinPlugin();
    let i = 0;
    for (const step of scenario.steps) {
      if (!('call' in step)) continue;
      const outcome = await outcomeOf(step.call(plugin, captureContext(runner, scenario.config)));
      expect({ step: step.name, outcome }).toEqual(captured[i]);
      i++;
    }
    expect(i).toBe(captured.length);
    expect(runner.unused()).toEqual([]);
  });
});
