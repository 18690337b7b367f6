/**
 * A native reader of VMDK images: the hosted sparse extent header (`KDMV`) with its embedded
 * descriptor, or a text descriptor file. Enough to list an image (capacity, parent) and to judge
 * whether an image from outside is safe (one extent, no extent file elsewhere). Pure.
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
const NO_PARENT_CID = 'ffffffff';

/** One extent line of a descriptor, e.g. `RW 2048 SPARSE "disk.vmdk"`. */
export interface VmdkExtent {
  /** `RW`, `RDONLY` or `NOACCESS`. */
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
  /** `parentFileNameHint`, when the image has a parent. */
  readonly parentFileNameHint: string | undefined;
  /** The extents, in order. */
  readonly extents: readonly VmdkExtent[];
}

/** What a VMDK file says about the image. */
export interface VmdkInfo {
  /** `sparse`: a hosted sparse extent (data in this file); `descriptor`: a text file pointing at extent files. */
  readonly kind: 'sparse' | 'descriptor';
  /** Virtual size in bytes. */
  readonly size: number;
  /** The descriptor's `createType`, when there is a descriptor. */
  readonly createType: string | undefined;
  /**
   * The extents QEMU will open. A sparse file is its own single extent (`file` undefined), whatever
   * its embedded descriptor lists; a descriptor file's extents are other files.
   */
  readonly extents: readonly VmdkExtent[];
  /** The parent image (`parentFileNameHint`) when the descriptor names one. */
  readonly parent: string | undefined;
  /** `true` for a compressed (`streamOptimized`) sparse extent. */
  readonly compressed: boolean;
}

/** The result of {@link parseVmdk}. */
export type VmdkParseResult =
  | { readonly status: 'ok'; readonly info: VmdkInfo }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'short'; readonly need: number };

const EXTENT_RE = /^(RW|RDONLY|NOACCESS)\s+(\d+)\s+([A-Z]+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?\s*$/;
const KEY_RE = /^([A-Za-z][A-Za-z0-9_.]*)\s*=\s*"?([^"]*)"?\s*$/;

/**
 * Parses the text of a VMDK descriptor.
 *
 * @param text - the descriptor (embedded or a whole descriptor file)
 * @returns the descriptor, or `undefined` when the text is not one (no `createType` and no extent)
 */
export function parseVmdkDescriptor(text: string): VmdkDescriptor | undefined {
  const keys = new Map<string, string>();
  const extents: VmdkExtent[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const e = EXTENT_RE.exec(line);
    if (e) {
      const sectors = Number(e[2]);
      if (!Number.isSafeInteger(sectors)) return undefined;
      extents.push({ access: e[1] ?? '', sectors, type: e[3] ?? '', file: e[4], offset: Number(e[5] ?? 0) });
      continue;
    }
    const k = KEY_RE.exec(line);
    if (k) keys.set(k[1] ?? '', k[2] ?? '');
  }
  if (!keys.has('createType') && extents.length === 0) return undefined;
  const parentCid = keys.get('parentCID')?.toLowerCase();
  const hasParent = parentCid !== undefined && parentCid !== NO_PARENT_CID;
  return {
    createType: keys.get('createType'),
    parentCid,
    parentFileNameHint: hasParent ? keys.get('parentFileNameHint') : undefined,
    extents,
  };
}

const ascii = new TextDecoder('latin1');

function descriptorText(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return ascii.decode(nul < 0 ? bytes : bytes.subarray(0, nul));
}

function safeU64(dv: DataView, offset: number): number | undefined {
  const v = dv.getBigUint64(offset, true);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
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
  let descriptor: VmdkDescriptor | undefined;
  if (descOffset !== 0 && descSize !== 0) {
    const start = descOffset * SECTOR;
    const end = start + descSize * SECTOR;
    if (descSize * SECTOR > MAX_DESCRIPTOR_BYTES) return { status: 'invalid', reason: 'embedded descriptor too large' };
    if (end > fileSize) return { status: 'invalid', reason: 'truncated: embedded descriptor past the end of the file' };
    if (buf.length < end) return { status: 'short', need: end };
    descriptor = parseVmdkDescriptor(descriptorText(buf.subarray(start, end)));
    if (!descriptor) return { status: 'invalid', reason: 'unreadable embedded descriptor' };
  }
  const sectors = capacity;
  return {
    status: 'ok',
    info: {
      kind: 'sparse',
      size: capacity * SECTOR,
      createType: descriptor?.createType,
      extents: [{ access: 'RW', sectors, type: 'SPARSE', file: undefined, offset: 0 }],
      parent: descriptor?.parentFileNameHint,
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
  const d = parseVmdkDescriptor(ascii.decode(bytes));
  if (!d || d.extents.length === 0) return { status: 'invalid', reason: 'not a vmdk descriptor: no extents' };
  const sectors = d.extents.reduce((n, e) => n + e.sectors, 0);
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
