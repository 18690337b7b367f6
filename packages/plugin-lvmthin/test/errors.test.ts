/**
 * Error classification on the standard error that the real LVM tools printed in the testbed
 * guest (fixtures captured by `capture.ts` and by `pnpm testbed capture`).
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CommandError, isStorageError } from '@stowage/core';
import { loadFixtures, type CommandFixture } from '@stowage/core/testing';
import { describe, expect, it } from 'vitest';
import { classifyLvmError, classifyLvmStderr, LVM_FAILURE_CODES, type LvmFailure } from '../src/errors.js';
import { FIXTURES_DIR } from './capture.js';

async function failures(file: string): Promise<CommandFixture[]> {
  return (await loadFixtures(join(FIXTURES_DIR, file))).filter((f) => f.exitCode !== 0);
}

/** Each captured failure and what it must be classified as. */
const CASES: ReadonlyArray<readonly [file: string, program: string, failure: LvmFailure]> = [
  ['lvcreate-exists.json', 'lvcreate', 'exists'],
  ['lvcreate-snapshot-exists.json', 'lvcreate', 'exists'],
  ['lvrename-exists.json', 'lvrename', 'exists'],
  ['lvcreate-missing-vg.json', 'lvcreate', 'vg-missing'],
  ['lvs-missing-vg.json', 'lvs', 'vg-missing'],
  ['lvs-missing-vg.json', 'vgs', 'vg-missing'],
  ['vg-missing.json', 'lvs', 'vg-missing'],
  ['vg-missing.json', 'lvcreate', 'vg-missing'],
  ['lvcreate-missing-pool.json', 'lvcreate', 'pool-missing'],
  ['lvremove-missing.json', 'lvremove', 'lv-missing'],
  ['lvrename-missing.json', 'lvrename', 'lv-missing'],
  ['lvs-size.json', 'lvs', 'lv-missing'],
  ['lvremove-busy.json', 'lvremove', 'busy'],
  ['busy.json', 'lvremove', 'busy'],
  ['busy.json', 'lvchange', 'busy'],
  ['lvcreate-pool-full.json', 'lvcreate', 'pool-full'],
  ['pool-full.json', 'lvcreate', 'pool-full'],
  ['metadata-full.json', 'lvcreate', 'pool-full'],
  ['lvcreate-vg-full.json', 'lvcreate', 'vg-full'],
  ['lvextend-smaller.json', 'lvextend', 'shrink'],
];

describe('classifyLvmStderr on captured stderr', () => {
  it.each(CASES)('%s: %s -> %s', async (file, program, failure) => {
    const fixtures = (await failures(file)).filter((f) => f.argv[0] === program);
    expect(fixtures.length, `${file} has a failed ${program}`).toBeGreaterThan(0);
    for (const f of fixtures) expect(classifyLvmStderr(f.stderr)).toBe(failure);
  });

  it('knows every failed command in every fixture', async () => {
    const files = readdirSync(FIXTURES_DIR).filter((f) => f.endsWith('.json') && !f.endsWith('.outcomes.json'));
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      for (const f of await failures(file)) expect(classifyLvmStderr(f.stderr), `${file}: ${f.stderr}`).toBeDefined();
    }
  });

  it('leaves unknown messages alone', () => {
    expect(classifyLvmStderr('')).toBeUndefined();
    expect(classifyLvmStderr('  Internal error: something new\n')).toBeUndefined();
  });
});

describe('classifyLvmError', () => {
  it('turns a failed command into a CommandError with the stable code, keeping argv and stderr', async () => {
    const [f] = (await failures('lvcreate-pool-full.json')).filter((x) => x.argv[0] === 'lvcreate');
    const original = new CommandError('lvcreate failed', { argv: f!.argv, exitCode: f!.exitCode, stderr: f!.stderr });
    const e = classifyLvmError(original, { pool: { dataPercent: 100 } });
    expect(isStorageError(e, 'NO_SPACE')).toBe(true);
    const c = e as CommandError;
    expect(c.argv).toEqual(f!.argv);
    expect(c.stderr).toBe(f!.stderr);
    expect(c.cause).toBe(original);
    expect(c.details).toMatchObject({ failure: 'pool-full', pool: { dataPercent: 100 } });
    expect(c.message).toContain('reached threshold');
  });

  it('keeps unclassified failures and other errors as they are', () => {
    const plain = new CommandError('x failed', { argv: ['x'], exitCode: 1, stderr: 'weird' });
    expect(classifyLvmError(plain)).toBe(plain);
    const other = new Error('boom');
    expect(classifyLvmError(other)).toBe(other);
  });

  it('maps every failure to a code', () => {
    expect(LVM_FAILURE_CODES).toMatchObject({ 'vg-missing': 'NOT_FOUND', exists: 'ALREADY_EXISTS', busy: 'BUSY', 'pool-full': 'NO_SPACE', shrink: 'CANNOT_SHRINK' });
  });
});
