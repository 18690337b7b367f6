/**
 * The report parsers on the JSON that `lvs`/`vgs` printed in the testbed guest.
 */
import { join } from 'node:path';
import { isStorageError } from '@stowage/core';
import { loadFixtures, type CommandFixture } from '@stowage/core/testing';
import { describe, expect, it } from 'vitest';
import { parseBlockdevSize, parseLvsReport, parseVgsReport } from '../src/parse.js';
import { PoolView } from '../src/pool-view.js';
import { FIXTURES_DIR } from './capture.js';

const SCENARIO_FILES = ['flatten', 'lifecycle', 'transfer', 'garbage', 'vg-missing', 'pool-missing', 'busy', 'pool-full', 'metadata-full'];

async function runs(program: string): Promise<CommandFixture[]> {
  const all: CommandFixture[] = [];
  for (const name of SCENARIO_FILES) all.push(...(await loadFixtures(join(FIXTURES_DIR, `${name}.json`))));
  return all.filter((f) => f.argv[0] === program && f.exitCode === 0);
}

function stdout(f: CommandFixture): string {
  return typeof f.stdout === 'string' ? f.stdout : Buffer.from(f.stdout.base64, 'base64').toString('utf8');
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isStorageError(e) ? e.code : 'not a StorageError';
  }
  return undefined;
}

/** The captured `lvs` output of the lifecycle scenario that lists base, clones and snapshot together. */
async function richReport(): Promise<string> {
  const found = (await runs('lvs')).map(stdout).find((s) => s.includes('"base-103-disk-0"') && s.includes('"vm-104-disk-0"') && s.includes('"vm-101-disk-0"'));
  if (!found) throw new Error('no captured lvs report with base-103, vm-104 and vm-101');
  return found;
}

