/**
 * The command's memo of validated configs in a file (src/config-memo.ts), on the real
 * filesystem: records come back only under the same build stamp and for the given types; a
 * file that is not the user's own (group- or world-writable, another owner, a symlink) is neither
 * read nor replaced; a malformed file reads as empty and is replaced; only a run that remembered
 * something writes, keeping this run's sections first up to MEMO_ENTRIES; recall hands out copies.
 */
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageConfig } from '@stowage/core';
import { configMemoPath, MEMO_ENTRIES, openConfigMemo } from '../src/config-memo.js';

const STAMP = '{"zod":"4.0.0","packages":{"core":"1"}}';
const TYPES = new Set(['dir']);

let root: string;
let file: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'stowage-config-memo-'));
  file = join(root, 'cache', 'stowage', 'config-memo.json');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const raw = (id: string, type = 'dir'): Record<string, unknown> => ({ type, storage: id, path: `/srv/${id}`, content: 'images' });
const config = (id: string, type = 'dir'): StorageConfig => ({ type, storage: id, path: `/srv/${id}`, content: ['images'] });
const open = (stamp = STAMP, types: ReadonlySet<string> = TYPES) => openConfigMemo({ file, stamp, types });

/** Writes a memo file for `ids` as a run of this stamp would, then sets its mode. */
function writeMemo(ids: readonly string[], mode = 0o600, stamp = STAMP): string {
  mkdirSync(dirname(file), { recursive: true });
  const text = `${JSON.stringify({ stamp, entries: ids.map((id) => [JSON.stringify(raw(id)), config(id)]) })}\n`;
  writeFileSync(file, text);
  chmodSync(file, mode);
  return text;
}

const keysIn = (path = file): string[] => (JSON.parse(readFileSync(path, 'utf8')) as { entries: Array<[string, unknown]> }).entries.map(([k]) => (JSON.parse(k) as { storage: string }).storage);

