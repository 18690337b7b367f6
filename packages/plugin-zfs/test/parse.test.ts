/**
 * The parsers on output captured from the real ZFS tools (`fixtures/scenarios`), and their
 * refusal of output that is not what they expect.
 */
import { isStorageError } from '@stowage/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATASET_FIELDS, SNAPSHOT_FIELDS } from '../src/commands.js';
import { parseDatasetList, parseNumber, parsePoolUsage, parsePropertyValues, parseSnapshotList } from '../src/parse.js';
import { allRecorded, withPrefix, type Recorded } from './support/fixtures.js';

let all: Recorded[] = [];
beforeAll(async () => {
  all = await allRecorded();
});

const datasetListings = () => all.filter((f) => f.argv[1] === 'list' && f.argv.includes(DATASET_FIELDS.join(',')) && f.exitCode === 0);
const snapshotListings = () => all.filter((f) => f.argv[1] === 'list' && f.argv.includes(SNAPSHOT_FIELDS.join(',')) && f.exitCode === 0);

describe('parseDatasetList on captured listings', () => {
  it('reads guids and the unfinished mark as zfs list printed them', () => {
    const listing = datasetListings().find((f) => f.stdoutText.includes('/vm-150-disk-0\t') && f.stdoutText.includes('/vm-151-disk-0\t'));
    expect(listing, 'a captured listing with both unfinished zvols of the garbage scenario').toBeDefined();
    const records = parseDatasetList(listing!.stdoutText);
    for (const r of records) expect(r.guid, r.name).toMatch(/^[1-9][0-9]*$/);
    expect(new Set(records.map((r) => r.guid)).size).toBe(records.length);
    const byName = Object.fromEntries(records.map((r) => [r.name.split('/').at(-1), r]));
    expect(byName['vm-150-disk-0']!.incomplete).toBe('test:00000000:4242:1');
    expect(byName['vm-151-disk-0']!.incomplete).toBe('elsewhere:00000000:7:7');
    expect(records.filter((r) => r.incomplete === undefined).length).toBe(records.length - 2);
  });

  it('reads the flatten mark and the hidden property as zfs list printed them', () => {
    const listing = datasetListings().find((f) => f.stdoutText.includes('/stowage-flatten-old-vm-164-disk-0\t'));
    expect(listing, 'a captured listing with the leftovers of killed flattens').toBeDefined();
    const byName = Object.fromEntries(parseDatasetList(listing!.stdoutText).map((r) => [r.name.split('/').at(-1), r]));
    expect(byName['stowage-flatten-new-vm-163-disk-0']!.flatten).toBe('test:00000000:4242:1');
    expect(byName['stowage-flatten-old-vm-164-disk-0']!.flatten).toBe('test:00000000:4242:1');
    expect(byName['vm-163-disk-0']!.origin).toMatch(/\/stowage-flatten-new-vm-163-disk-0@a$/);
    expect(byName['vm-163-disk-0']!.flatten).toBeUndefined();
    const hidden = datasetListings().find((f) => parseDatasetList(f.stdoutText).some((r) => r.hidden));
    expect(hidden, 'a captured listing with the hidden base').toBeDefined();
    expect(parseDatasetList(hidden!.stdoutText).filter((r) => r.hidden).map((r) => r.name.split('/').at(-1))).toEqual(['base-160-disk-0']);
  });

  it('parses every captured listing into well-formed records', () => {
    expect(datasetListings().length).toBeGreaterThan(20);
    for (const f of datasetListings()) {
      const records = parseDatasetList(f.stdoutText);
      expect(records.length, f.argv.join(' ')).toBe(f.stdoutText.split('\n').filter(Boolean).length);
      const pool = f.argv.at(-1)!.split('/')[0]!;
      for (const r of records) {
        expect(r.name.startsWith(pool), r.name).toBe(true);
        expect(['volume', 'filesystem']).toContain(r.type);
        if (r.type === 'volume') expect(r.volsize! % 1024, r.name).toBe(0);
        else expect(r.volsize).toBeUndefined();
        expect(r.creation).toBeGreaterThan(1_500_000_000);
        if (r.origin !== undefined) expect(r.origin).toMatch(/^[^@]+@[^@]+$/);
      }
    }
  });

  it('reads clones, sizes and quotas as the lifecycle made them', () => {
    const listing = datasetListings().find((f) => f.file === 'lifecycle.json' && f.stdoutText.includes('vm-104-disk-0') && f.stdoutText.includes('vm-102-disk-0'));
    expect(listing).toBeDefined();
    const byName = Object.fromEntries(parseDatasetList(listing!.stdoutText).map((r) => [r.name, r]));
    expect(byName['stowzcap/cap']).toMatchObject({ type: 'filesystem', refquota: undefined, origin: undefined });
    expect(byName['stowzcap/cap/vm-104-disk-0']).toMatchObject({ type: 'volume', volsize: 1048576, origin: 'stowzcap/cap/base-103-disk-0@__base__' });
    expect(byName['stowzcap/cap/vm-102-disk-0']).toMatchObject({ origin: 'stowzcap/cap/vm-100-disk-0@s2' });
    expect(byName['stowzcap/cap/base-103-disk-0']).toMatchObject({ volsize: 1048576, refquota: undefined });
  });

  it('reads a subvol quota', () => {
    const listing = datasetListings().find((f) => f.file === 'subvol.json' && f.stdoutText.includes('subvol-200-disk-0\tfilesystem'));
    const record = parseDatasetList(listing!.stdoutText).find((r) => r.name.endsWith('/subvol-200-disk-0'));
    expect(record).toMatchObject({ type: 'filesystem', volsize: undefined });
    expect([4 * 1024 * 1024, 8 * 1024 * 1024]).toContain(record!.refquota);
  });
});

