/**
 * The argv builders of `lvmthin-delta` transfers, the formats by what a transfer carries, and
 * the two range loops run for real (`sh` and `dd` on a file of this host): what the apply loop
 * writes, the read loop reads back.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { isCommandError } from '@stowage/core';
import { LocalRunner } from '@stowage/core/plugin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyRangeLine,
  applyRangesArgs,
  dmName,
  metadataSnapArgs,
  readRangesArgs,
  readRangesInput,
  thinDeltaArgs,
  thinDumpArgs,
  tmetaPath,
  tpoolStatusArgs,
} from '../src/delta-commands.js';
import type { DeltaRange } from '../src/delta-frame.js';
import { parseLvmThinVolname } from '../src/names.js';
import { exportFormats, importFormats } from '../src/transfer-formats.js';

const KiB = 1024;

describe('delta argv builders', () => {
  it('doubles the dashes of device-mapper names', () => {
    expect(dmName('pve', 'data_tmeta')).toBe('pve-data_tmeta');
    expect(dmName('my-vg', 'thin-pool')).toBe('my--vg-thin--pool');
    expect(tmetaPath('my-vg', 'thin-pool')).toBe('/dev/mapper/my--vg-thin--pool_tmeta');
  });

  it('builds the metadata snapshot messages, the status and the two tools', () => {
    expect(metadataSnapArgs('pve', 'data', 'reserve_metadata_snap')).toEqual(['dmsetup', 'message', 'pve-data-tpool', '0', 'reserve_metadata_snap']);
    expect(metadataSnapArgs('pve', 'data', 'release_metadata_snap')).toEqual(['dmsetup', 'message', 'pve-data-tpool', '0', 'release_metadata_snap']);
    expect(tpoolStatusArgs('pve', 'data')).toEqual(['dmsetup', 'status', 'pve-data-tpool']);
    expect(thinDeltaArgs('pve', 'data', 4, 7)).toEqual(['thin_delta', '--metadata-snap', '--snap1', '4', '--snap2', '7', '/dev/mapper/pve-data_tmeta']);
    expect(thinDumpArgs('pve', 'data', 7)).toEqual(['thin_dump', '--metadata-snap', '--dev-id', '7', '/dev/mapper/pve-data_tmeta']);
  });

  it('passes the device as an argument of the loops, never inside the script', () => {
    const hostile = "/dev/x'; rm -rf /; '";
    for (const argv of [readRangesArgs(hostile), applyRangesArgs(hostile)]) {
      expect(argv.slice(0, 2)).toEqual(['sh', '-c']);
      expect(argv.at(-1)).toBe(hostile);
      expect(argv[2]).not.toContain(hostile);
    }
  });
});

describe('formats by what a transfer carries', () => {
  const volume = parseLvmThinVolname('vm-100-disk-0');
  const base = parseLvmThinVolname('base-100-disk-0');
  it('exports a snapshot as lvmthin-delta first, an increment only so, the volume as raw+size', () => {
    expect(exportFormats({ volume })).toEqual(['raw+size']);
    expect(exportFormats({ volume, snapshot: 's' })).toEqual(['lvmthin-delta', 'raw+size']);
    expect(exportFormats({ volume, snapshot: 's2', baseSnapshot: 's1' })).toEqual(['lvmthin-delta']);
    expect(exportFormats({ volume, baseSnapshot: 's1' })).toEqual([]);
    expect(exportFormats({ volume, withSnapshots: true })).toEqual([]);
    expect(exportFormats({ volume: base, snapshot: 's' })).toEqual([]);
  });
  it('imports raw+size into a new volume, lvmthin-delta when a snapshot or an increment is asked for', () => {
    expect(importFormats({ volume })).toEqual(['raw+size']);
    expect(importFormats({ volume, snapshot: 's' })).toEqual(['lvmthin-delta']);
    expect(importFormats({ volume, snapshot: 's2', baseSnapshot: 's1' })).toEqual(['lvmthin-delta']);
    expect(importFormats({ volume, withSnapshots: true })).toEqual([]);
    expect(importFormats({ volume: base, snapshot: 's' })).toEqual([]);
  });
});

describe('the range loops, run with sh and dd', () => {
  const runner = new LocalRunner();
  let dir = '';
  let file = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-delta-'));
    file = join(dir, 'device');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('writes data and zero ranges at their offsets and reads the data ranges back in order', async () => {
    const before = randomBytes(1024 * KiB);
    await writeFile(file, before);
    const ranges: DeltaRange[] = [
      { kind: 'data', offset: 64 * KiB, length: 100_000 },
      { kind: 'zero', offset: 300 * KiB, length: 70_000 },
      { kind: 'data', offset: 1024 * KiB - 5, length: 5 },
    ];
    const bytes = [randomBytes(100_000), randomBytes(5)];
    const input = [Buffer.from(applyRangeLine(ranges[0]!)), bytes[0]!, Buffer.from(applyRangeLine(ranges[1]!)), Buffer.from(applyRangeLine(ranges[2]!)), bytes[1]!];
    await runner.run(applyRangesArgs(file), { stdin: Readable.from(input) });

    const expected = Buffer.from(before);
    bytes[0]!.copy(expected, 64 * KiB);
    expected.fill(0, 300 * KiB, 300 * KiB + 70_000);
    bytes[1]!.copy(expected, 1024 * KiB - 5);
    expect((await readFile(file)).equals(expected)).toBe(true);

    expect(readRangesInput(ranges)).toBe(`${64 * KiB} 100000\n${1024 * KiB - 5} 5\n`);
    const chunks: Buffer[] = [];
    await runner.run(readRangesArgs(file), { stdin: readRangesInput(ranges), stdout: new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c), cb()) }) });
    expect(Buffer.concat(chunks).equals(Buffer.concat(bytes))).toBe(true);
  });

  it('stops with an error on a line it does not know', async () => {
    await writeFile(file, Buffer.alloc(4096));
    const e = await runner.run(applyRangesArgs(file), { stdin: 'x 0 10\n' }).catch((x: unknown) => x);
    expect(isCommandError(e) && e.exitCode === 2).toBe(true);
  });
});
