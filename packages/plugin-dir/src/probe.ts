/**
 * Reads what an image file is (size, usage, backing file, data file, extents) natively: one
 * `fstat` and one or two reads of its first bytes, never a `qemu-img` process.
 *
 * @module
 */
import { close, fstat, open, read, stat, type Stats } from 'node:fs';
import { promisify } from 'node:util';
import type { VolumeFormat } from '@stowage/core';
import { parseQcow2Header, type Qcow2Header } from './qcow2-header.js';
import { parseVmdk, type VmdkInfo } from './vmdk-descriptor.js';
import { errnoOf, fsError } from './fs-util.js';

const openP = promisify(open);
const fstatP = promisify(fstat);
const readP = promisify(read);
const closeP = promisify(close);
const statP = promisify(stat);

/** How many leading bytes the first read takes. */
export const HEAD_BYTES = 4096;
/** The most leading bytes a header may need before the file is judged invalid. */
const MAX_HEAD_BYTES = 1024 * 1024;

/** What {@link probeImage} found. */
export interface ImageProbe {
  /** The format the name says, or `invalid` when the content is not that format (or is truncated). */
  readonly format: VolumeFormat | 'invalid';
  /** Virtual size in bytes (the file length for raw and for invalid files). */
  readonly size: number;
  /** Bytes allocated on disk. */
  readonly used: number;
  /** Change time, seconds since the epoch. */
  readonly ctime: number;
  /** Why the file is `invalid`. */
  readonly invalidReason?: string | undefined;
  /** The qcow2 header, for qcow2. */
  readonly qcow2?: Qcow2Header | undefined;
  /** The vmdk facts, for vmdk. */
  readonly vmdk?: VmdkInfo | undefined;
  /** The backing file (qcow2) or parent hint (vmdk), as stored. */
  readonly backingFile: string | undefined;
}

function base(st: Stats): { size: number; used: number; ctime: number } {
  return { size: st.size, used: st.blocks * 512, ctime: Math.floor(st.ctimeMs / 1000) };
}

function invalidProbe(st: Stats, reason: string): ImageProbe {
  return { format: 'invalid', ...base(st), invalidReason: reason, backingFile: undefined };
}

async function readHead(fd: number, buf: Buffer, length: number): Promise<Buffer> {
  let got = 0;
  while (got < length) {
    const { bytesRead } = await readP(fd, buf, got, length - got, got);
    if (bytesRead === 0) break;
    got += bytesRead;
  }
  return buf.subarray(0, got);
}

type Parsed = ReturnType<typeof parseQcow2Header> | ReturnType<typeof parseVmdk>;

/**
 * Parses a file's leading bytes with `parse`, reading more while the parser asks for it.
 *
 * @param fd - an open file
 * @param st - its stat
 * @param scratch - a reusable buffer of {@link HEAD_BYTES}
 * @param parse - the header parser
 */
async function parseHead<R extends Parsed>(fd: number, st: Stats, scratch: Buffer, parse: (b: Uint8Array, size: number) => R): Promise<R> {
  let head = await readHead(fd, scratch, Math.min(scratch.length, st.size));
  for (;;) {
    const r = parse(head, st.size);
    if (r.status !== 'short') return r;
    if (r.need > MAX_HEAD_BYTES || head.length >= r.need) return { status: 'invalid', reason: 'header larger than this reader accepts' } as R;
    head = await readHead(fd, Buffer.allocUnsafe(r.need), r.need);
  }
}

/**
 * Inspects an image file natively.
 *
 * @param path - the file
 * @param format - the format its name says
 * @param scratch - a buffer of at least {@link HEAD_BYTES} to reuse across calls (one per concurrent caller)
 * @returns the probe, or `undefined` when the file does not exist (or is not a regular file)
 * @throws {@link StorageError} on other filesystem errors
 * @example
 * ```ts
 * const p = await probeImage('/var/lib/vz/images/101/vm-101-disk-0.qcow2', 'qcow2');
 * p?.backingFile; // '../100/base-100-disk-0.qcow2'
 * ```
 */
export async function probeImage(path: string, format: VolumeFormat, scratch: Buffer = Buffer.allocUnsafe(HEAD_BYTES)): Promise<ImageProbe | undefined> {
  if (format === 'raw') {
    let st: Stats;
    try {
      st = await statP(path);
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw fsError(e, `cannot stat '${path}'`, { path });
    }
    if (!st.isFile()) return undefined;
    return { format: 'raw', ...base(st), backingFile: undefined };
  }
  let fd: number;
  try {
    fd = await openP(path, 'r');
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return undefined;
    throw fsError(e, `cannot open '${path}'`, { path });
  }
  try {
    const st = await fstatP(fd);
    if (!st.isFile()) return undefined;
    if (format === 'qcow2') {
      const r = await parseHead(fd, st, scratch, parseQcow2Header);
      if (r.status !== 'ok') return invalidProbe(st, r.status === 'invalid' ? r.reason : 'truncated');
      return { format, ...base(st), size: r.header.size, qcow2: r.header, backingFile: r.header.backingFile };
    }
    if (format === 'vmdk') {
      const r = await parseHead(fd, st, scratch, parseVmdk);
      if (r.status !== 'ok') return invalidProbe(st, r.status === 'invalid' ? r.reason : 'truncated');
      return { format, ...base(st), size: r.info.size, vmdk: r.info, backingFile: r.info.parent };
    }
    return invalidProbe(st, `format '${format}' is not a file image`);
  } catch (e) {
    throw fsError(e, `cannot read '${path}'`, { path });
  } finally {
    await closeP(fd).catch(() => undefined);
  }
}
