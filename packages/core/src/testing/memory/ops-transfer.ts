/**
 * `raw+size` export and import of the `memory` plugin.
 *
 * @module
 */
import { pipeline } from 'node:stream';
import { StorageError } from '../../errors.js';
import type { VolumeExportRequest, VolumeImportRequest } from '../../plugin-types.js';
import { exactLength } from '../../exact-length.js';
import { encodeSizeHeader, forwardInto, readSizeHeader, SIZE_HEADER_BYTES } from '../../transfer.js';
import { writeAll } from '../../write-all.js';
import { currentOwner, formatOwner } from '../../owner.js';
import { reportProgress } from '../../progress.js';
import { createArgs, destroyIdentifiedArgs, readArgs, setArgs, writeArgs } from './commands.js';
import { INCOMPLETE_PROP, memoryPool } from './config.js';
import { find, records, runMemory, snapshotNotFound, snapshots, type MemoryContext } from './exec.js';
import { findFreeDiskname } from './ops-read.js';
import { parseCreated } from './parse.js';

function onlyRawSize(request: VolumeExportRequest | VolumeImportRequest, what: string): void {
  if (request.format !== 'raw+size') {
    throw new StorageError('NOT_SUPPORTED', `memory storage cannot ${what} '${request.format}'`, { details: { format: request.format } });
  }
  if (request.withSnapshots || request.baseSnapshot !== undefined) {
    throw new StorageError('NOT_SUPPORTED', `memory storage cannot ${what} snapshots or increments`, { details: { format: request.format } });
  }
}

/**
 * Writes the 8-byte size header and then the volume's (or snapshot's) bytes into the output,
 * which is left open.
 *
 * @param ctx - the operation context
 * @param request - volume, format (`raw+size`), output, snapshot, progress
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` for other formats, `NOT_FOUND`
 */
export async function volumeExport(ctx: MemoryContext, request: VolumeExportRequest): Promise<void> {
  onlyRawSize(request, 'export');
  const record = await find(ctx, request.volume);
  let size = record.size;
  if (request.snapshot !== undefined) {
    const snap = (await snapshots(ctx, request.volume)).find((s) => s.name === request.snapshot);
    if (!snap) throw snapshotNotFound(request.volume, request.snapshot);
    size = snap.size;
  }
  const total = SIZE_HEADER_BYTES + size;
  await writeAll(request.output, encodeSizeHeader(size));
  reportProgress(request.onProgress, { done: SIZE_HEADER_BYTES, total });
  const sink = forwardInto(request.output, request.onProgress, total, SIZE_HEADER_BYTES);
  try {
    await runMemory(ctx, readArgs(memoryPool(ctx), record.name, request.snapshot), { volname: request.volume.volname }, { stdout: sink.stream });
    await sink.finish();
  } catch (e) {
    sink.stream.destroy();
    throw e;
  }
}

/**
 * Makes a new volume from a `raw+size` stream: reads the header, creates the volume marked
 * unfinished (with this process's owner token) under a name that is free (a free one when the
 * requested one is taken and `allowRename` is set), tells the manager the name is reserved,
 * writes the bytes, marks a base read-only, and only then clears the mark. Any failure destroys
 * the volume it created, checked by guid, never another one that took the name.
 *
 * @param ctx - the operation context
 * @param request - target volume, format, input, allowRename, progress
 * @returns the volname written (a linked-clone target is written as a plain, full volume)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `ALREADY_EXISTS`, `INVALID_ARGUMENT` (truncated
 *   or overlong stream, empty volume), `NO_SPACE`
 */
export async function volumeImport(ctx: MemoryContext, request: VolumeImportRequest): Promise<string> {
  onlyRawSize(request, 'import');
  if (request.snapshot !== undefined) {
    throw new StorageError('NOT_SUPPORTED', 'memory storage cannot import into a snapshot', { details: { snapshot: request.snapshot } });
  }
  const v = request.volume;
  const size = await readSizeHeader(request.input, ctx.signal);
  if (size === 0) throw new StorageError('INVALID_ARGUMENT', 'the stream holds an empty volume', { details: { volname: v.volname } });
  const pool = memoryPool(ctx);
  let name = v.name;
  if (request.allowRename && (await records(ctx)).some((r) => r.name === name)) {
    name = await findFreeDiskname(ctx, { vmid: v.vmid!, base: v.isBase });
  }
  const owner = formatOwner(currentOwner(ctx.node));
  const created = await runMemory(ctx, createArgs(pool, name, size, { [INCOMPLETE_PROP]: owner }), { volname: v.volname });
  const guid = parseCreated(created.stdout);
  ctx.cache.invalidate();
  ctx.nameReserved();
  // exactly the announced bytes, or INVALID_ARGUMENT; pipeline (not pipe) also fails the
  // payload when the input was destroyed before this point
  const payload = exactLength(size, { onProgress: request.onProgress });
  pipeline(request.input, payload, () => undefined);
  try {
    await runMemory(ctx, writeArgs(pool, name, size), { volname: v.volname }, { stdin: payload });
    if (v.isBase) await runMemory(ctx, setArgs(pool, name, 'readonly', '1'), { volname: v.volname });
    await runMemory(ctx, setArgs(pool, name, INCOMPLETE_PROP), { volname: v.volname });
  } catch (e) {
    payload.destroy();
    await runMemory(ctx, destroyIdentifiedArgs(pool, name, guid)).catch((undo: unknown) => {
      ctx.log.warn('could not remove the volume of a failed import', { name, error: String(undo) });
    });
    ctx.cache.invalidate();
    throw e;
  }
  return name;
}
