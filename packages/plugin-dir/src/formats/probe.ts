/**
 * Reads what an image file is (size, usage, backing file, data file, extents) natively: one
 * `fstat` and one or two reads of its first bytes, never a `qemu-img` process. Two drivers share
 * one interpreter: an asynchronous one (libuv thread pool) and a synchronous one for listings
 * of local directories, which a caller runs in short batches.
 *
 * Only regular files are read, and nothing here can block on a file: the type is checked with
 * `stat` first (which opens nothing), the file is opened with `O_NONBLOCK` (a FIFO swapped in
 * meanwhile opens at once instead of waiting for a writer) and checked again with `fstat`.
 *
 * @module
 */
import { close, closeSync, constants, fstat, fstatSync, open, openSync, read, readSync, stat, statSync, type Stats } from 'node:fs';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { StorageError, type VolumeFormat } from '@stowage/core';
import { errnoOf, fsError } from '@stowage/core/plugin';
import { probedFormat } from './format-sniff.js';
import { parseQcow2Header, type Qcow2Header } from './qcow2-header.js';
import { parseVmdk, type VmdkInfo } from './vmdk-descriptor.js';

const openP = promisify(open);
const fstatP = promisify(fstat);
const readP = promisify(read);
const closeP = promisify(close);
const statP = promisify(stat);

/** How many leading bytes the first read takes. */
export const HEAD_BYTES = 4096;
/** `open(2)` flags for reading a header: never waits for a FIFO's writer, never takes a terminal. */
const OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/**
 * The format to read a file as: one a name or header declares, or `detect` for a file whose
 * format nobody declared (a backing file without a recorded format: QEMU then probes the
 * content, and so does this reader, for the formats whose magic QEMU knows).
 */
export type ProbeFormat = VolumeFormat | 'detect';
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

function fileType(st: Stats): string {
  if (st.isFIFO()) return 'a FIFO';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isDirectory()) return 'a directory';
  return 'not a regular file';
}

/** Throws `CORRUPT` unless the stat is a regular file's: an image is never read from anything else. */
function assertRegular(path: string, st: Stats): void {
  if (st.isFile()) return;
  const type = fileType(st);
  throw new StorageError('CORRUPT', `'${path}' is ${type}, not an image file`, { details: { path, fileType: type } });
}

function invalidProbe(st: Stats, reason: string): ImageProbe {
  return { format: 'invalid', size: st.size, used: st.blocks * 512, ctime: Math.floor(st.ctimeMs / 1000), invalidReason: reason, backingFile: undefined };
}

/**
 * Interprets a file's leading bytes: the probe, or how many leading bytes are needed.
 *
 * @param format - the format the name says
 * @param st - the file's stat
 * @param head - its leading bytes (as many as were read)
 */
function interpret(path: string, declared: ProbeFormat, st: Stats, head: Uint8Array): ImageProbe | number {
  const used = st.blocks * 512;
  const ctime = Math.floor(st.ctimeMs / 1000);
  const format = declared === 'detect' ? probedFormat(head, basename(path)) : declared;
  let r;
  // object literals, not a spread of shared fields: a listing makes one of these per image
  if (format === 'raw') return { format, size: st.size, used, ctime, backingFile: undefined };
  if (format === 'qcow2') {
    r = parseQcow2Header(head, st.size);
    if (r.status === 'ok') return { format, size: r.header.size, used, ctime, qcow2: r.header, backingFile: r.header.backingFile };
  } else if (format === 'vmdk') {
    r = parseVmdk(head, st.size);
    if (r.status === 'ok') return { format, size: r.info.size, used, ctime, vmdk: r.info, backingFile: r.info.parent };
  } else if (declared === 'detect') {
    return invalidProbe(st, `QEMU would open it as '${format}', a format this plugin does not read`);
  } else {
    return invalidProbe(st, `format '${format}' is not a file image`);
  }
  if (r.status === 'invalid') return invalidProbe(st, r.reason);
  if (r.need > MAX_HEAD_BYTES || head.length >= r.need) return invalidProbe(st, 'header larger than this reader accepts');
  return r.need;
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

function readHeadSync(fd: number, buf: Buffer, length: number): Buffer {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, got, length - got, got);
    if (n === 0) break;
    got += n;
  }
  // the whole buffer read (a listing's usual case): no view of it to make
  return got === buf.length ? buf : buf.subarray(0, got);
}

