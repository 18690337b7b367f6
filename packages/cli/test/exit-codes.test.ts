import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { STORAGE_ERROR_CODES, StorageError } from '@stowage/core';
import { EXIT_CLOSED_PIPE, EXIT_CODES, EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE } from '../src/exit-codes.js';
import { exitCodeFor } from '../src/report.js';

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
  it('keeps the numbers the issue reports and scripts rely on (issue 11, item 13)', () => {
    const named = ['NOT_SUPPORTED', 'NOT_FOUND', 'CONFIG_INVALID', 'COMMAND_FAILED', 'NO_SPACE', 'INTERNAL'] as const;
    expect(Object.fromEntries(named.map((c) => [c, EXIT_CODES[c]]))).toEqual({ NOT_SUPPORTED: 10, NOT_FOUND: 11, CONFIG_INVALID: 16, COMMAND_FAILED: 18, NO_SPACE: 22, INTERNAL: 30 });
    expect(EXIT_UNEXPECTED).toBe(1);
  });
  it("lists every exit status of the command in docs/errors.md's exit-status table, and no other", () => {
    const doc = readFileSync(new URL('../../../docs/errors.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Exit status of the `stowage` command'));
    const rows = [...section.matchAll(/^\| (\d+(?:-\d+)?) \|/gm)].map((m) => m[1]);
    const numbers = Object.values(EXIT_CODES);
    expect(rows).toEqual([EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, `${Math.min(...numbers)}-${Math.max(...numbers)}`, EXIT_CLOSED_PIPE].map(String));
    expect(EXIT_CLOSED_PIPE, 'what a shell shows for a command killed by SIGPIPE').toBe(128 + 13);
  });
});
