/**
 * The internal snapshot table of a qcow2 image, read natively for what `qemu-img info` does not
 * report: the virtual size each snapshot has (`qemu-img convert -l` reads a snapshot at the
 * image's current size, `qemu-img snapshot -a` restores the snapshot's own).
 *
 * Layout (qcow2 specification, "Snapshots"): the header's `nb_snapshots` (u32 at 60) entries start at
 * `snapshots_offset` (u64 at 64). Each entry: L1 offset (u64), L1 size (u32), id length (u16),
 * name length (u16), date (2 × u32), VM clock (u64), VM state size (u32), extra data length
 * (u32), the extra data (bytes 8–15: the virtual disk size), the id, the name, padding to 8 bytes.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import { StorageError } from '@stowage/core';

/** One entry of the snapshot table. */
export interface Qcow2Snapshot {
  /** The snapshot's id. */
  readonly id: string;
  /** Its name. */
  readonly name: string;
  /** The virtual size when it was taken; `undefined` when the entry does not record it (QEMU then takes the current size). */
  readonly diskSize: number | undefined;
}

/** The result of {@link parseQcow2SnapshotTable}. */
export type Qcow2SnapshotsResult =
  | { readonly status: 'ok'; readonly snapshots: readonly Qcow2Snapshot[] }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'short'; readonly need: number };

const ENTRY_FIXED_BYTES = 40;
/** QEMU refuses snapshot tables larger than this (`QCOW_MAX_SNAPSHOTS_SIZE`). */
export const MAX_SNAPSHOT_TABLE_BYTES = 64 * 1024 * 1024;

/**
 * Parses a snapshot table.
 *
 * @param buf - the bytes from `snapshots_offset` on (as many as were read)
 * @param count - `nb_snapshots` from the header
 * @returns the entries in table order; `short` with the number of bytes needed when `buf` ends
 *   inside an entry; `invalid` when the table is larger than QEMU accepts
 * @example
 * ```ts
 * const r = parseQcow2SnapshotTable(await readFile('snaps.table'), 2);
 * if (r.status === 'ok') r.snapshots.map((s) => [s.name, s.diskSize]); // [['first', 16777216], ...]
 * ```
 */
export function parseQcow2SnapshotTable(buf: Uint8Array, count: number): Qcow2SnapshotsResult {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const text = (from: number, length: number): string => Buffer.from(buf.buffer, buf.byteOffset + from, length).toString('utf8');
  const snapshots: Qcow2Snapshot[] = [];
  let off = 0;
  for (let i = 0; i < count; i++) {
    if (off + ENTRY_FIXED_BYTES > MAX_SNAPSHOT_TABLE_BYTES) return { status: 'invalid', reason: 'snapshot table larger than QEMU accepts' };
    if (buf.length < off + ENTRY_FIXED_BYTES) return { status: 'short', need: off + ENTRY_FIXED_BYTES };
    const idLength = dv.getUint16(off + 12);
    const nameLength = dv.getUint16(off + 14);
    const extraLength = dv.getUint32(off + 36);
    const end = off + ENTRY_FIXED_BYTES + extraLength + idLength + nameLength;
    if (end > MAX_SNAPSHOT_TABLE_BYTES) return { status: 'invalid', reason: 'snapshot table larger than QEMU accepts' };
    if (buf.length < end) return { status: 'short', need: end };
    const extra = off + ENTRY_FIXED_BYTES;
    const size = extraLength >= 16 ? dv.getBigUint64(extra + 8) : undefined;
    snapshots.push({
      id: text(extra + extraLength, idLength),
      name: text(extra + extraLength + idLength, nameLength),
      diskSize: size === undefined || size > BigInt(Number.MAX_SAFE_INTEGER) ? undefined : Number(size),
    });
    off = Math.ceil(end / 8) * 8;
  }
  return { status: 'ok', snapshots };
}

/**
 * Reads the snapshot table of a qcow2 file (an admitted image: a regular file of the storage).
 *
 * @param path - the image
 * @param table - `snapshots_offset` and `nb_snapshots` from its header
 * @returns the entries in table order
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the table is cut short or too large
 */
export async function readQcow2Snapshots(path: string, table: { readonly offset: number; readonly count: number }): Promise<readonly Qcow2Snapshot[]> {
  if (table.count === 0) return [];
  const fh = await open(path, 'r');
  try {
    for (let want = 64 * 1024; ; ) {
      const buf = Buffer.alloc(want);
      const { bytesRead } = await fh.read(buf, 0, want, table.offset);
      const r = parseQcow2SnapshotTable(buf.subarray(0, bytesRead), table.count);
      if (r.status === 'ok') return r.snapshots;
      if (r.status === 'short' && bytesRead === want) {
        want = r.need;
        continue;
      }
      const reason = r.status === 'invalid' ? r.reason : 'snapshot table cut short';
      throw new StorageError('CORRUPT', `'${path}': ${reason}`, { details: { path } });
    }
  } finally {
    await fh.close();
  }
}
