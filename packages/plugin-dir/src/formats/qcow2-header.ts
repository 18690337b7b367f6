/**
 * A native reader of the qcow2 header (versions 2 and 3): enough to list an image without
 * running `qemu-img info` (virtual size, backing file) and to judge whether an image from
 * outside is safe to use (external data file, unknown incompatible features). Pure.
 *
 * Layout (big-endian) from the qcow2 specification in QEMU's `docs/interop/qcow2.txt`.
 *
 * @module
 */
import { TextDecoder } from 'node:util';

/** The four bytes every qcow2 image starts with (`QFI\xfb`). */
export const QCOW2_MAGIC = 0x514649fb;

/** Header extension types this reader knows. */
export const QCOW2_EXTENSION = {
  /** End of the extension area. */
  end: 0,
  /** Backing file format name. */
  backingFormat: 0xe2792aca,
  /** Feature name table. */
  featureNames: 0x6803f857,
  /** Bitmaps. */
  bitmaps: 0x23852875,
  /** Full disk encryption header pointer. */
  encryption: 0x0537be77,
  /** External data file name (`DATA`). */
  dataFile: 0x44415441,
} as const;

/** Incompatible feature bits this reader (and QEMU) understands. */
export const QCOW2_INCOMPATIBLE = {
  /** The image was not closed cleanly (lazy refcounts). */
  dirty: 1n << 0n,
  /** QEMU found corruption; open read-only. */
  corrupt: 1n << 1n,
  /** Guest data lives in an external data file. */
  externalDataFile: 1n << 2n,
  /** A compression type other than zlib is set. */
  compressionType: 1n << 3n,
  /** Extended L2 entries (subclusters). */
  extendedL2: 1n << 4n,
} as const;

const KNOWN_INCOMPATIBLE = 0b11111n;
/** The known bits, and the two this reader acts on, as numbers (they all lie in the low 32 bits). */
const KNOWN_LOW = Number(KNOWN_INCOMPATIBLE);
const CORRUPT_BIT = Number(QCOW2_INCOMPATIBLE.corrupt);
const DATA_FILE_BIT = Number(QCOW2_INCOMPATIBLE.externalDataFile);
const V2_HEADER_BYTES = 72;
const V3_MIN_HEADER_BYTES = 104;
const MAX_BACKING_NAME = 1023;

/** What the header of a qcow2 image says. */
export interface Qcow2Header {
  /** 2 (`compat=0.10`) or 3 (`compat=1.1`). */
  readonly version: 2 | 3;
  /** Virtual size in bytes. */
  readonly size: number;
  /** log2 of the cluster size. */
  readonly clusterBits: number;
  /** The backing file name as stored, e.g. `../100/base-100-disk-0.qcow2`. */
  readonly backingFile: string | undefined;
  /** The backing file's format, from the header extension. */
  readonly backingFormat: string | undefined;
  /**
   * The external data file name; `''` when the feature bit is set but no name is stored (QEMU
   * then needs a `data-file` option). `undefined` when guest data lives in the image itself.
   */
  readonly dataFile: string | undefined;
  /** Incompatible feature bits. */
  readonly incompatibleFeatures: bigint;
  /** `true` when QEMU marked the image corrupt. */
  readonly corrupt: boolean;
  /** `true` when the image is encrypted (`crypt_method` is not 0). */
  readonly encrypted: boolean;
  /** Number of internal snapshots. */
  readonly snapshotCount: number;
  /** Where the snapshot table starts in the file (see `readQcow2Snapshots`). */
  readonly snapshotsOffset: number;
}

/** The result of {@link parseQcow2Header}. */
export type Qcow2ParseResult =
  | { readonly status: 'ok'; readonly header: Qcow2Header }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'short'; readonly need: number };

/**
 * Tells whether a buffer starts with the qcow2 magic.
 *
 * @param buf - the first bytes of a file
 */
export function hasQcow2Magic(buf: Uint8Array): boolean {
  return buf.length >= 4 && view(buf).getUint32(0) === QCOW2_MAGIC;
}

