import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { quoteShellArg, remoteCommand } from '@stowage/core/plugin';

const NASTY = [
  '',
  ' ',
  'plain',
  "it's",
  "''",
  "'",
  '"double"',
  'a b\tc',
  'line1\nline2\n',
  '\n',
  '$HOME',
  '${PATH}',
  '$(id)',
  '`id`',
  'a;b',
  'a&&b||c',
  'a|b',
  '>out <in 2>&1',
  '*',
  '?',
  '[a-z]*',
  '~',
  '~root',
  '#comment',
  'back\\slash\\',
  '\\\'',
  '!event',
  'x=1',
  '-rf',
  '--',
  'ünïcødé ✓',
  '\u0001\u007f',
  "'; rm -rf / #",
];

/** Runs `printf '%s\0' <words>` in a real shell and returns the words it received. */
function throughShell(shell: string, command: string): string[] {
  const out = execFileSync(shell, ['-c', command], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: '/nonexistent' } });
  return out.split('\0').slice(0, -1);
}

const shells = ['/bin/sh', '/bin/dash', '/bin/bash'].filter((s) => existsSync(s));

describe('quoteShellArg', () => {
  it('wraps in single quotes and escapes embedded single quotes', () => {
    expect(quoteShellArg('plain')).toBe("'plain'");
    expect(quoteShellArg('')).toBe("''");
    expect(quoteShellArg("it's")).toBe("'it'\\''s'");
    expect(quoteShellArg("'")).toBe("''\\'''");
    expect(quoteShellArg('a\nb')).toBe("'a\nb'");
  });

  it('rejects NUL, which no shell word can carry', () => {
    expect(() => quoteShellArg('a\0b')).toThrow(TypeError);
  });

  for (const shell of shells) {
    it(`round-trips every argument byte for byte through ${shell}`, () => {
      const command = ['printf', "'%s\\0'", ...NASTY.map(quoteShellArg)].join(' ');
      expect(throughShell(shell, command)).toEqual(NASTY);
    });

    it(`keeps each argument one word in ${shell}, one at a time`, () => {
      for (const arg of NASTY) {
        expect(throughShell(shell, `printf '%s\\0' ${quoteShellArg(arg)}`)).toEqual([arg]);
      }
    });
  }
});

describe('remoteCommand', () => {
  it('prefixes exec env LC_ALL=C and quotes every word', () => {
    expect(remoteCommand(['lvs', '--options', 'lv_name,lv_size'])).toBe("exec env 'LC_ALL=C' 'lvs' '--options' 'lv_name,lv_size'");
  });

  it('adds extra variables after LC_ALL=C, quoted, and never lets one replace LC_ALL', () => {
    expect(remoteCommand(['true'], { ZFS_COLOR: '0', LC_ALL: 'de_DE.UTF-8', A: "x y'z" })).toBe(
      "exec env 'LC_ALL=C' 'ZFS_COLOR=0' 'A=x y'\\''z' 'true'",
    );
  });

  for (const shell of shells) {
    it(`runs the argv exactly, with LC_ALL=C, in ${shell}`, () => {
      const words = throughShell(shell, remoteCommand(['sh', '-c', 'printf "%s\\0" "$LC_ALL" "$FOO" "$@"', 'sh', ...NASTY], { FOO: '$(id) ; x' }));
      expect(words).toEqual(['C', '$(id) ; x', ...NASTY]);
    });
  }

  it('refuses a program name env would misread, bad variable names and NUL, with INVALID_ARGUMENT', () => {
    const code = (fn: () => unknown): string | undefined => {
      try {
        fn();
      } catch (e) {
        return isStorageError(e) ? e.code : 'not a StorageError';
      }
      return undefined;
    };
    expect(code(() => remoteCommand(['-i', 'sh']))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['FOO=bar', 'sh']))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['']))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand([]))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['true'], { 'A B': 'x' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['true'], { '1A': 'x' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['echo', 'a\0b']))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['true'], { A: 'a\0b' }))).toBe('INVALID_ARGUMENT');
    expect(code(() => remoteCommand(['echo', '-n', 'x=y']))).toBeUndefined();
  });
});