function missing(e: unknown): boolean {
  return errnoOf(e) === 'ENOENT';
}

/**
 * Inspects an image file natively. A FIFO, socket, device or directory under the name is never
 * opened (see the module's description).
 *
 * @param path - the file
 * @param format - the format its name says, or `detect`
 * @param scratch - a buffer of at least {@link HEAD_BYTES} to reuse across calls (one per concurrent caller)
 * @returns the probe, or `undefined` when the file does not exist
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when it is not a regular file; mapped
 *   filesystem errors
 * @example
 * ```ts
 * const p = await probeImage('/var/lib/vz/images/101/vm-101-disk-0.qcow2', 'qcow2');
 * p?.backingFile; // '../100/base-100-disk-0.qcow2'
 * ```
 */
export async function probeImage(path: string, format: ProbeFormat, scratch: Buffer = Buffer.allocUnsafe(HEAD_BYTES)): Promise<ImageProbe | undefined> {
  let fd: number;
  try {
    const st = await statP(path);
    assertRegular(path, st);
    if (format === 'raw') return interpret(path, format, st, scratch) as ImageProbe;
    fd = await openP(path, OPEN_FLAGS);
  } catch (e) {
    if (missing(e)) return undefined;
    throw fsError(e, `cannot open '${path}'`, { path });
  }
  try {
    const st = await fstatP(fd);
    assertRegular(path, st);
    let r = interpret(path, format, st, await readHead(fd, scratch, Math.min(scratch.length, st.size)));
    while (typeof r === 'number') r = interpret(path, format, st, await readHead(fd, Buffer.allocUnsafe(r), r));
    return r;
  } catch (e) {
    throw fsError(e, `cannot read '${path}'`, { path });
  } finally {
    await closeP(fd).catch(() => undefined);
  }
}

/**
 * {@link probeImage} with synchronous system calls: for listing a local directory in short
 * batches, where the thread-pool round trips would cost several times the calls themselves.
 * It cannot block on a FIFO either.
 *
 * @param path - the file
 * @param format - the format its name says, or `detect`
 * @param scratch - a buffer of at least {@link HEAD_BYTES}
 * @param listedRegular - the directory entry of this very name (not a symlink) was just read as
 *   a regular file: the `stat` before opening then tells nothing new (a file swapped in since
 *   could be swapped in after that `stat` too), so it is left out; the `fstat` after opening
 *   still refuses anything but a regular file, and the open cannot block
 * @returns the probe, or `undefined` when the file does not exist
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when it is not a regular file; mapped
 *   filesystem errors
 */
export function probeImageSync(path: string, format: ProbeFormat, scratch: Buffer, listedRegular = false): ImageProbe | undefined {
  let fd: number;
  try {
    if (!listedRegular || format === 'raw') {
      const st = statSync(path);
      assertRegular(path, st);
      if (format === 'raw') return interpret(path, format, st, scratch) as ImageProbe;
    }
    fd = openSync(path, OPEN_FLAGS);
  } catch (e) {
    if (missing(e)) return undefined;
    throw fsError(e, `cannot open '${path}'`, { path });
  }
  try {
    const st = fstatSync(fd);
    assertRegular(path, st);
    let r = interpret(path, format, st, readHeadSync(fd, scratch, Math.min(scratch.length, st.size)));
    while (typeof r === 'number') r = interpret(path, format, st, readHeadSync(fd, Buffer.allocUnsafe(r), r));
    return r;
  } catch (e) {
    throw fsError(e, `cannot read '${path}'`, { path });
  } finally {
    try {
      closeSync(fd);
    } catch {
      // nothing to do
    }
  }
}
