/**
 * Pure parsers of the ZFS tools' `-Hp` output: one record per line, fields separated by tabs,
 * numbers exact, `-` for "none".
 *
 * @module
 */
import { StorageError } from '@stowage/core';
import { DATASET_FIELDS, SNAPSHOT_FIELDS } from './commands.js';

/** One dataset of a listing (columns of `DATASET_FIELDS`). */
export interface DatasetRecord {
  /** Full name, `<pool>/<name>`. */
  readonly name: string;
  /** `volume` (zvol), `filesystem`, or what else ZFS reports. */
  readonly type: string;
  /** Size of a zvol in bytes; `undefined` for a file system. */
  readonly volsize: number | undefined;
  /** Quota of a file system in bytes; `undefined` when none is set (or for a zvol). */
  readonly refquota: number | undefined;
  /** The snapshot it was cloned from (`<pool>/<name>@<snap>`), if it is a clone. */
  readonly origin: string | undefined;
  /** Bytes used by the dataset itself (not its snapshots or children). */
  readonly used: number | undefined;
  /** Creation time, seconds since the epoch. */
  readonly creation: number | undefined;
  /** ZFS's unique id of the dataset, as decimal text: its identity, which a rename keeps. */
  readonly guid: string;
  /** The owner token of an unfinished volume (`stowage:incomplete`), `undefined` when whole. */
  readonly incomplete: string | undefined;
  /** The owner token of a flatten under way or left unfinished (`stowage:flatten`), `undefined` when none. */
  readonly flatten: string | undefined;
  /** `true` when the `hidden` attribute is set (`stowage:hidden`). */
  readonly hidden: boolean;
}

/** One snapshot of a listing (columns of `SNAPSHOT_FIELDS`). */
export interface SnapshotRecord {
  /** Full name, `<pool>/<name>@<snapshot>`. */
  readonly name: string;
  /** The snapshot part after `@`. */
  readonly snapshot: string;
  /** ZFS's unique id of the snapshot, as decimal text (a 64-bit number). */
  readonly guid: string;
  /** Creation time, seconds since the epoch. */
  readonly creation: number | undefined;
  /** The transaction group it was created in (orders snapshots taken in the same second). */
  readonly createtxg: number | undefined;
  /** Full names of the clones made from it. */
  readonly clones: readonly string[];
}

function fail(what: string, detail: string): never {
  throw new StorageError('CORRUPT', `cannot parse ${what}: ${detail}`, { details: { what } });
}

/** The lines of an output with content, split on tabs into exactly `width` fields. */
function rows(text: string, width: number, what: string): string[][] {
  const out: string[][] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const fields = line.split('\t');
    if (fields.length !== width) fail(what, `expected ${width} tab-separated fields, got ${fields.length} in ${JSON.stringify(line)}`);
    out.push(fields);
  }
  return out;
}

/**
 * A `-p` number: a non-negative safe integer; `-` (and, where `zeroIsNone`, `0`) mean none.
 *
 * @param value - the field
 * @param what - for the error message
 * @param zeroIsNone - `0` means "not set" (`refquota`)
 * @returns the number, or `undefined`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` for anything else
 */
export function parseNumber(value: string, what: string, zeroIsNone = false): number | undefined {
  if (value === '-' || value === 'none') return undefined;
  if (!/^[0-9]+$/.test(value)) fail(what, `not a number: ${JSON.stringify(value)}`);
  const n = Number(value);
  if (!Number.isSafeInteger(n)) fail(what, `number out of range: ${value}`);
  return zeroIsNone && n === 0 ? undefined : n;
}

/**
 * Parses a dataset listing (`zfs list -Hp -o name,type,volsize,refquota,origin,usedbydataset,creation,guid,stowage:incomplete,stowage:flatten,stowage:hidden`).
 *
 * @param text - the command's standard output
 * @returns one record per line, in output order
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when a line does not have the expected fields
 * @example
 * ```ts
 * parseDatasetList('tank/vm-100-disk-0\tvolume\t4194304\t-\t-\t12288\t1700000000\t8811\t-\t-\t-\n');
 * // [{ name: 'tank/vm-100-disk-0', type: 'volume', volsize: 4194304, ..., guid: '8811', incomplete: undefined, flatten: undefined, hidden: false }]
 * ```
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::zfs_parse_zvol_list`
 */
export function parseDatasetList(text: string): DatasetRecord[] {
  const what = 'zfs dataset listing';
  const unset = (v: string | undefined): string | undefined => (v === '-' || v === '' ? undefined : v);
  return rows(text, DATASET_FIELDS.length, what).map(([name, type, volsize, refquota, origin, used, creation, guid, incomplete, flatten, hidden]) => ({
    name: name!,
    type: type!,
    volsize: parseNumber(volsize!, `${what} (volsize)`),
    refquota: parseNumber(refquota!, `${what} (refquota)`, true),
    origin: unset(origin),
    used: parseNumber(used!, `${what} (usedbydataset)`),
    creation: parseNumber(creation!, `${what} (creation)`),
    guid: /^[0-9]+$/.test(guid!) ? guid! : fail(what, `guid is not a number: ${JSON.stringify(guid)}`),
    incomplete: unset(incomplete),
    flatten: unset(flatten),
    hidden: hidden === '1',
  }));
}

/**
 * Parses a snapshot listing (`zfs list -Hp -t snapshot -o name,guid,creation,createtxg,clones`).
 *
 * @param text - the command's standard output
 * @returns one record per line, in output order
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when a line does not have the expected fields or names no snapshot
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::volume_snapshot_info`
 */
export function parseSnapshotList(text: string): SnapshotRecord[] {
  const what = 'zfs snapshot listing';
  return rows(text, SNAPSHOT_FIELDS.length, what).map(([name, guid, creation, createtxg, clones]) => {
    const at = name!.indexOf('@');
    if (at < 0) fail(what, `not a snapshot: ${JSON.stringify(name)}`);
    if (!/^[0-9]+$/.test(guid!)) fail(what, `guid is not a number: ${JSON.stringify(guid)}`);
    return {
      name: name!,
      snapshot: name!.slice(at + 1),
      guid: guid!,
      creation: parseNumber(creation!, `${what} (creation)`),
      createtxg: parseNumber(createtxg!, `${what} (createtxg)`),
      clones: clones === '-' || clones === '' ? [] : clones!.split(','),
    };
  });
}

/**
 * Parses `zfs get -Hp -o value <props> <dataset>`: one value per line, in the order asked.
 *
 * @param text - the command's standard output
 * @param count - how many properties were asked for
 * @returns the values as text
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the number of lines differs
 */
export function parsePropertyValues(text: string, count: number): string[] {
  const lines = text.split('\n').filter((l, i, all) => !(l === '' && i === all.length - 1));
  if (lines.length !== count) fail('zfs get output', `expected ${count} values, got ${lines.length}`);
  return lines;
}

/**
 * Parses `zfs get -Hp -o value available,used <pool>` into the pool's usage.
 *
 * @param text - the command's standard output
 * @returns available and used bytes, and their sum as the total
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT`
 * @see Proxmox `PVE::Storage::ZFSPoolPlugin::status`
 */
export function parsePoolUsage(text: string): { total: number; available: number; used: number } {
  const [available, used] = parsePropertyValues(text, 2).map((v) => parseNumber(v, 'zfs pool usage') ?? 0) as [number, number];
  return { total: available + used, available, used };
}
