/**
 * Checksums of volume data: a pass-through stream that hashes what flows through it, and the
 * SHA-256 of a volume's `raw+size` stream taken where the volume is.
 *
 * @module
 */
import type { Transform, TransformCallback } from 'node:stream';
import type { ExportOptions } from '../manager/transfer-ops.js';
import { consumingSink } from '../consuming-sink.js';
import { nodeCrypto, nodeStream } from '../on-first-use.js';
import type { VolumeChecksum } from './node.js';

/** A pass-through stream that hashes the bytes flowing through it. */
export interface HashingStream extends Transform {
  /** The SHA-256 (hex) and byte count of what passed; call once the stream has ended. */
  digest(): { sha256: string; bytes: number };
}

/**
 * Makes a pass-through stream that computes the SHA-256 of everything written to it.
 *
 * @example
 * ```ts
 * const hash = hashingStream();
 * await pipeline(source, hash, target);
 * console.log(hash.digest().sha256);
 * ```
 */
export function hashingStream(): HashingStream {
  const hash = nodeCrypto().createHash('sha256');
  let bytes = 0;
  let result: { sha256: string; bytes: number } | undefined;
  const stream = new (nodeStream().Transform)({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      hash.update(chunk);
      bytes += chunk.length;
      cb(null, chunk);
    },
  });
  return Object.assign(stream, {
    digest: () => (result ??= { sha256: hash.digest('hex'), bytes }),
  });
}

/** What {@link volumeChecksum} needs of a manager: its export (a `StorageManager` has it). */
export interface VolumeExporter {
  /** Writes the volume to `options.output` in `options.format`. */
  volumeExport(volid: string, options: ExportOptions): Promise<unknown>;
}

/**
 * The SHA-256 of a volume's `raw+size` stream (the 8-byte size header, then the raw data), read
 * through the manager's export. What `stowage checksum` prints, and what a migration takes of its
 * source and compares with the copy's read-back.
 *
 * @param manager - the manager that holds the volume
 * @param volid - the volume
 * @param options - `signal` to abort
 * @returns the checksum
 * @throws {@link StorageError} `NOT_FOUND`, `NOT_SUPPORTED` (no `raw+size` export), `ABORTED`
 */
export async function volumeChecksum(manager: VolumeExporter, volid: string, options: { readonly signal?: AbortSignal | undefined } = {}): Promise<VolumeChecksum> {
  const hash = nodeCrypto().createHash('sha256');
  let bytes = 0;
  // a consuming sink: a raw file's export reads into two buffers it reuses (see exportRawFile)
  const sink = consumingSink((chunk) => {
    hash.update(chunk);
    bytes += chunk.length;
  });
  await manager.volumeExport(volid, { format: 'raw+size', output: sink, signal: options.signal });
  return { volid, format: 'raw+size', bytes, sha256: hash.digest('hex') };
}
