/**
 * The command's memo of validated storage configs (`@stowage/core`'s `ConfigMemo`), kept in a
 * file between runs: a command that reads a `storage.cfg` whose sections it validated before
 * takes their validated configs from here, and the built-in plugins' schemas (and zod) are not
 * loaded at all. Scripts call the command in loops; most of them never change the configuration.
 *
 * What makes a record usable:
 * - it was made under the same build stamp: the binary passes the stamps of the bundle it runs
 *   from (each bundled package's version and build), and the zod version; any rebuild or upgrade
 *   starts an empty memo;
 * - its section is exactly the same: same type, id, options and values, as read from the file;
 * - its type is provided by a built-in plugin (the bundle's own code); a third-party plugin's
 *   sections are validated every time;
 * - the file is the user's own: a regular file (not a symlink), owned by the user running the
 *   command, that no one else may write. Any other file is not read, and not replaced.
 *
 * The file is `$XDG_CACHE_HOME/stowage/config-memo.json` (`~/.cache/stowage/...` without it);
 * `STOWAGE_CONFIG_MEMO=0` turns the memo off. It holds up to {@link MEMO_ENTRIES} sections, the
 * ones of the last run that validated something first. Only a run that validated something
 * writes it. A failed read starts empty, and a failed write is not an error (the command
 * validates again next time).
 *
 * @module
 */
import { constants, closeSync, fstatSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { ConfigMemo, StorageConfig } from '@stowage/core';

/** How many sections the memo keeps. */
export const MEMO_ENTRIES = 64;

/** The memo file's contents. */
interface MemoFile {
  /** The build stamp its records were made under. */
  readonly stamp: string;
  /** Section key (its raw config as JSON) and validated config, the ones of the last writing run first. */
  readonly entries: ReadonlyArray<readonly [string, StorageConfig]>;
}

/** A {@link ConfigMemo} kept in a file. */
export interface FileConfigMemo extends ConfigMemo {
  /** Writes the file when this run recorded something new; never throws. */
  save(): void;
}

/**
 * Where the memo is: under `$XDG_CACHE_HOME` (when absolute), else `$HOME/.cache`; `undefined` when
 * it is off (`STOWAGE_CONFIG_MEMO=0`) or neither gives an absolute directory.
 */
export function configMemoPath(env: Readonly<Record<string, string | undefined>>): string | undefined {
  if (env['STOWAGE_CONFIG_MEMO'] === '0') return undefined;
  // a relative XDG_CACHE_HOME is ignored, as the XDG base directory rules say
  const xdg = env['XDG_CACHE_HOME']?.startsWith('/') ? env['XDG_CACHE_HOME'] : undefined;
  const cache = xdg ?? (env['HOME']?.startsWith('/') ? join(env['HOME'], '.cache') : undefined);
  return cache === undefined ? undefined : join(cache, 'stowage', 'config-memo.json');
}

/** Whether a file may be trusted: a regular file of this user that no one else may write. */
function ownFile(st: { isFile(): boolean; uid: number; mode: number }): boolean {
  const uid = process.geteuid?.();
  return st.isFile() && (uid === undefined || st.uid === uid) && (st.mode & 0o022) === 0;
}

/**
 * Opens the memo file for reading when it may be trusted ({@link ownFile}; a symlink is not
 * followed). `absent` when there is none, `foreign` when it is there but not the user's own (or
 * cannot be opened).
 */
function openOwnFile(file: string): number | 'absent' | 'foreign' {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'absent' : 'foreign';
  }
  try {
    if (ownFile(fstatSync(fd))) return fd;
  } catch {
    // an fstat that fails: not trusted
  }
  closeSync(fd);
  return 'foreign';
}

/** Reads the memo's records, or none: a missing, unreadable, foreign or malformed file, or another stamp. */
function readRecords(file: string, stamp: string): Map<string, StorageConfig> {
  const fd = openOwnFile(file);
  if (typeof fd !== 'number') return new Map();
  try {
    const parsed = JSON.parse(readFileSync(fd, 'utf8')) as Partial<MemoFile>;
    if (parsed.stamp !== stamp || !Array.isArray(parsed.entries)) return new Map();
    return new Map(parsed.entries.filter((e): e is [string, StorageConfig] => Array.isArray(e) && typeof e[0] === 'string' && typeof e[1] === 'object' && e[1] !== null));
  } catch {
    return new Map();
  } finally {
    closeSync(fd);
  }
}

/**
 * Opens the memo at `file`, for records made under `stamp`, answering for sections of `types`.
 *
 * @param options - the file, the build stamp, and the storage types whose sections it may answer for
 * @returns the memo; call `save()` when the command is done
 * @example
 * ```ts
 * const memo = openConfigMemo({ file: configMemoPath(process.env)!, stamp, types: new Set(['dir']) });
 * const manager = await StorageManager.open({ plugins, configFile, configMemo: memo });
 * // ...
 * memo.save();
 * ```
 */
export function openConfigMemo(options: { readonly file: string; readonly stamp: string; readonly types: ReadonlySet<string> }): FileConfigMemo {
  const { file, stamp, types } = options;
  let records: Map<string, StorageConfig> | undefined;
  const loaded = (): Map<string, StorageConfig> => (records ??= readRecords(file, stamp));
  const used = new Set<string>();
  let changed = false;
  const keyOf = (raw: Readonly<Record<string, unknown>>): string | undefined => (typeof raw['type'] === 'string' && types.has(raw['type']) ? JSON.stringify(raw) : undefined);
  return {
    recall(raw) {
      const key = keyOf(raw);
      const config = key === undefined ? undefined : loaded().get(key);
      if (key === undefined || config === undefined) return undefined;
      used.add(key);
      return structuredClone(config);
    },
    remember(raw, config) {
      const key = keyOf(raw);
      if (key === undefined) return;
      loaded().set(key, structuredClone(config));
      used.add(key);
      changed = true;
    },
    save() {
      if (!changed || records === undefined) return;
      const all = records;
      const entries = [...used].map((k) => [k, all.get(k)] as const).filter((e): e is readonly [string, StorageConfig] => e[1] !== undefined);
      for (const [k, v] of all) if (entries.length < MEMO_ENTRIES && !used.has(k)) entries.push([k, v]);
      const body: MemoFile = { stamp, entries: entries.slice(0, MEMO_ENTRIES) };
      const temp = `${file}.${process.pid}.new`;
      try {
        mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
        const existing = openOwnFile(file);
        if (existing === 'foreign') return; // someone else's file: left alone
        if (existing !== 'absent') closeSync(existing);
        writeFileSync(temp, `${JSON.stringify(body)}\n`, { mode: 0o600, flag: 'wx' });
        renameSync(temp, file);
      } catch {
        rmSync(temp, { force: true });
      }
    },
  };
}
