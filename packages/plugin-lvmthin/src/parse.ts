/**
 * Pure parsers of the LVM tools' reports (`lvs`/`vgs --reportformat json --units b --nosuffix`).
 *
 * @module
 */
import { StorageError } from '@stowage/core';

/** One logical volume as `lvs` reports it. Sizes in bytes. */
export interface LvRecord {
  /** The volume group. */
  readonly vg: string;
  /** The LV name. */
  readonly name: string;
  /** The raw `lv_attr` string, e.g. `Vwi-a-tz--`. */
  readonly attr: string;
  /** The volume type, `lv_attr[0]`: `V` thin volume, `t` thin pool, `-` plain, ... */
  readonly type: string;
  /** `true` when the LV is writable (`lv_attr[1]` is `w`). */
  readonly writable: boolean;
  /** `true` when the LV is active (`lv_attr[4]` is `a`). */
  readonly active: boolean;
  /**
   * The health character, `lv_attr[8]`: `-` fine; for thin pools `D` out of data space, `M`
   * metadata read-only, `F` failed; for thin LVs `F` when their pool failed.
   */
  readonly health: string;
  /** Virtual size in bytes (for a pool: its data size). */
  readonly size: number;
  /** The thin pool of a thin LV, else `''`. */
  readonly pool: string;
  /** The LV a thin snapshot or clone was made from, else `''`. */
  readonly origin: string;
  /** Percent of the data used (thin LVs and pools), when reported. */
  readonly dataPercent: number | undefined;
  /** Percent of the metadata used (thin pools), when reported. */
  readonly metadataPercent: number | undefined;
  /** Size of a thin pool's metadata in bytes, when reported. */
  readonly metadataSize: number | undefined;
  /** Creation time in seconds since the epoch, when reported. */
  readonly ctime: number | undefined;
  /**
   * The thin device id inside its pool, when it is a thin LV. LVM hands out the highest id so far
   * plus one, so it orders thin LVs by creation where {@link LvRecord.ctime} (whole seconds) ties.
   */
  readonly thinId: number | undefined;
  /** The volume group's extent size in bytes (LV sizes are whole extents), when reported. */
  readonly extentSize: number | undefined;
  /** The LV's UUID: its identity, which a rename does not change (`''` when not reported). */
  readonly uuid: string;
  /** The LV's tags. */
  readonly tags: readonly string[];
}

/** One volume group as `vgs` reports it. Sizes in bytes. */
export interface VgRecord {
  /** The volume group. */
  readonly name: string;
  /** Its size. */
  readonly size: number;
  /** Its unallocated space. */
  readonly free: number;
  /** How many LVs it holds. */
  readonly lvCount: number;
}

type Row = Record<string, unknown>;

function corrupt(what: string, detail: string): never {
  throw new StorageError('CORRUPT', `cannot parse ${what}: ${detail}`, { details: { what } });
}

/** Collects the rows of one kind (`lv`, `vg`) from every report section of a JSON report. */
function reportRows(text: string, kind: 'lv' | 'vg', what: string): Row[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return corrupt(what, `not JSON (${(e as Error).message})`);
  }
  const report = (doc as { report?: unknown } | null)?.report;
  if (!Array.isArray(report)) return corrupt(what, 'no "report" array');
  const rows: Row[] = [];
  for (const section of report as unknown[]) {
    const list = (section as Record<string, unknown> | null)?.[kind];
    if (list === undefined) continue;
    if (!Array.isArray(list)) return corrupt(what, `"${kind}" is not an array`);
    for (const row of list) {
      if (typeof row !== 'object' || row === null) return corrupt(what, `a "${kind}" entry is not an object`);
      rows.push(row as Row);
    }
  }
  return rows;
}

function text(row: Row, key: string, what: string): string {
  const v = row[key];
  if (typeof v !== 'string') return corrupt(what, `field "${key}" is missing`);
  return v;
}

function integer(row: Row, key: string, what: string): number {
  const v = text(row, key, what).trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) return corrupt(what, `field "${key}" is not a whole number: '${v}'`);
  return Number(v);
}

function optionalInteger(row: Row, key: string, what: string): number | undefined {
  const v = row[key];
  return v === undefined || v === '' ? undefined : integer(row, key, what);
}

function percent(row: Row, key: string, what: string): number | undefined {
  const v = row[key];
  if (v === undefined || v === '') return undefined;
  const s = text(row, key, what).trim();
  if (!/^\d+(\.\d+)?$/.test(s)) return corrupt(what, `field "${key}" is not a percentage: '${s}'`);
  return Number(s);
}

function epoch(row: Row, key: string, what: string): number | undefined {
  const v = row[key];
  if (v === undefined || v === '') return undefined;
  const s = text(row, key, what).trim();
  return /^\d+$/.test(s) ? Number(s) : undefined;
}

/**
 * Parses the JSON report of `lvs` as built by `lvsArgs`.
 *
 * @param output - standard output of `lvs`
 * @returns one record per LV, in report order
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the output is not the expected report
 * @example
 * ```ts
 * const lvs = parseLvsReport((await ctx.run(lvsArgs('pve'))).stdout);
 * ```
 */
export function parseLvsReport(output: string): LvRecord[] {
  const what = 'lvs report';
  return reportRows(output, 'lv', what).map((row) => {
    const attr = text(row, 'lv_attr', what);
    return {
      vg: text(row, 'vg_name', what),
      name: text(row, 'lv_name', what),
      attr,
      type: attr.charAt(0),
      writable: attr.charAt(1) === 'w',
      active: attr.charAt(4) === 'a',
      health: attr.charAt(8) || '-',
      size: integer(row, 'lv_size', what),
      pool: typeof row['pool_lv'] === 'string' ? row['pool_lv'] : '',
      origin: typeof row['origin'] === 'string' ? row['origin'] : '',
      dataPercent: percent(row, 'data_percent', what),
      metadataPercent: percent(row, 'metadata_percent', what),
      metadataSize: optionalInteger(row, 'lv_metadata_size', what),
      ctime: epoch(row, 'lv_time', what),
      thinId: optionalInteger(row, 'thin_id', what),
      extentSize: optionalInteger(row, 'vg_extent_size', what),
      uuid: typeof row['lv_uuid'] === 'string' ? row['lv_uuid'] : '',
      tags: typeof row['lv_tags'] === 'string' && row['lv_tags'] !== '' ? row['lv_tags'].split(',') : [],
    };
  });
}

/**
 * Parses the JSON report of `vgs` as built by `vgsArgs`.
 *
 * @param output - standard output of `vgs`
 * @returns one record per volume group
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the output is not the expected report
 */
export function parseVgsReport(output: string): VgRecord[] {
  const what = 'vgs report';
  return reportRows(output, 'vg', what).map((row) => ({
    name: text(row, 'vg_name', what),
    size: integer(row, 'vg_size', what),
    free: integer(row, 'vg_free', what),
    lvCount: integer(row, 'lv_count', what),
  }));
}

/**
 * Parses the output of `blockdev --getsize64`.
 *
 * @param output - standard output, a decimal byte count
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when it is not a byte count
 */
export function parseBlockdevSize(output: string): number {
  const s = output.trim();
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) return corrupt('blockdev size', `'${s}'`);
  return Number(s);
}
