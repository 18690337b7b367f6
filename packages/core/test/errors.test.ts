import { describe, expect, it } from 'vitest';
import { CommandError, ConfigError, isCommandError, isStorageError, STORAGE_ERROR_CODES, StorageError } from '../src/index.js';

describe('StorageError', () => {
  it('carries code, details and cause', () => {
    const cause = new Error('low level');
    const e = new StorageError('IN_USE', 'base in use', { cause, details: { clones: ['a:b'] } });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe('StorageError');
    expect(e.code).toBe('IN_USE');
    expect(e.details).toEqual({ clones: ['a:b'] });
    expect(e.cause).toBe(cause);
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'IN_USE', message: 'base in use', details: { clones: ['a:b'] } });
  });
  it('is recognised by brand, with or without a code', () => {
    const e = new StorageError('NOT_FOUND', 'x');
    expect(isStorageError(e)).toBe(true);
    expect(isStorageError(e, 'NOT_FOUND')).toBe(true);
    expect(isStorageError(e, 'IN_USE')).toBe(false);
    expect(isStorageError(new Error('x'))).toBe(false);
    expect(isStorageError({ code: 'NOT_FOUND' })).toBe(false);
    expect(isStorageError(null)).toBe(false);
  });
  it('CommandError keeps argv, exit code and stderr, and may be reclassified', () => {
    const e = new CommandError('lvcreate failed', { argv: ['lvcreate', '-V', '4g'], exitCode: 5, stderr: 'Insufficient free space' }, 'NO_SPACE');
    expect(isCommandError(e)).toBe(true);
    expect(isStorageError(e, 'NO_SPACE')).toBe(true);
    expect(e.name).toBe('CommandError');
    expect(e.details).toMatchObject({ argv: ['lvcreate', '-V', '4g'], exitCode: 5 });
    expect(isCommandError(new StorageError('INTERNAL', 'x'))).toBe(false);
  });
  it('ConfigError lists issues', () => {
    const e = new ConfigError('bad', [{ path: ['local', 'pth'], message: 'unknown key', line: 3 }]);
    expect(e.code).toBe('CONFIG_INVALID');
    expect(e.issues[0]?.line).toBe(3);
  });
  it('has unique codes', () => {
    expect(new Set(STORAGE_ERROR_CODES).size).toBe(STORAGE_ERROR_CODES.length);
  });
});
