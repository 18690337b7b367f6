/**
 * Pure parsers of what the thin-provisioning tools print about a pool's metadata (`thin_delta`
 * and `thin_dump` XML, read from a metadata snapshot; `dmsetup status` of the pool), and the
 * changed ranges computed from them. Tested on output captured from the real tools
 * (thin-provisioning-tools 0.9).
 *
 * @module
 */
import { StorageError } from '@stowage/core';
import type { DeltaRange } from './delta-frame.js';

/** Bytes of one sector, the unit of `data_block_size`. */
const SECTOR = 512;

/** A run of blocks, as the tools report them. */
export interface BlockRun {
  /** First block (of the thin device's address space). */
  readonly begin: number;
  /** Number of blocks. */
  readonly length: number;
}

/** One entry of `thin_delta`'s diff. */
export interface DiffRun extends BlockRun {
  /**
   * `same`: mapped to the same data in both; `different`: mapped in both, to different data;
   * `right_only`: mapped only in the newer device; `left_only`: mapped only in the older one
   * (the newer reads zeros there).
   */
  readonly kind: 'same' | 'different' | 'right_only' | 'left_only';
}

/** What `thin_delta --snap1 A --snap2 B` reports. */
export interface ThinDelta {
  /** The pool's block size in bytes. */
  readonly blockSize: number;
  /** The older device's thin id. */
  readonly left: number;
  /** The newer device's thin id. */
  readonly right: number;
  /** The runs, in block order. */
  readonly runs: readonly DiffRun[];
}

/** What `thin_dump --dev-id N` reports of one device. */
export interface ThinDump {
  /** The pool's block size in bytes. */
  readonly blockSize: number;
  /** The device's mapped runs, in block order; `undefined` when the metadata has no such device. */
  readonly mapped: readonly BlockRun[] | undefined;
}

interface XmlTag {
  readonly name: string;
  readonly closing: boolean;
  readonly attrs: Readonly<Record<string, string>>;
}

function corrupt(tool: string, why: string, output: string): StorageError {
  return new StorageError('CORRUPT', `${tool} printed something unexpected: ${why}`, { details: { tool, output: output.slice(0, 500) } });
}

