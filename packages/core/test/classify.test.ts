import { describe, expect, it } from 'vitest';
import { classifyCommandError, defineFailureClassifier } from '../src/plugin.js';
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
