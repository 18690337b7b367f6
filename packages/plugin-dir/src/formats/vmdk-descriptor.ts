/**
 * A native reader of VMDK images: the hosted sparse extent header (`KDMV`) with its embedded
 * descriptor, or a text descriptor file. Enough to list an image (capacity, parent) and to find
 * every file QEMU would open from it (extents, parent), read as QEMU reads them. Pure.
 *
 * Layout from VMware's "Virtual Disk Format 5.0" and QEMU's `block/vmdk.c` (little-endian).
 *
 * @module
 */

/** `KDMV`: the hosted sparse extent magic, read as a little-endian u32. */
export const VMDK4_MAGIC = 0x564d444b;
/** `COWD`: the ESX sparse extent magic (not read by this module). */
export const VMDK3_MAGIC = 0x44574f43;
/** The largest text descriptor file this reader accepts. */
export const MAX_DESCRIPTOR_BYTES = 64 * 1024;

const SECTOR = 512;
const FLAG_COMPRESSED = 1 << 16;
const ascii = new TextDecoder('latin1');

/** One extent line of a descriptor, e.g. `RW 2048 SPARSE "disk.vmdk"`. */
export interface VmdkExtent {
  /** `RW`, `RDONLY` or `NOACCESS` (QEMU opens only `RW` extents). */
  readonly access: string;
  /** Length in 512-byte sectors. */
  readonly sectors: number;
  /** `SPARSE`, `FLAT`, `ZERO`, `VMFS`, `VMFSSPARSE`, ... */
  readonly type: string;
  /** The extent's file, relative to the descriptor; absent for `ZERO`. */
  readonly file: string | undefined;
  /** Offset in sectors inside the extent file (`FLAT`). */
  readonly offset: number;
}

/** A parsed descriptor. */
export interface VmdkDescriptor {
  /** `createType`, e.g. `monolithicSparse`, `streamOptimized`, `twoGbMaxExtentSparse`. */
  readonly createType: string | undefined;
  /** `parentCID`; `ffffffff` means no parent. */
  readonly parentCid: string | undefined;
  /**
   * The parent image as QEMU finds it: the text after the first `parentFileNameHint` anywhere in
   * the descriptor (QEMU follows it whatever `parentCID` says); `undefined` when there is none.
   */
  readonly parentFileNameHint: string | undefined;
  /**
   * The extent lines, in order, as QEMU's scanner reads them (see {@link parseVmdkDescriptor}):
   * every one that names a file, and those without a file that start with an access mode.
   */
  readonly extents: readonly VmdkExtent[];
}

/** What a VMDK file says about the image. */
export interface VmdkInfo {
  /** `sparse`: a hosted sparse extent (data in this file); `descriptor`: a text file pointing at extent files. */
  readonly kind: 'sparse' | 'descriptor';
  /** Virtual size in bytes: the sectors of the extents QEMU opens. */
  readonly size: number;
  /** The descriptor's `createType`, when there is a descriptor. */
  readonly createType: string | undefined;
  /**
   * The extents. A sparse file is its own single extent (`file` undefined) and QEMU ignores the
   * extents its embedded descriptor lists, unless its capacity is 0: QEMU then reads that
   * descriptor as a descriptor file, and so does this reader (`kind` is then `descriptor`).
   */
  readonly extents: readonly VmdkExtent[];
  /** The parent image (see {@link VmdkDescriptor.parentFileNameHint}). */
  readonly parent: string | undefined;
  /** `true` for a compressed (`streamOptimized`) sparse extent. */
  readonly compressed: boolean;
}

/** The result of {@link parseVmdk}. */
export type VmdkParseResult =
  | { readonly status: 'ok'; readonly info: VmdkInfo }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'short'; readonly need: number };

