/**
 * A native reader of the qcow2 header (versions 2 and 3): enough to list an image without
 * running `qemu-img info` (virtual size, backing file) and to judge whether an image from
 * outside is safe to use (external data file, unknown incompatible features). Pure.
 *
 * Layout (big-endian) from the qcow2 specification in QEMU's `docs/interop/qcow2.txt`.
 *
 * @module
 */
import { isAscii } from 'node:buffer';
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

function safeU64(dv: DataView, offset: number): number | undefined {
  const v = dv.getBigUint64(offset);
  return v > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(v);
}

let decoders: { readonly latin1: TextDecoder; readonly utf8: TextDecoder } | undefined;

/**
 * A name stored in the header, read as QEMU reads it: a C string, which ends at the first NUL.
 * ASCII (every name stowage and Proxmox write) reads the same in either encoding and is taken
 * as it is; only other bytes go through a `TextDecoder` (made on first use: a listing of
 * thousands of images needs none).
 */
function headerString(bytes: Uint8Array, encoding: 'utf-8' | 'latin1'): string {
  const nul = bytes.indexOf(0);
  const name = nul < 0 ? bytes : bytes.subarray(0, nul);
  if (isAscii(name)) return Buffer.from(name.buffer, name.byteOffset, name.length).toString('latin1');
  decoders ??= { latin1: new TextDecoder('latin1'), utf8: new TextDecoder('utf-8', { fatal: false }) };
  return (encoding === 'utf-8' ? decoders.utf8 : decoders.latin1).decode(name);
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
  const need = (n: number): Qcow2ParseResult =>
    fileSize < n ? { status: 'invalid', reason: `truncated: ${fileSize} bytes, header needs ${n}` } : { status: 'short', need: n };
  if (have < 8) return need(8) as Qcow2ParseResult;
  const dv = view(buf);
  if (dv.getUint32(0) !== QCOW2_MAGIC) return { status: 'invalid', reason: 'no qcow2 magic' };
  const version = dv.getUint32(4);
  if (version !== 2 && version !== 3) return { status: 'invalid', reason: `unsupported qcow2 version ${version}` };
  if (have < V2_HEADER_BYTES) return need(V2_HEADER_BYTES);
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
  let incompatible = 0n;
  if (version === 3) {
    if (have < V3_MIN_HEADER_BYTES) return need(V3_MIN_HEADER_BYTES);
    incompatible = dv.getBigUint64(72);
    headerLength = dv.getUint32(100);
    if (headerLength < V3_MIN_HEADER_BYTES || headerLength % 8 !== 0 || headerLength > clusterSize) {
      return { status: 'invalid', reason: `bad header_length ${headerLength}` };
    }
  }
  if ((incompatible & ~KNOWN_INCOMPATIBLE) !== 0n) {
    return { status: 'invalid', reason: `unknown incompatible features 0x${incompatible.toString(16)}` };
  }

  let backingFile: string | undefined;
  if (backingOffset !== 0) {
    if (backingSize === 0 || backingSize > MAX_BACKING_NAME) return { status: 'invalid', reason: `bad backing file name length ${backingSize}` };
    if (backingOffset < headerLength || backingOffset + backingSize > clusterSize) {
      return { status: 'invalid', reason: `backing file name outside the first cluster` };
    }
    if (have < backingOffset + backingSize) return need(backingOffset + backingSize);
    backingFile = headerString(buf.subarray(backingOffset, backingOffset + backingSize), 'utf-8') || undefined;
  }

  const extensionsEnd = backingOffset !== 0 ? backingOffset : clusterSize;
  let backingFormat: string | undefined;
  let dataFile: string | undefined;
  let off = headerLength;
  for (;;) {
    if (off + 8 > extensionsEnd) break; // no room for another extension: the area simply ends
    if (have < off + 8) return need(off + 8);
    const type = dv.getUint32(off);
    const len = dv.getUint32(off + 4);
    if (type === QCOW2_EXTENSION.end) break;
    const dataEnd = off + 8 + len;
    if (dataEnd > extensionsEnd) return { status: 'invalid', reason: `header extension 0x${type.toString(16)} overruns the header area` };
    if (have < dataEnd) return need(dataEnd);
    const data = buf.subarray(off + 8, dataEnd);
    if (type === QCOW2_EXTENSION.backingFormat) backingFormat = headerString(data, 'latin1');
    else if (type === QCOW2_EXTENSION.dataFile) dataFile = headerString(data, 'utf-8');
    off = off + 8 + Math.ceil(len / 8) * 8;
  }
  if ((incompatible & QCOW2_INCOMPATIBLE.externalDataFile) !== 0n) dataFile ??= '';

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
      corrupt: (incompatible & QCOW2_INCOMPATIBLE.corrupt) !== 0n,
      encrypted: cryptMethod !== 0,
      snapshotCount,
      snapshotsOffset,
    },
  };
}