/** The tags of the tools' flat XML, in order (no text content matters). */
function tags(xml: string): XmlTag[] {
  const out: XmlTag[] = [];
  for (const m of xml.matchAll(/<(\/?)([A-Za-z_]+)((?:\s+[A-Za-z_]+="[^"]*")*)\s*\/?>/g)) {
    const attrs: Record<string, string> = {};
    for (const a of (m[3] ?? '').matchAll(/([A-Za-z_]+)="([^"]*)"/g)) attrs[a[1] as string] = a[2] as string;
    out.push({ name: m[2] as string, closing: m[1] === '/', attrs });
  }
  return out;
}

function count(tool: string, tag: XmlTag, attr: string, output: string): number {
  const text = tag.attrs[attr];
  if (text === undefined || !/^\d{1,15}$/.test(text)) throw corrupt(tool, `<${tag.name}> has no whole ${attr}`, output);
  return Number(text);
}

function blockSizeOf(tool: string, all: readonly XmlTag[], output: string): number {
  const superblock = all.find((t) => t.name === 'superblock' && !t.closing);
  if (superblock === undefined) throw corrupt(tool, 'no <superblock>', output);
  const sectors = count(tool, superblock, 'data_block_size', output);
  if (sectors === 0) throw corrupt(tool, 'data_block_size is 0', output);
  return sectors * SECTOR;
}

const DIFF_KINDS: ReadonlySet<string> = new Set(['same', 'different', 'right_only', 'left_only']);

/**
 * Parses `thin_delta`'s output (without `--verbose`).
 *
 * @param output - the tool's standard output
 * @returns block size, the two thin ids, the runs
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when it is not the expected XML
 * @example
 * ```ts
 * parseThinDelta('<superblock data_block_size="128"><diff left="2" right="3"><different begin="200" length="8"/></diff></superblock>');
 * // { blockSize: 65536, left: 2, right: 3, runs: [{ kind: 'different', begin: 200, length: 8 }] }
 * ```
 */
export function parseThinDelta(output: string): ThinDelta {
  const all = tags(output);
  const blockSize = blockSizeOf('thin_delta', all, output);
  const diff = all.find((t) => t.name === 'diff' && !t.closing);
  if (diff === undefined) throw corrupt('thin_delta', 'no <diff>', output);
  const runs: DiffRun[] = [];
  for (const t of all) {
    if (t.closing || !DIFF_KINDS.has(t.name)) continue;
    if (t.attrs['begin'] === undefined) throw corrupt('thin_delta', `<${t.name}> without begin (was --verbose given?)`, output);
    runs.push({ kind: t.name as DiffRun['kind'], begin: count('thin_delta', t, 'begin', output), length: count('thin_delta', t, 'length', output) });
  }
  return { blockSize, left: count('thin_delta', diff, 'left', output), right: count('thin_delta', diff, 'right', output), runs };
}

/**
 * Parses `thin_dump --dev-id N`'s output: the device's mapped runs (`range_mapping` and
 * `single_mapping`).
 *
 * @param output - the tool's standard output
 * @param devId - the device asked for
 * @returns block size and the mapped runs (`undefined` when the dump has no such device)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when it is not the expected XML
 */
export function parseThinDump(output: string, devId: number): ThinDump {
  const all = tags(output);
  const blockSize = blockSizeOf('thin_dump', all, output);
  let inDevice = false;
  let found = false;
  const mapped: BlockRun[] = [];
  for (const t of all) {
    if (t.name === 'device') {
      inDevice = !t.closing && count('thin_dump', t, 'dev_id', output) === devId;
      found ||= inDevice;
      continue;
    }
    if (!inDevice || t.closing) continue;
    if (t.name === 'range_mapping') mapped.push({ begin: count('thin_dump', t, 'origin_begin', output), length: count('thin_dump', t, 'length', output) });
    else if (t.name === 'single_mapping') mapped.push({ begin: count('thin_dump', t, 'origin_block', output), length: 1 });
  }
  return { blockSize, mapped: found ? mapped : undefined };
}

/**
 * The held metadata root of a thin pool from `dmsetup status` of its `-tpool` device: the
 * block of a metadata snapshot someone reserved and has not released.
 *
 * @param output - the status line, `0 <len> thin-pool <transaction> <meta> <data> <held root> ...`
 * @returns the block, or `undefined` when none is held (`-`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when it is not a thin-pool status line
 */
export function parseHeldMetadataRoot(output: string): number | undefined {
  const fields = output.trim().split(/\s+/);
  if (fields[2] !== 'thin-pool' || fields[6] === undefined) throw corrupt('dmsetup status', 'not a thin-pool status line', output);
  if (fields[6] === '-') return undefined;
  if (!/^\d+$/.test(fields[6])) throw corrupt('dmsetup status', `held metadata root '${fields[6]}'`, output);
  return Number(fields[6]);
}

/** Sorts runs, merges touching ones, turns blocks into bytes and cuts what lies past `size`. */
function toRanges(runs: ReadonlyArray<BlockRun & { readonly kind: DeltaRange['kind'] }>, blockSize: number, size: number): DeltaRange[] {
  const out: Array<{ kind: DeltaRange['kind']; offset: number; length: number }> = [];
  for (const r of [...runs].sort((a, b) => a.begin - b.begin)) {
    const offset = r.begin * blockSize;
    const length = Math.min(r.length * blockSize, size - offset);
    if (length <= 0) continue;
    const last = out.at(-1);
    if (last !== undefined && last.kind === r.kind && last.offset + last.length === offset) last.length += length;
    else out.push({ kind: r.kind, offset, length });
  }
  return out;
}

/**
 * The ranges an increment must carry: the newer device's data where the two differ or only it
 * is mapped, zeros where only the older one is mapped; touching runs merged, cut at `size`.
 *
 * @param delta - the parsed `thin_delta`
 * @param size - the newer device's size in bytes
 */
export function incrementRanges(delta: ThinDelta, size: number): DeltaRange[] {
  const changed = delta.runs
    .filter((r) => r.kind !== 'same')
    .map((r) => ({ kind: r.kind === 'left_only' ? ('zero' as const) : ('data' as const), begin: r.begin, length: r.length }));
  return toRanges(changed, delta.blockSize, size);
}

/**
 * The ranges a full copy must carry: every mapped run of the device (what was never written
 * reads as zeros on a new thin volume too), merged, cut at `size`.
 *
 * @param dump - the parsed `thin_dump` (a device it found)
 * @param size - the device's size in bytes
 */
export function fullRanges(dump: ThinDump & { readonly mapped: readonly BlockRun[] }, size: number): DeltaRange[] {
  return toRanges(dump.mapped.map((r) => ({ kind: 'data' as const, ...r })), dump.blockSize, size);
}