describe('parseSnapshotList on captured listings', () => {
  it('parses every captured listing, oldest first', () => {
    expect(snapshotListings().length).toBeGreaterThan(5);
    for (const f of snapshotListings()) {
      const snaps = parseSnapshotList(f.stdoutText);
      const txgs = snaps.map((s) => s.createtxg!);
      expect([...txgs].sort((a, b) => a - b), f.argv.join(' ')).toEqual(txgs);
      for (const s of snaps) {
        expect(s.name).toBe(`${f.argv.at(-1)}@${s.snapshot}`);
        expect(s.guid).toMatch(/^[0-9]+$/);
        expect(BigInt(s.guid) > 0n).toBe(true);
      }
    }
  });

  it('keeps 64-bit guids exact and lists dependent clones', () => {
    const f = snapshotListings().find((x) => x.file === 'lifecycle.json' && x.stdoutText.includes('vm-101-disk-0'));
    const snaps = parseSnapshotList(f!.stdoutText);
    const line = f!.stdoutText.split('\n').find((l) => l.includes('@s2'))!;
    expect(snaps.find((s) => s.snapshot === 's2')).toMatchObject({ guid: line.split('\t')[1], clones: ['stowzcap/cap/vm-101-disk-0'] });
    expect(snaps.find((s) => s.snapshot === 's1')?.clones).toEqual([]);
  });

  it('reads an empty listing (a volume without snapshots) as none', () => {
    expect(snapshotListings().some((f) => f.stdoutText === '')).toBe(true);
    expect(parseSnapshotList('')).toEqual([]);
  });
});

describe('zfs get parsers on captured output', () => {
  it('reads the pool usage', () => {
    const gets = withPrefix(all, 'zfs', 'get').filter((f) => f.argv.includes('available,used') && f.exitCode === 0);
    expect(gets.length).toBeGreaterThan(0);
    for (const f of gets) {
      const u = parsePoolUsage(f.stdoutText);
      expect(u.total).toBe(u.available + u.used);
      expect(u.available).toBeGreaterThan(0);
    }
  });

  it('reads values in the order asked, "-" for an unset user property', () => {
    const f = all.find((x) => x.argv.includes('mounted,refquota,pve-storage:refquota'))!;
    expect(parsePropertyValues(f.stdoutText, 3)).toEqual(['yes', '1048576', '-']);
  });
});

describe('parsers refuse what they do not expect', () => {
  const corrupt = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return isStorageError(e, 'CORRUPT');
    }
    return false;
  };
  it('refuses a line with a missing field, a bad number, a bad guid, a non-snapshot', () => {
    expect(corrupt(() => parseDatasetList('tank/a\tvolume\t1\t-\t-\t1\n'))).toBe(true);
    expect(corrupt(() => parseDatasetList('tank/a\tvolume\t1.5G\t-\t-\t1\t1\n'))).toBe(true);
    expect(corrupt(() => parseSnapshotList('tank/a@s\tx\t1\t1\t-\n'))).toBe(true);
    expect(corrupt(() => parseSnapshotList('tank/a\t1\t1\t1\t-\n'))).toBe(true);
    expect(corrupt(() => parsePropertyValues('1\n', 2))).toBe(true);
    expect(corrupt(() => parseNumber('99999999999999999999', 'x'))).toBe(true);
  });
  it('reads "-", "none" and (for quotas) 0 as unset', () => {
    expect(parseNumber('-', 'x')).toBeUndefined();
    expect(parseNumber('none', 'x')).toBeUndefined();
    expect(parseNumber('0', 'x', true)).toBeUndefined();
    expect(parseNumber('0', 'x')).toBe(0);
  });
});