describe('parseLvsReport', () => {
  it('reads UUIDs and the unfinished tag of LVs as lvs printed them', async () => {
    const report = (await runs('lvs')).map(stdout).find((s) => s.includes('"vm-150-disk-0"') && s.includes('"vm-151-disk-0"'));
    expect(report, 'a captured report with both unfinished LVs of the garbage scenario').toBeDefined();
    const lvs = parseLvsReport(report!);
    for (const lv of lvs) expect(lv.uuid, lv.name).toMatch(/^[A-Za-z0-9]{6}(-[A-Za-z0-9]{4}){5}-[A-Za-z0-9]{6}$/);
    expect(lvs.find((l) => l.name === 'vm-150-disk-0')!.tags).toEqual(['stowage-incomplete=test:00000000:4242:1']);
    expect(lvs.find((l) => l.name === 'pool')!.tags).toEqual([]);
    const view = new PoolView(lvs, 'pool');
    expect([...view.volumes.keys()]).not.toContain('vm-150-disk-0');
    expect(view.unfinished.map((l) => l.name).sort()).toEqual(['vm-150-disk-0', 'vm-151-disk-0']);
  });

  it('parses every captured lvs report', async () => {
    const reports = await runs('lvs');
    expect(reports.length).toBeGreaterThan(20);
    for (const f of reports) {
      const lvs = parseLvsReport(stdout(f));
      expect(lvs.length).toBeGreaterThan(0);
      for (const lv of lvs) {
        expect(Number.isSafeInteger(lv.size)).toBe(true);
        expect(lv.attr).toMatch(/^.{10}$/);
      }
    }
  });

  it('reads pools, volumes, bases, clones and snapshots', async () => {
    const lvs = parseLvsReport(await richReport());
    const by = Object.fromEntries(lvs.map((l) => [l.name, l]));
    expect(by['pool']).toMatchObject({ vg: 'stowcap', type: 't', active: true, size: 256 * 2 ** 20, pool: '', metadataSize: 2 * 2 ** 20, extentSize: 65536, health: '-' });
    expect(by['pool']!.dataPercent).toBeTypeOf('number');
    expect(by['pool']!.metadataPercent).toBeGreaterThan(0);
    expect(by['base-103-disk-0']).toMatchObject({ type: 'V', writable: false, active: false, pool: 'pool', origin: '', dataPercent: undefined, size: 65536 });
    expect(by['base-103-disk-0']!.attr.charAt(9)).toBe('k');
    expect(by['vm-104-disk-0']).toMatchObject({ type: 'V', writable: true, active: true, origin: 'base-103-disk-0' });
    expect(by['vm-101-disk-0']).toMatchObject({ origin: 'snap_vm-102-disk-0_s1' });
    expect(by['snap_vm-102-disk-0_s1']).toMatchObject({ type: 'V', writable: false, active: false });
    expect(by['vm-104-disk-0']!.ctime).toBeGreaterThan(1_700_000_000);
    expect(by['vm-104-disk-0']!.thinId).toBeGreaterThan(by['base-103-disk-0']!.thinId!);
  });

  it('reports a failed pool without usage', async () => {
    const report = (await runs('lvs')).map(stdout).find((s) => s.includes('"stowmeta"') && s.includes('"mp"'));
    const pool = parseLvsReport(report!).find((l) => l.name === 'mp');
    expect(pool).toMatchObject({ type: 't', health: 'F', dataPercent: undefined, metadataPercent: undefined });
  });

  it('refuses output that is not the report', async () => {
    const real = await richReport();
    expect(codeOf(() => parseLvsReport(real.slice(0, real.length / 2)))).toBe('CORRUPT');
    expect(codeOf(() => parseLvsReport(''))).toBe('CORRUPT');
    expect(codeOf(() => parseLvsReport('{"x": 1}'))).toBe('CORRUPT');
    expect(codeOf(() => parseLvsReport(real.replace(/"lv_size":"\d+"/, '"lv_size":"12.5"')))).toBe('CORRUPT');
    expect(codeOf(() => parseLvsReport(real.replace(/"lv_attr":"[^"]*",/, '')))).toBe('CORRUPT');
  });
});

describe('parseVgsReport', () => {
  it('parses the captured vgs reports', async () => {
    const reports = await runs('vgs');
    expect(reports.length).toBeGreaterThan(0);
    for (const f of reports) {
      const [vg] = parseVgsReport(stdout(f));
      expect(vg!.name).toMatch(/^stow/);
      expect(vg!.size).toBeGreaterThan(vg!.free);
      expect(vg!.lvCount).toBeGreaterThan(0);
    }
  });
});

describe('parseBlockdevSize', () => {
  it('parses the captured blockdev sizes', async () => {
    const sizes = (await runs('blockdev')).map((f) => parseBlockdevSize(stdout(f)));
    expect(sizes.length).toBeGreaterThan(0);
    for (const s of sizes) expect(s).toBe(65536);
    expect(codeOf(() => parseBlockdevSize('x'))).toBe('CORRUPT');
  });
});

describe('PoolView on a captured report', () => {
  it('finds volumes, snapshots, clones and parents', async () => {
    const view = new PoolView(parseLvsReport(await richReport()), 'pool');
    expect([...view.volumes.keys()].sort()).toEqual(['base-103-disk-0', 'vm-101-disk-0', 'vm-102-disk-0', 'vm-104-disk-0']);
    expect(view.snapshotsOf('vm-102-disk-0').map((s) => s.snapshot)).toEqual(['s1']);
    expect(view.clonesOf('vm-102-disk-0')).toEqual(['vm-101-disk-0']);
    expect(view.clonesOf('base-103-disk-0')).toEqual(['vm-104-disk-0']);
    expect(view.clonesOf('vm-104-disk-0')).toEqual([]);
    expect(view.parentOf('cap', 'vm-104-disk-0')).toBe('cap:base-103-disk-0');
    expect(view.parentOf('cap', 'vm-101-disk-0')).toBe('cap:vm-102-disk-0@s1');
    // vm-102-disk-0 was rolled back to s1 (as vm-100-disk-0) and renamed: its origin is its own snapshot
    expect(view.thinLvs.get('vm-102-disk-0')!.origin).toBe('snap_vm-102-disk-0_s1');
    expect(view.parentOf('cap', 'vm-102-disk-0')).toBeUndefined();
    expect(view.usage()).toMatchObject({ total: 256 * 2 ** 20, health: 'ok', active: true });
  });

  it('reports no parent for a clone tagged stowage-detached, and does not count it as a clone of its origin', async () => {
    // the flatten scenario's listing with the hidden base, its flattened clone and a clone of it
    const report = (await runs('lvs')).map(stdout).find((s) => s.includes('"stowage_hidden_base-160-disk-0"') && s.includes('"vm-165-disk-0"') && s.includes('stowage-detached'));
    expect(report, 'a captured report with the hidden base and its clones').toBeDefined();
    const view = new PoolView(parseLvsReport(report!), 'pool');
    expect(view.thinLvs.get('vm-162-disk-0')!.origin).toBe('stowage_hidden_base-160-disk-0');
    expect(view.thinLvs.get('vm-162-disk-0')!.tags).toContain('stowage-detached');
    expect(view.parentOf('cap', 'vm-162-disk-0')).toBeUndefined();
    expect(view.clonesOf('base-160-disk-0')).toEqual(['vm-165-disk-0']);
  });

  it('reports a hidden base (its LV renamed stowage_hidden_<volname>) under its volname, and its clones as its clones', async () => {
    const report = (await runs('lvs')).map(stdout).find((s) => s.includes('"stowage_hidden_base-160-disk-0"') && s.includes('"vm-165-disk-0"'));
    const view = new PoolView(parseLvsReport(report!), 'pool');
    expect(view.thinLvs.has('base-160-disk-0'), 'LVM knows no LV of the hidden name').toBe(false);
    expect(view.volumes.get('base-160-disk-0')?.name).toBe('stowage_hidden_base-160-disk-0');
    expect([...view.hidden]).toEqual(['base-160-disk-0']);
    expect(view.thinLvs.get('vm-165-disk-0')!.origin).toBe('stowage_hidden_base-160-disk-0');
    expect(view.parentOf('cap', 'vm-165-disk-0')).toBe('cap:base-160-disk-0');
    expect(view.isTaken('base-160-disk-0')).toBe(true);
    expect(view.takenNames()).toContain('base-160-disk-0');
    expect(view.takenNames()).not.toContain('stowage_hidden_base-160-disk-0');
  });

  it('lets a visible LV win over a hidden one of the same volname', async () => {
    const report = (await runs('lvs')).map(stdout).find((s) => s.includes('"stowage_hidden_base-160-disk-0"'));
    const records = parseLvsReport(report!);
    const hiddenLv = records.find((r) => r.name === 'stowage_hidden_base-160-disk-0')!;
    const view = new PoolView([...records, { ...hiddenLv, name: 'base-160-disk-0', uuid: 'visible' }], 'pool');
    expect(view.volumes.get('base-160-disk-0')?.name).toBe('base-160-disk-0');
    expect(view.hidden.size).toBe(0);
  });

  it('is empty for another pool name', async () => {
    const view = new PoolView(parseLvsReport(await richReport()), 'nosuchpool');
    expect(view.pool).toBeUndefined();
    expect(view.volumes.size).toBe(0);
    expect(view.usage()).toBeUndefined();
  });
});
