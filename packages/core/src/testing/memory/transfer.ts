/**
 * `raw+size` export and import of the `memory` plugin.
 *
 * @module
 */
import { once } from 'node:events';
import { StorageError } from '../../errors.js';
import type { PluginContext, VolumeExportRequest, VolumeImportRequest } from '../../plugin-types.js';
import { countingStream, encodeSizeHeader, readSizeHeader, SIZE_HEADER_BYTES } from '../../transfer.js';
import { createArgs, destroyArgs, readArgs, setArgs, writeArgs } from './commands.js';
import type { MemoryConfig } from './config.js';
import { rethrowClassified } from './parse.js';
import type { MemoryPlugin } from './plugin.js';
import { memoryPool } from './plugin.js';

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
 * @param plugin - the plugin instance
 * @param ctx - the operation context
 * @param request - volume, format (`raw+size`), output, snapshot, progress
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` for other formats, `NOT_FOUND`
 */
export async function exportRaw(plugin: MemoryPlugin, ctx: PluginContext<MemoryConfig>, request: VolumeExportRequest): Promise<void> {
  onlyRawSize(request, 'export');
  const record = await plugin.find(ctx, request.volume);
  let size = record.size;
  if (request.snapshot !== undefined) {
    const snap = (await plugin.snapshots(ctx, request.volume)).find((s) => s.name === request.snapshot);
    if (!snap) {
      throw new StorageError('NOT_FOUND', `snapshot '${request.snapshot}' of '${request.volume.volname}' does not exist`, {
        details: { volname: request.volume.volname, snapshot: request.snapshot },
      });
    }
    size = snap.size;
  }
  const counter = countingStream(request.onProgress, SIZE_HEADER_BYTES + size);
  counter.pipe(request.output, { end: false });
  const drained = once(counter, 'end');
  counter.write(encodeSizeHeader(size));
  try {
    await ctx.run(readArgs(memoryPool(ctx), record.name, request.snapshot), { stdout: counter });
  } catch (e) {
    counter.unpipe(request.output);
    counter.destroy();
    rethrowClassified(e, { volname: request.volume.volname });
  }
  counter.end();
  await drained;
}

/**
 * Makes a new volume from a `raw+size` stream: reads the header, creates the volume (a free name
 * when the requested one is taken and `allowRename` is set), writes the bytes, and marks a base
 * read-only. Any failure after the volume was created destroys it again.
 *
 * @param plugin - the plugin instance
 * @param ctx - the operation context
 * @param request - target volume, format, input, allowRename, progress
 * @returns the volname written (a linked-clone target is written as a plain, full volume)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `ALREADY_EXISTS`, `INVALID_ARGUMENT` (truncated
 *   or overlong stream, empty volume), `NO_SPACE`
 */
export async function importRaw(plugin: MemoryPlugin, ctx: PluginContext<MemoryConfig>, request: VolumeImportRequest): Promise<string> {
  onlyRawSize(request, 'import');
  if (request.snapshot !== undefined) {
    throw new StorageError('NOT_SUPPORTED', 'memory storage cannot import into a snapshot', { details: { snapshot: request.snapshot } });
  }
  const v = request.volume;
  const size = await readSizeHeader(request.input, ctx.signal);
  if (size === 0) throw new StorageError('INVALID_ARGUMENT', 'the stream holds an empty volume', { details: { volname: v.volname } });
  const pool = memoryPool(ctx);
  let name = v.name;
  if (request.allowRename && (await plugin.listed(ctx)).some((l) => l.record.name === name)) {
    name = await plugin.findFreeDiskname(ctx, { vmid: v.vmid!, base: v.isBase });
  }
  await ctx.run(createArgs(pool, name, size)).catch((e: unknown) => rethrowClassified(e, { volname: v.volname }));
  ctx.cache.invalidate();
  const counter = countingStream(request.onProgress, size);
  const forwardError = (e: Error): void => {
    counter.destroy(e);
  };
  request.input.on('error', forwardError);
  request.input.pipe(counter);
  try {
    await ctx.run(writeArgs(pool, name, size), { stdin: counter });
    if (v.isBase) await ctx.run(setArgs(pool, name, 'readonly', '1'));
  } catch (e) {
    request.input.unpipe(counter);
    await ctx.run(destroyArgs(pool, name)).catch((undo: unknown) => {
      ctx.log.warn('could not remove the volume of a failed import', { name, error: String(undo) });
    });
    ctx.cache.invalidate();
    rethrowClassified(e, { volname: v.volname });
  } finally {
    request.input.off('error', forwardError);
  }
  return name;
}
