import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { STORAGE_ERROR_CODES, StorageError } from '@stowage/core';
import { EXIT_CODES, EXIT_UNEXPECTED, EXIT_USAGE, exitCodeFor } from '../src/exit-codes.js';

describe('exit codes', () => {
  it('gives every error code its own number, distinct from 0, 1 and 2', () => {
    const numbers = STORAGE_ERROR_CODES.map((c) => EXIT_CODES[c]);
    expect(new Set(numbers).size).toBe(STORAGE_ERROR_CODES.length);
    for (const n of numbers) expect(n).toBeGreaterThanOrEqual(10);
    expect(numbers.every((n) => n < 126)).toBe(true);
  });
  it('maps a StorageError by its code and anything else to 1', () => {
    expect(exitCodeFor(new StorageError('IN_USE', 'x'))).toBe(EXIT_CODES.IN_USE);
    expect(exitCodeFor(new Error('x'))).toBe(EXIT_UNEXPECTED);
    expect(EXIT_USAGE).toBe(2);
  });
  it('is documented in docs/errors.md with the same numbers', () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    for (const code of STORAGE_ERROR_CODES) {
      expect(doc, code).toMatch(new RegExp(`\\|\\s*\`${code}\`\\s*\\|\\s*${EXIT_CODES[code]}\\s*\\|`));
    }
  });
});
