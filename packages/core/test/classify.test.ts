import { describe, expect, it } from 'vitest';
import { abortedError, classifyCommandError, defineFailureClassifier, firstStderrLine } from '../src/plugin.js';
import { CommandError, isStorageError, StorageError } from '../src/index.js';

const failed = (stderr: string) => new CommandError('command failed', { argv: ['tool', 'x'], exitCode: 1, stderr });

describe('classifyCommandError', () => {
  it('re-codes by the first matching rule and keeps the facts', () => {
    const e = failed('ERROR: No space left on device');
    const c = classifyCommandError(e, [
      [/File exists/, 'ALREADY_EXISTS'],
      [/No space left/, 'NO_SPACE'],
    ]) as CommandError;
    expect(isStorageError(c, 'NO_SPACE')).toBe(true);
    expect(c.argv).toEqual(['tool', 'x']);
    expect(c.exitCode).toBe(1);
    expect(c.cause).toBe(e);
  });
  it('leaves anything else alone', () => {
    const e = failed('something else');
    expect(classifyCommandError(e, [[/No space/, 'NO_SPACE']])).toBe(e);
    const other = new StorageError('TIMEOUT', 't');
    expect(classifyCommandError(other, [[/./, 'NO_SPACE']])).toBe(other);
    const plain = new Error('x');
    expect(classifyCommandError(plain, [[/./, 'NO_SPACE']])).toBe(plain);
  });
});

describe('defineFailureClassifier', () => {
  const failures = defineFailureClassifier([
    [/No space left/i, 'NO_SPACE'],
    [/File exists/i, 'ALREADY_EXISTS'],
  ]);

  it('gives the code of the first matching rule, and re-codes a failed command keeping its facts', () => {
    expect(failures.codeOf('write: No space left on device')).toBe('NO_SPACE');
    expect(failures.codeOf('all is well')).toBeUndefined();
    const e = failed('mkdir: File exists');
    const c = failures.classify(e) as CommandError;
    expect(c.code).toBe('ALREADY_EXISTS');
    expect(c.argv).toEqual(['tool', 'x']);
    expect(c.cause).toBe(e);
    const odd = failed('odd');
    expect(failures.classify(odd)).toBe(odd);
  });

  it('leaves alone what is not a COMMAND_FAILED command error', () => {
    const other = new StorageError('NOT_FOUND', 'x');
    expect(failures.classify(other)).toBe(other);
    const plain = new Error('No space left');
    expect(failures.classify(plain)).toBe(plain);
  });
});

describe('defineFailureClassifier with failure names, a message and facts', () => {
  const failures = defineFailureClassifier(
    [
      [/is busy/, 'BUSY', 'busy'],
      [/has dependent clones/, 'IN_USE', 'clones'],
      [/odd but known/, 'INVALID_ARGUMENT'],
    ],
    {
      message: (e) => `${e.argv[0]}: ${firstStderrLine(e.stderr, /^Warning:/)}`,
      facts: (stderr) => ({ listed: stderr.split('\n').slice(1).filter((l) => l !== '') }),
    },
  );

  it('names the failure in details, with the facts, the given details and the original ones', () => {
    const e = new CommandError('command failed', { argv: ['zfs', 'destroy'], exitCode: 1, stderr: "Warning: x\ncannot destroy: has dependent clones\ntank/b\n", details: { injected: false } });
    const c = failures.classify(e, { pool: 'tank' }) as CommandError;
    expect(c.code).toBe('IN_USE');
    expect(c.message).toBe('zfs: cannot destroy: has dependent clones');
    expect(c.details).toMatchObject({ failure: 'clones', listed: ['cannot destroy: has dependent clones', 'tank/b'], pool: 'tank', injected: false, argv: ['zfs', 'destroy'] });
    expect(failures.failureOf(c)).toBe('clones');
    expect(failures.failureIn('x is busy')).toBe('busy');
    expect(failures.failureIn('odd but known')).toBeUndefined();
    expect(failures.failureOf(new Error('is busy'))).toBeUndefined();
  });

  it('adds details to an error it re-coded before, and to one no rule matches', () => {
    const busy = failures.classify(failed('it is busy'), { pool: 'tank' }) as CommandError;
    const again = failures.classify(busy, { attempts: 4 }) as CommandError;
    expect(again.code).toBe('BUSY');
    expect(again.details).toMatchObject({ failure: 'busy', pool: 'tank', attempts: 4 });
    const odd = failed('something new');
    const withFacts = failures.classify(odd, { pool: 'tank' }) as CommandError;
    expect(withFacts.code).toBe('COMMAND_FAILED');
    expect(withFacts.message).toBe(odd.message);
    expect(withFacts.details).toMatchObject({ pool: 'tank', exitCode: 1 });
    expect(failures.classify(odd)).toBe(odd);
  });

  it('leaves a command error of another code alone, whatever its stderr says', () => {
    const aborted = abortedError(['zfs', 'destroy'], undefined, 'dataset is busy');
    expect(failures.classify(aborted, { pool: 'tank' })).toBe(aborted);
  });
});

describe('firstStderrLine', () => {
  it('gives the first line that is neither empty nor a warning', () => {
    expect(firstStderrLine('  WARNING: a\n\n  Volume group "pve" not found\n', /^WARNING:/)).toBe('Volume group "pve" not found');
    expect(firstStderrLine('WARNING: only this\n', /^WARNING:/)).toBe('failed');
  });
});