describe('openConfigMemo', () => {
  it('round trip: what one run remembers, the next run of the same stamp recalls; the file is 0600', () => {
    const first = open();
    expect(first.recall(raw('local'))).toBeUndefined();
    first.remember(raw('local'), config('local'));
    first.save();
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dirname(file))).toEqual(['config-memo.json']);

    expect(open().recall(raw('local'))).toEqual(config('local'));
    // only exactly the same section
    expect(open().recall({ ...raw('local'), content: 'images,iso' })).toBeUndefined();
    expect(open().recall({ ...raw('local'), path: '/srv/other' })).toBeUndefined();
  });

  it('records made under another stamp are not recalled', () => {
    writeMemo(['local']);
    expect(open().recall(raw('local'))).toEqual(config('local'));
    expect(open('{"zod":"4.0.1","packages":{"core":"1"}}').recall(raw('local'))).toBeUndefined();
  });

  it('a type not in `types` is neither recalled nor remembered', () => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, JSON.stringify({ stamp: STAMP, entries: [[JSON.stringify(raw('fast', 'btrfs')), config('fast', 'btrfs')]] }), { mode: 0o600 });
    const memo = open();
    expect(memo.recall(raw('fast', 'btrfs'))).toBeUndefined();
    memo.remember(raw('slow', 'btrfs'), config('slow', 'btrfs'));
    memo.save();
    expect(open(STAMP, new Set(['btrfs'])).recall(raw('slow', 'btrfs'))).toBeUndefined();
    expect(open(STAMP, new Set(['btrfs'])).recall(raw('fast', 'btrfs'))).toEqual(config('fast', 'btrfs'));
  });

  it.each([
    ['group-writable', 0o620],
    ['world-writable', 0o602],
  ])('a %s file is not read, and not replaced by save', (_what, mode) => {
    const text = writeMemo(['local'], mode);
    const memo = open();
    expect(memo.recall(raw('local'))).toBeUndefined();
    memo.remember(raw('other'), config('other'));
    memo.save();
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(statSync(file).mode & 0o777).toBe(mode);
    expect(readdirSync(dirname(file))).toEqual(['config-memo.json']);
  });

  it.skipIf(process.geteuid?.() !== 0)("another user's file is not read, and not replaced by save", () => {
    const text = writeMemo(['local']);
    chownSync(file, 65534, 65534);
    const memo = open();
    expect(memo.recall(raw('local'))).toBeUndefined();
    memo.remember(raw('other'), config('other'));
    memo.save();
    expect(readFileSync(file, 'utf8')).toBe(text);
    expect(statSync(file).uid).toBe(65534);
  });

  it('a symlink at the path is not followed, and not replaced by save', () => {
    // a perfectly good memo file elsewhere
    const real = join(root, 'elsewhere.json');
    const text = `${JSON.stringify({ stamp: STAMP, entries: [[JSON.stringify(raw('local')), config('local')]] })}\n`;
    writeFileSync(real, text, { mode: 0o600 });
    mkdirSync(dirname(file), { recursive: true });
    symlinkSync(real, file);
    const memo = open();
    expect(memo.recall(raw('local'))).toBeUndefined();
    memo.remember(raw('other'), config('other'));
    memo.save();
    expect(lstatSync(file).isSymbolicLink()).toBe(true);
    expect(readlinkSync(file)).toBe(real);
    expect(readFileSync(real, 'utf8')).toBe(text);
  });

  it.each([
    ['not JSON', '{"stamp": '],
    ['JSON of another form', '{"stamp": "x", "entries": 5}'],
    ['entries of another form', JSON.stringify({ stamp: STAMP, entries: [[1, {}], ['k'], null, 'x'] })],
  ])('a file that is %s reads as empty, and a save replaces it', (_what, text) => {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, text, { mode: 0o600 });
    const memo = open();
    expect(memo.recall(raw('local'))).toBeUndefined();
    memo.remember(raw('local'), config('local'));
    memo.save();
    expect(keysIn()).toEqual(['local']);
    expect(open().recall(raw('local'))).toEqual(config('local'));
  });

  it('a save without anything remembered writes nothing: no file, or the file untouched', () => {
    const none = open();
    expect(none.recall(raw('local'))).toBeUndefined();
    none.save();
    expect(existsSync(file)).toBe(false);
    expect(existsSync(dirname(file))).toBe(false);

    const text = writeMemo(['local']);
    const past = new Date(Date.now() - 3600_000);
    utimesSync(file, past, past);
    const before = statSync(file);
    const memo = open();
    expect(memo.recall(raw('local'))).toEqual(config('local'));
    expect(memo.recall(raw('unknown'))).toBeUndefined();
    memo.save();
    const after = statSync(file);
    expect(after.mtimeMs).toBe(before.mtimeMs);
    expect(after.ino).toBe(before.ino);
    expect(readFileSync(file, 'utf8')).toBe(text);
  });

  it(`keeps at most MEMO_ENTRIES (${MEMO_ENTRIES}) sections, this run's first`, () => {
    const old = Array.from({ length: MEMO_ENTRIES }, (_, i) => `old${i}`);
    writeMemo(old);
    const memo = open();
    expect(memo.recall(raw('old5'))).toEqual(config('old5'));
    memo.remember(raw('new1'), config('new1'));
    memo.remember(raw('new2'), config('new2'));
    memo.save();
    const kept = keysIn();
    expect(kept).toHaveLength(MEMO_ENTRIES);
    expect(kept.slice(0, 3)).toEqual(['old5', 'new1', 'new2']);
    // the others in their order, the last ones dropped
    expect(kept.slice(3)).toEqual(old.filter((id) => id !== 'old5').slice(0, MEMO_ENTRIES - 3));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('recall hands out a fresh copy, and remember keeps its own', () => {
    writeMemo(['local']);
    const memo = open();
    const got = memo.recall(raw('local'))!;
    (got['content'] as string[]).push('iso');
    got['path'] = '/elsewhere';
    expect(memo.recall(raw('local'))).toEqual(config('local'));

    const given = config('other');
    memo.remember(raw('other'), given);
    (given['content'] as string[]).push('iso');
    expect(memo.recall(raw('other'))).toEqual(config('other'));
    memo.save();
    expect(open().recall(raw('other'))).toEqual(config('other'));
  });
});

describe('configMemoPath', () => {
  it.each([
    [{ XDG_CACHE_HOME: '/c', HOME: '/h' }, '/c/stowage/config-memo.json'],
    [{ HOME: '/h' }, '/h/.cache/stowage/config-memo.json'],
    [{ XDG_CACHE_HOME: '', HOME: '/h' }, '/h/.cache/stowage/config-memo.json'],
    [{ XDG_CACHE_HOME: '/c', STOWAGE_CONFIG_MEMO: '1' }, '/c/stowage/config-memo.json'],
    [{ XDG_CACHE_HOME: '/c', HOME: '/h', STOWAGE_CONFIG_MEMO: '0' }, undefined],
    [{ XDG_CACHE_HOME: 'relative/cache', HOME: '/h' }, '/h/.cache/stowage/config-memo.json'],
    [{ XDG_CACHE_HOME: 'relative/cache' }, undefined],
    [{ HOME: 'relative' }, undefined],
    [{}, undefined],
  ])('%j → %s', (env, expected) => {
    expect(configMemoPath(env)).toBe(expected);
  });
});