const KEY_RE = /^([A-Za-z][A-Za-z0-9_.]*)\s*=\s*"?([^"]*)"?\s*$/;
/** The access modes of extent lines (a line without a file name counts only with one of them: `ZERO`). */
const ACCESS_MODES: ReadonlySet<string> = new Set(['RW', 'RDONLY', 'NOACCESS']);
/** Extent types QEMU opens. */
const OPENED_TYPES: ReadonlySet<string> = new Set(['FLAT', 'SPARSE', 'VMFS', 'VMFSSPARSE', 'SESPARSE']);
/** How much of the descriptor QEMU searches for the parent (`DESC_SIZE` in its vmdk driver). */
const PARENT_SEARCH_BYTES = 20 * SECTOR;
/** Where QEMU searches a sparse file for the parent: right after the header sector. */
const SPARSE_PARENT_AT = SECTOR;
/** The most of a descriptor QEMU reads (`vmdk_read_desc`). */
const MAX_QEMU_DESCRIPTOR = (1 << 20) - 1;

/** C's `isspace` in the C locale. */
function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Reads an extent from `at` the way QEMU does, with
 * `sscanf("%10s %" SCNd64 " %10s \"%511[^\n\r\"]\" %" SCNd64)`: every blank in that format
 * skips any whitespace, newlines included, so an extent may span lines, and a blank line
 * followed by an extent line is read as that extent too (QEMU then adds it twice). The file
 * name counts even without its closing quote.
 */
function scanExtent(text: string, at: number): VmdkExtent | undefined {
  let i = at;
  const skip = (): void => {
    while (i < text.length && isSpace(text.charCodeAt(i))) i++;
  };
  const word = (): string | undefined => {
    skip();
    const start = i;
    while (i < text.length && i - start < 10 && !isSpace(text.charCodeAt(i))) i++;
    return i > start ? text.slice(start, i) : undefined;
  };
  const integer = (): number | undefined => {
    skip();
    const m = /[+-]?[0-9]+/y;
    m.lastIndex = i;
    const r = m.exec(text);
    if (!r) return undefined;
    i += r[0].length;
    return Number(r[0]);
  };
  const access = word();
  const sectors = access === undefined ? undefined : integer();
  const type = sectors === undefined ? undefined : word();
  if (access === undefined || sectors === undefined || type === undefined) return undefined;
  skip();
  if (text[i] !== '"') return { access, sectors, type, file: undefined, offset: 0 };
  const start = ++i;
  while (i < text.length && i - start < 511 && !'\n\r"'.includes(text[i] ?? '')) i++;
  if (i === start) return { access, sectors, type, file: undefined, offset: 0 };
  const file = text.slice(start, i);
  const offset = text[i] === '"' ? (i++, integer()) : undefined;
  return { access, sectors, type, file, offset: offset ?? 0 };
}

/**
 * The parent QEMU opens: after the first `parentFileNameHint` in the text, it skips two more
 * characters (normally `="`) and takes everything up to the next `"`.
 *
 * @returns the name (`undefined` when there is none), or `false` when QEMU would fail on it
 */
function qemuParentHint(text: string): string | undefined | false {
  const at = text.indexOf('parentFileNameHint');
  if (at < 0) return undefined;
  const start = at + 'parentFileNameHint'.length + 2;
  const end = start <= text.length ? text.indexOf('"', start) : -1;
  if (end < 0 || end - start > 4095) return false;
  return end > start ? text.slice(start, end) : undefined;
}