function view(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

/** A big-endian u64 as a number, or `undefined` past `Number.MAX_SAFE_INTEGER` (read as two u32: no `BigInt` per field). */
function safeU64(dv: DataView, offset: number): number | undefined {
  const high = dv.getUint32(offset);
  return high > 0x1fffff ? undefined : high * 0x1_0000_0000 + dv.getUint32(offset + 4);
}

let decoders: { readonly latin1: TextDecoder; readonly utf8: TextDecoder } | undefined;
const NON_ASCII_RE = /[^\x00-\x7f]/;

/**
 * A name stored in the header, `bytes[start, end)`, read as QEMU reads it: a C string, which ends
 * at the first NUL. ASCII (every name stowage and Proxmox write) reads the same in either
 * encoding and is taken as it is; only other bytes go through a `TextDecoder` (made on first use:
 * a listing of thousands of images needs none).
 */
function headerString(bytes: Buffer, start: number, end: number, encoding: 'utf-8' | 'latin1'): string {
  // latin1 gives one character per byte, so the NUL is found in the text
  let text = bytes.toString('latin1', start, end);
  const nul = text.indexOf('\0');
  if (nul >= 0) text = text.slice(0, nul);
  if (!NON_ASCII_RE.test(text)) return text;
  decoders ??= { latin1: new TextDecoder('latin1'), utf8: new TextDecoder('utf-8', { fatal: false }) };
  return (encoding === 'utf-8' ? decoders.utf8 : decoders.latin1).decode(bytes.subarray(start, start + text.length));
}

/** `invalid` when the file is shorter than `n` bytes, else `short` (more of it must be read). */
function need(fileSize: number, n: number): Qcow2ParseResult {
  return fileSize < n ? { status: 'invalid', reason: `truncated: ${fileSize} bytes, header needs ${n}` } : { status: 'short', need: n };
}

/**
 * Parses the header of a qcow2 image from the first bytes of the file.
 *
 * @param buf - the first bytes of the file (4 KiB is usually enough)
 * @param fileSize - the file's length; data the header points past it makes the image `invalid`
 * @returns `ok` with the header; `invalid` with a reason (not qcow2, truncated, corrupt fields,
 *   unknown incompatible features); or `short` with the number of leading bytes needed when
 *   `buf` ends before the header's data does but the file does not
 * @example
 * ```ts
 * const r = parseQcow2Header(await readHead(path, 4096), size);
 * if (r.status === 'ok') console.log(r.header.size, r.header.backingFile);
 * ```
 */
export function parseQcow2Header(buf: Uint8Array, fileSize: number): Qcow2ParseResult {
  const have = Math.min(buf.length, fileSize);
  if (have < 8) return need(fileSize, 8);
  const dv = view(buf);
  if (dv.getUint32(0) !== QCOW2_MAGIC) return { status: 'invalid', reason: 'no qcow2 magic' };
  const version = dv.getUint32(4);
  if (version !== 2 && version !== 3) return { status: 'invalid', reason: `unsupported qcow2 version ${version}` };
  if (have < V2_HEADER_BYTES) return need(fileSize, V2_HEADER_BYTES);
  const backingOffset = safeU64(dv, 8);
  const backingSize = dv.getUint32(16);
  const clusterBits = dv.getUint32(20);
  const size = safeU64(dv, 24);
  const cryptMethod = dv.getUint32(32);
  const snapshotCount = dv.getUint32(60);
  const snapshotsOffset = safeU64(dv, 64);
  if (clusterBits < 9 || clusterBits > 21) return { status: 'invalid', reason: `bad cluster_bits ${clusterBits}` };
  if (size === undefined) return { status: 'invalid', reason: 'virtual size out of range' };
  if (backingOffset === undefined) return { status: 'invalid', reason: 'backing file offset out of range' };
  if (snapshotsOffset === undefined) return { status: 'invalid', reason: 'snapshot table offset out of range' };
  const clusterSize = 2 ** clusterBits;

  let headerLength = V2_HEADER_BYTES;
  // the incompatible feature bits as two u32 halves; the BigInt the header reports is made once
  let featuresHigh = 0;
  let featuresLow = 0;
  if (version === 3) {
    if (have < V3_MIN_HEADER_BYTES) return need(fileSize, V3_MIN_HEADER_BYTES);
    featuresHigh = dv.getUint32(72);
    featuresLow = dv.getUint32(76);
    headerLength = dv.getUint32(100);
    if (headerLength < V3_MIN_HEADER_BYTES || headerLength % 8 !== 0 || headerLength > clusterSize) {
      return { status: 'invalid', reason: `bad header_length ${headerLength}` };
    }
  }
  const incompatible = featuresHigh === 0 ? BigInt(featuresLow) : dv.getBigUint64(72);
  if (featuresHigh !== 0 || (featuresLow & ~KNOWN_LOW) !== 0) {
    return { status: 'invalid', reason: `unknown incompatible features 0x${incompatible.toString(16)}` };
  }
  const bytes = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);

  let backingFile: string | undefined;
  if (backingOffset !== 0) {
    if (backingSize === 0 || backingSize > MAX_BACKING_NAME) return { status: 'invalid', reason: `bad backing file name length ${backingSize}` };
    if (backingOffset < headerLength || backingOffset + backingSize > clusterSize) {
      return { status: 'invalid', reason: `backing file name outside the first cluster` };
    }
    if (have < backingOffset + backingSize) return need(fileSize, backingOffset + backingSize);
    backingFile = headerString(bytes, backingOffset, backingOffset + backingSize, 'utf-8') || undefined;
  }

  const extensionsEnd = backingOffset !== 0 ? backingOffset : clusterSize;
  let backingFormat: string | undefined;
  let dataFile: string | undefined;
  let off = headerLength;
  for (;;) {
    if (off + 8 > extensionsEnd) break; // no room for another extension: the area simply ends
    if (have < off + 8) return need(fileSize, off + 8);
    const type = dv.getUint32(off);
    const len = dv.getUint32(off + 4);
    if (type === QCOW2_EXTENSION.end) break;
    const dataEnd = off + 8 + len;
    if (dataEnd > extensionsEnd) return { status: 'invalid', reason: `header extension 0x${type.toString(16)} overruns the header area` };
    if (have < dataEnd) return need(fileSize, dataEnd);
    if (type === QCOW2_EXTENSION.backingFormat) backingFormat = headerString(bytes, off + 8, dataEnd, 'latin1');
    else if (type === QCOW2_EXTENSION.dataFile) dataFile = headerString(bytes, off + 8, dataEnd, 'utf-8');
    off = off + 8 + Math.ceil(len / 8) * 8;
  }
  if ((featuresLow & DATA_FILE_BIT) !== 0) dataFile ??= '';

  return {
    status: 'ok',
    header: {
      version,
      size,
      clusterBits,
      backingFile,
      backingFormat,
      dataFile,
      incompatibleFeatures: incompatible,
      corrupt: (featuresLow & CORRUPT_BIT) !== 0,
      encrypted: cryptMethod !== 0,
      snapshotCount,
      snapshotsOffset,
    },
  };
}
