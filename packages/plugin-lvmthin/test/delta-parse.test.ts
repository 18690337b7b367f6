/**
 * The parsers of `thin_delta`, `thin_dump` and `dmsetup status`, and the ranges computed from
 * them, on the output the real tools printed in the testbed guest (`capture-delta.ts`); and the
 * metadata snapshot's failures classified from the real messages.
 */
import { join } from 'node:path';
import { loadFixtures, type CommandFixture } from '@stowage/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { metadataSnapArgs, thinDeltaArgs, thinDumpArgs, tpoolStatusArgs } from '../src/delta-commands.js';
import { fullRanges, incrementRanges, parseHeldMetadataRoot, parseThinDelta, parseThinDump } from '../src/delta-parse.js';
import { classifyLvmStderr } from '../src/errors.js';
import { FIXTURES_DIR } from './capture.js';

const KiB = 1024;
const BLOCK = 64 * KiB;
const VG = 'stow-delta';
const POOL = 'pool';
let runs: CommandFixture[] = [];

function text(f: CommandFixture | undefined): string {
  if (f === undefined) throw new Error('no such captured run');
  return typeof f.stdout === 'string' ? f.stdout : Buffer.from(f.stdout.base64, 'base64').toString('utf8');
}

/** The captured runs of one argv, in order. */
function of(argv: readonly string[]): CommandFixture[] {
  return runs.filter((f) => JSON.stringify(f.argv) === JSON.stringify(argv));
}

beforeAll(async () => {
  runs = await loadFixtures(join(FIXTURES_DIR, 'thin-tools', 'delta.json'));
});

describe('parseThinDelta', () => {
  it('reads the runs between s1 (thin id 2) and s2 (3): block 2 rewritten, 9 discarded, 12 new', () => {
    const delta = parseThinDelta(text(of(thinDeltaArgs(VG, POOL, 2, 3)).find((f) => f.exitCode === 0)));
    expect(delta).toEqual({
      blockSize: BLOCK,
      left: 2,
      right: 3,
      runs: [
        { kind: 'different', begin: 2, length: 1 },
        { kind: 'left_only', begin: 9, length: 1 },
        { kind: 'right_only', begin: 12, length: 1 },
      ],
    });
    expect(incrementRanges(delta, 1024 * KiB)).toEqual([
      { kind: 'data', offset: 2 * BLOCK, length: BLOCK },
      { kind: 'zero', offset: 9 * BLOCK, length: BLOCK },
      { kind: 'data', offset: 12 * BLOCK, length: BLOCK },
    ]);
  });

  it('merges touching runs, skips same ones, and cuts at the volume size', () => {
    const delta = parseThinDelta(`<superblock uuid="" time="2" transaction="3" data_block_size="128" nr_data_blocks="0">
  <diff left="2" right="3">
    <left_only begin="160" length="2"/>
    <same begin="162" length="38"/>
    <different begin="200" length="8"/>
    <right_only begin="208" length="8"/>
  </diff>
</superblock>`);
    expect(incrementRanges(delta, 210 * BLOCK + 100)).toEqual([
      { kind: 'zero', offset: 160 * BLOCK, length: 2 * BLOCK },
      { kind: 'data', offset: 200 * BLOCK, length: 10 * BLOCK + 100 },
    ]);
  });

  it('is CORRUPT on output that is not a diff (the usage text of a failed run, verbose output)', () => {
    const failed = of(thinDeltaArgs(VG, POOL, 2, 3)).find((f) => f.exitCode !== 0)!;
    expect(failed.stderr).toContain('no current metadata snap');
    for (const out of [failed.stderr, '<superblock data_block_size="128"><diff left="2" right="3"><same><range begin="1" data_begin="2" length="3"/></same></diff></superblock>']) {
      expect(() => parseThinDelta(out)).toThrow(expect.objectContaining({ code: 'CORRUPT' }) as Error);
    }
  });
});

describe('parseThinDump', () => {
  it('reads the mapped blocks of s1 and s2, and finds no device 999', () => {
    const s1 = parseThinDump(text(of(thinDumpArgs(VG, POOL, 2))[0]), 2);
    expect(s1).toEqual({ blockSize: BLOCK, mapped: [{ begin: 2, length: 1 }, { begin: 9, length: 1 }] });
    expect(fullRanges({ ...s1, mapped: s1.mapped! }, 1024 * KiB)).toEqual([
      { kind: 'data', offset: 2 * BLOCK, length: BLOCK },
      { kind: 'data', offset: 9 * BLOCK, length: BLOCK },
    ]);
    expect(parseThinDump(text(of(thinDumpArgs(VG, POOL, 3))[0]), 3).mapped).toEqual([{ begin: 2, length: 1 }, { begin: 12, length: 1 }]);
    expect(parseThinDump(text(of(thinDumpArgs(VG, POOL, 999))[0]), 999)).toEqual({ blockSize: BLOCK, mapped: undefined });
  });

  it('reads range mappings and merges touching runs', () => {
    const dump = parseThinDump(`<superblock data_block_size="128">
  <device dev_id="3" mapped_blocks="54">
    <range_mapping origin_begin="162" data_begin="2" length="38" time="0"/>
    <single_mapping origin_block="200" data_block="48" time="1"/>
  </device>
  <device dev_id="4" mapped_blocks="1"><single_mapping origin_block="0" data_block="1" time="1"/></device>
</superblock>`, 3);
    expect(dump.mapped).toEqual([{ begin: 162, length: 38 }, { begin: 200, length: 1 }]);
    expect(fullRanges({ ...dump, mapped: dump.mapped! }, 1024 * BLOCK)).toEqual([{ kind: 'data', offset: 162 * BLOCK, length: 39 * BLOCK }]);
  });
});

describe('the metadata snapshot', () => {
  it('reads the held root from dmsetup status: none before the reserve, a block after it', () => {
    const [before, after] = of(tpoolStatusArgs(VG, POOL)).map(text);
    expect(parseHeldMetadataRoot(before!)).toBeUndefined();
    expect(parseHeldMetadataRoot(after!)).toEqual(expect.any(Number));
    expect(() => parseHeldMetadataRoot('0 2048 linear 8:0 0')).toThrow(expect.objectContaining({ code: 'CORRUPT' }) as Error);
  });

  it('classifies a second reserve as busy (the plugin tries again, then BUSY), a release of none is no busy', () => {
    const [first, second] = of(metadataSnapArgs(VG, POOL, 'reserve_metadata_snap'));
    expect(first!.exitCode).toBe(0);
    expect(second!.exitCode).not.toBe(0);
    expect(classifyLvmStderr(second!.stderr)).toBe('busy');
    const [, none] = of(metadataSnapArgs(VG, POOL, 'release_metadata_snap'));
    expect(none!.exitCode).not.toBe(0);
    expect(classifyLvmStderr(none!.stderr)).toBeUndefined();
  });
});