/** The text of a descriptor area: QEMU reads it as a C string, up to the first NUL. */
function cString(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return ascii.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

/**
 * Parses the text of a VMDK descriptor. Extents are read as QEMU reads them: from the start of
 * every line, with its `sscanf` (see `scanExtent`), so none that QEMU would open is missed.
 *
 * @param text - the descriptor (embedded or a whole descriptor file)
 * @returns the descriptor, or `undefined` when the text is not one (no `createType` and no extent)
 */
export function parseVmdkDescriptor(text: string): VmdkDescriptor | undefined {
  const keys = new Map<string, string>();
  const extents: VmdkExtent[] = [];
  for (let at = 0; at < text.length; ) {
    const nl = text.indexOf('\n', at);
    const end = nl < 0 ? text.length : nl;
    const e = scanExtent(text, at);
    if (e && (e.file !== undefined || ACCESS_MODES.has(e.access))) extents.push(e);
    const k = KEY_RE.exec(text.slice(at, end).trim());
    if (k) keys.set(k[1] ?? '', k[2] ?? '');
    at = end + 1;
  }
  if (!keys.has('createType') && extents.length === 0) return undefined;
  const hint = qemuParentHint(text);
  return {
    createType: keys.get('createType'),
    parentCid: keys.get('parentCID')?.toLowerCase(),
    parentFileNameHint: hint === false ? undefined : hint,
    extents,
  };
}

/** The virtual size QEMU gives a descriptor: the sectors of the extents it opens. */
function openedSectors(extents: readonly VmdkExtent[]): number {
  return extents.filter((e) => e.access === 'RW' && e.file !== undefined && e.sectors > 0 && OPENED_TYPES.has(e.type)).reduce((n, e) => n + e.sectors, 0);
}

function safeU64(dv: DataView, offset: number): number | undefined {
  const v = dv.getBigUint64(offset, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

/** The parent hint QEMU reads from a sparse file, or how many bytes are needed to know it. */
function sparseParent(buf: Uint8Array, fileSize: number): { parent: string | undefined } | { invalid: string } | { need: number } {
  const end = Math.min(fileSize, SPARSE_PARENT_AT + PARENT_SEARCH_BYTES);
  if (buf.length < end) return { need: end };
  const hint = qemuParentHint(cString(buf.subarray(Math.min(SPARSE_PARENT_AT, end), end)));
  return hint === false ? { invalid: 'unreadable parentFileNameHint' } : { parent: hint };
}

/** A sparse file of capacity 0 with a descriptor: QEMU opens that descriptor as a descriptor file. */
function parseZeroCapacity(buf: Uint8Array, fileSize: number, descOffset: number, parent: string | undefined): VmdkParseResult {
  const start = descOffset * SECTOR;
  if (start >= fileSize) return { status: 'invalid', reason: 'truncated: descriptor past the end of the file' };
  const limit = Math.min(fileSize, start + MAX_QEMU_DESCRIPTOR);
  const nul = buf.subarray(start, Math.min(buf.length, limit)).indexOf(0);
  if (nul < 0 && buf.length < limit) return { status: 'short', need: limit };
  const d = parseVmdkDescriptor(cString(buf.subarray(start, limit)));
  if (!d) return { status: 'invalid', reason: 'capacity 0 and no readable descriptor' };
  const sectors = openedSectors(d.extents);
  if (!Number.isSafeInteger(sectors * SECTOR)) return { status: 'invalid', reason: 'capacity out of range' };
  return { status: 'ok', info: { kind: 'descriptor', size: sectors * SECTOR, createType: d.createType, extents: d.extents, parent, compressed: false } };
}

function parseSparse(buf: Uint8Array, fileSize: number): VmdkParseResult {
  if (fileSize < SECTOR) return { status: 'invalid', reason: `truncated: ${fileSize} bytes, header needs ${SECTOR}` };
  if (buf.length < SECTOR) return { status: 'short', need: SECTOR };
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const version = dv.getUint32(4, true);
  const flags = dv.getUint32(8, true);
  const capacity = safeU64(dv, 12);
  const descOffset = safeU64(dv, 28);
  const descSize = safeU64(dv, 36);
  if (version < 1 || version > 3) return { status: 'invalid', reason: `unsupported vmdk version ${version}` };
  if (capacity === undefined || capacity * SECTOR > Number.MAX_SAFE_INTEGER) return { status: 'invalid', reason: 'capacity out of range' };
  if (descOffset === undefined || descSize === undefined) return { status: 'invalid', reason: 'descriptor location out of range' };
  const p = sparseParent(buf, fileSize);
  if ('need' in p) return { status: 'short', need: p.need };
  if ('invalid' in p) return { status: 'invalid', reason: p.invalid };
  if (capacity === 0 && descOffset !== 0) return parseZeroCapacity(buf, fileSize, descOffset, p.parent);
  let descriptor: VmdkDescriptor | undefined;
  if (descOffset !== 0 && descSize !== 0) {
    const start = descOffset * SECTOR;
    const end = start + descSize * SECTOR;
    if (descSize * SECTOR > MAX_DESCRIPTOR_BYTES) return { status: 'invalid', reason: 'embedded descriptor too large' };
    if (end > fileSize) return { status: 'invalid', reason: 'truncated: embedded descriptor past the end of the file' };
    if (buf.length < end) return { status: 'short', need: end };
    const text = cString(buf.subarray(start, end));
    descriptor = parseVmdkDescriptor(text);
    // the extent files of a multi-extent image carry an empty one
    if (!descriptor && text.trim() !== '') return { status: 'invalid', reason: 'unreadable embedded descriptor' };
  }
  const sectors = capacity;
  return {
    status: 'ok',
    info: {
      kind: 'sparse',
      size: capacity * SECTOR,
      createType: descriptor?.createType,
      extents: [{ access: 'RW', sectors, type: 'SPARSE', file: undefined, offset: 0 }],
      parent: p.parent,
      compressed: (flags & FLAG_COMPRESSED) !== 0,
    },
  };
}

function parseDescriptorFile(buf: Uint8Array, fileSize: number): VmdkParseResult {
  if (fileSize > MAX_DESCRIPTOR_BYTES) return { status: 'invalid', reason: 'not a vmdk: no sparse magic and too large for a descriptor' };
  if (buf.length < fileSize) return { status: 'short', need: fileSize };
  const bytes = buf.subarray(0, fileSize);
  if (bytes.some((b) => b === 0 || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d))) {
    return { status: 'invalid', reason: 'not a vmdk: binary data without sparse magic' };
  }
  const text = ascii.decode(bytes);
  const d = parseVmdkDescriptor(text);
  if (!d || d.extents.length === 0) return { status: 'invalid', reason: 'not a vmdk descriptor: no extents' };
  if (qemuParentHint(text.slice(0, PARENT_SEARCH_BYTES)) === false) return { status: 'invalid', reason: 'unreadable parentFileNameHint' };
  const sectors = openedSectors(d.extents);
  if (!Number.isSafeInteger(sectors * SECTOR)) return { status: 'invalid', reason: 'capacity out of range' };
  return {
    status: 'ok',
    info: { kind: 'descriptor', size: sectors * SECTOR, createType: d.createType, extents: d.extents, parent: d.parentFileNameHint, compressed: false },
  };
}

/**
 * Parses a VMDK file from its first bytes: a hosted sparse extent with its embedded descriptor,
 * or a text descriptor file.
 *
 * @param buf - the first bytes of the file (16 KiB covers the usual embedded descriptor)
 * @param fileSize - the file's length
 * @returns `ok` with the info; `invalid` with a reason (truncated, not a vmdk, ESX `COWD`
 *   sparse, which this reader does not handle); or `short` with the leading bytes needed
 * @example
 * ```ts
 * const r = parseVmdk(head, size);
 * if (r.status === 'ok' && r.info.extents.length > 1) console.log('multi-extent');
 * ```
 */
export function parseVmdk(buf: Uint8Array, fileSize: number): VmdkParseResult {
  if (fileSize < 4) return { status: 'invalid', reason: 'truncated: empty file' };
  if (buf.length < 4) return { status: 'short', need: 4 };
  const magic = new DataView(buf.buffer, buf.byteOffset, buf.byteLength).getUint32(0, true);
  if (magic === VMDK4_MAGIC) return parseSparse(buf, fileSize);
  if (magic === VMDK3_MAGIC) return { status: 'invalid', reason: 'ESX COWD sparse extents are not supported' };
  return parseDescriptorFile(buf, fileSize);
}
