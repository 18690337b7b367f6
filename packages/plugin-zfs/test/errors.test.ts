/**
 * Classification of what the real ZFS tools print on failure (`fixtures/scenarios`, including
 * `tool-errors.json`, commands the plugin's own checks keep it from running into).
 */
import { CommandError, isStorageError, StorageError } from '@stowage/core';
import { exitCodeError } from '@stowage/core/plugin';
import { beforeAll, describe, expect, it } from 'vitest';
import { classifyZfsError, classifyZfsStderr, listedDatasets, zfsFailureOf, ZFS_FAILURE_CODES, type ZfsFailure } from '../src/errors.js';
import { allRecorded, type Recorded } from './support/fixtures.js';

let all: Recorded[] = [];
beforeAll(async () => {
  all = await allRecorded();
});

const failures = () => all.filter((f) => f.exitCode !== 0 && f.argv[0] !== 'test');
const find = (needle: string) => {
  const f = failures().find((x) => x.stderr.includes(needle));
  if (!f) throw new Error(`no captured failure prints '${needle}'`);
  return f;
};

describe('classifyZfsStderr on captured failures', () => {
  it('classifies every failure the tools printed', () => {
    const unclassified = failures().filter((f) => classifyZfsStderr(f.stderr) === undefined).map((f) => `${f.argv.join(' ')}: ${f.stderr}`);
    expect(failures().length).toBeGreaterThan(30);
    expect(unclassified).toEqual([]);
  });

  it.each<[string, ZfsFailure]>([
    ['dataset is busy', 'busy'],
    ['dataset already exists', 'exists'],
    ['dataset does not exist', 'missing'],
    ['could not find any snapshots to destroy', 'missing'],
    ["no such pool\n", 'pool-missing'],
    ['no such pool available', 'pool-missing'],
    ['parent does not exist', 'parent-missing'],
    ['parent is not a filesystem', 'bad-parent'],
    ['out of space', 'no-space'],
    ['size is greater than available space', 'no-space'],
    ['more recent snapshots or bookmarks exist', 'not-latest'],
    ['snapshot has dependent clones', 'dependent-clones'],
    ['volume has dependent clones', 'dependent-clones'],
    ['clones of previous snapshots exist', 'dependent-clones'],
    ['size is less than current used or reserved space', 'below-used'],
    ["must be power of 2", 'bad-size'],
    ['must be a multiple of volume block size', 'bad-size'],
    ['incomplete stream', 'bad-stream'],
    ['bad magic number', 'bad-stream'],
    ['not currently mounted', 'not-mounted'],
    ['filesystem already mounted', 'mounted'],
  ])('%j is %s', (needle, failure) => {
    const f = needle.endsWith('\n') ? failures().find((x) => x.stderr.trimEnd().endsWith(needle.trim()))! : find(needle);
    expect(f, needle).toBeDefined();
    expect(classifyZfsStderr(f.stderr)).toBe(failure);
  });

  it('classifies what zfs destroy printed for a dataset that does not exist (a free of a missing volume) as missing, NOT_FOUND', () => {
    const missing = failures().filter((f) => f.argv[1] === 'destroy' && !f.argv.some((a) => a.includes('@')) && /does not exist/.test(f.stderr));
    expect(missing.length, 'captured zfs destroy of a missing dataset').toBeGreaterThan(0);
    for (const f of missing) {
      expect(f.stderr).toMatch(/^cannot open '[^']+': dataset does not exist\n?$/);
      expect(classifyZfsStderr(f.stderr)).toBe('missing');
      expect(ZFS_FAILURE_CODES.missing).toBe('NOT_FOUND');
    }
  });

  it('reads the datasets listed after the hint', () => {
    expect(listedDatasets(find('more recent snapshots').stderr)).toEqual(['stowzcap/errs/vm-1-disk-0@b']);
    expect(listedDatasets(find('clones of previous snapshots').stderr)).toEqual(['stowzcap/errs/vm-2-disk-0']);
    expect(listedDatasets(find('snapshot has dependent clones').stderr)).toEqual(['stowzcap/cap/vm-101-disk-0']);
    expect(listedDatasets(find('dataset is busy').stderr)).toEqual([]);
  });
});

describe('classifyZfsError', () => {
  it('gives a captured failure its code, failure, listed datasets and extra details', () => {
    const f = find('volume has dependent clones');
    const e = classifyZfsError(exitCodeError({ argv: f.argv, exitCode: f.exitCode, stderr: f.stderr }), { pool: 'stowzcap' });
    expect(isStorageError(e, 'IN_USE')).toBe(true);
    expect(listedDatasets(f.stderr)).toHaveLength(1);
    expect((e as CommandError).details).toMatchObject({ failure: 'dependent-clones', listed: listedDatasets(f.stderr), pool: 'stowzcap', argv: f.argv });
    expect((e as CommandError).cause).toBeInstanceOf(CommandError);
    expect(zfsFailureOf(e)).toBe('dependent-clones');
  });

  it('maps every failure to a stable code', () => {
    for (const f of failures()) {
      const e = classifyZfsError(exitCodeError({ argv: f.argv, exitCode: f.exitCode, stderr: f.stderr })) as CommandError;
      expect(e.code).toBe(ZFS_FAILURE_CODES[classifyZfsStderr(f.stderr)!]);
    }
  });

  it('passes through what is not a command failure, and keeps unknown failures COMMAND_FAILED', () => {
    const timeout = new StorageError('TIMEOUT', 'slow');
    expect(classifyZfsError(timeout)).toBe(timeout);
    const odd = exitCodeError({ argv: ['zfs', 'list'], exitCode: 2, stderr: 'internal error: something new' });
    expect(classifyZfsError(odd)).toBe(odd);
    expect((classifyZfsError(odd, { pool: 'p' }) as CommandError).details).toMatchObject({ pool: 'p', exitCode: 2 });
    expect(zfsFailureOf(odd)).toBeUndefined();
    expect(zfsFailureOf(new Error('x'))).toBeUndefined();
  });
});
