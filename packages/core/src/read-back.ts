/**
 * Reading a new volume back while it is written: a plugin that flushes an import's data in parts
 * may read each part back from the file once it is on the disk and hand it to a {@link ReadBack},
 * so that the check after a migration (the SHA-256 of the copy as stored) needs no second pass
 * over the whole volume once the stream has ended.
 *
 * @module
 */
import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { nodeCrypto } from './on-first-use.js';
import type { ReadBack } from './plugin-types.js';
import { encodeSizeHeader } from './transfer.js';

/** The SHA-256 of a volume's `raw+size` stream taken from what was read back: see {@link checksumReadBack}. */
export interface ChecksumReadBack extends ReadBack {
  /**
   * The checksum of the `raw+size` stream (size header, then the data), when every byte of the
   * volume was handed; `undefined` otherwise (nothing, or not all of it).
   */
  result(): { readonly bytes: number; readonly sha256: string } | undefined;
}

/**
 * Makes a {@link ReadBack} that hashes the volume's `raw+size` stream as `stowage checksum` does.
 *
 * @returns the read-back and its result
 * @example
 * ```ts
 * const readBack = checksumReadBack();
 * const volid = await manager.volumeImport(target, { format: 'raw+size', input, readBack });
 * const sum = readBack.result() ?? (await volumeChecksum(manager, volid));
 * ```
 */
export function checksumReadBack(): ChecksumReadBack {
  // made when the data begins: a receiving node answers before it loads the hashing code
  let hash: Hash | undefined;
  let size: number | undefined;
  let data = 0;
  return {
    begin(bytes: number): void {
      if (size !== undefined) throw new TypeError('a read-back begins once');
      size = bytes;
      hash = nodeCrypto().createHash('sha256').update(encodeSizeHeader(bytes));
    },
    update(chunk: Uint8Array): void {
      if (hash === undefined) throw new TypeError('a read-back begins with its size');
      data += chunk.length;
      hash.update(chunk);
    },
    result() {
      if (hash === undefined || size === undefined || data !== size) return undefined;
      return { bytes: encodeSizeHeader(size).length + size, sha256: hash.digest('hex') };
    },
  };
}

/** Bytes per read of {@link readBackRange}. */
const READ_BACK_BYTES = 1024 * 1024;

/**
 * Reads `[from, to)` of an open file into one buffer it reuses and hands each part to
 * `readBack.update`. Holes read as zeros; a file shorter than `to` fails.
 *
 * @param handle - the file, open for reading
 * @param from - the first byte
 * @param to - the byte after the last
 * @param readBack - where the bytes go
 * @throws Error when the file ends before `to`; the read's error
 */
export async function readBackRange(handle: FileHandle, from: number, to: number, readBack: ReadBack): Promise<void> {
  const buffer = Buffer.allocUnsafeSlow(Math.min(READ_BACK_BYTES, Math.max(1, to - from)));
  for (let at = from; at < to; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, to - at), at);
    if (bytesRead === 0) throw new Error(`the file ends at byte ${at}, before ${to}`);
    readBack.update(buffer.subarray(0, bytesRead));
    at += bytesRead;
  }
}

/** A {@link ReadBack} that passes everything on and knows how far it got: see {@link trackedReadBack}. */
export interface TrackedReadBack extends ReadBack {
  /** Whether `begin` was called. */
  readonly begun: boolean;
  /** Bytes handed on so far: where the rest of the read-back starts. */
  readonly done: number;
}

/**
 * Wraps a {@link ReadBack} so that a plugin handing it parts from several places (during the
 * writes, then the rest after its final flush) knows where the rest starts; a second `begin` is
 * ignored.
 *
 * @param readBack - the caller's read-back
 * @returns the wrapper
 */
export function trackedReadBack(readBack: ReadBack): TrackedReadBack {
  let begun = false;
  let done = 0;
  return {
    begin(size: number): void {
      if (begun) return;
      begun = true;
      readBack.begin(size);
    },
    update(chunk: Uint8Array): void {
      done += chunk.length;
      readBack.update(chunk);
    },
    get begun() {
      return begun;
    },
    get done() {
      return done;
    },
  };
}
