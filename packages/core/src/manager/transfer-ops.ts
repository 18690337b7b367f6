/**
 * The manager's export, import and copy: format checks, progress counting, and name
 * reservation. An import takes the target storage's lock, chooses or checks the name, and lets
 * the plugin reserve it (`ctx.nameReserved()`) before the lock is given back; no lock is held
 * while data flows. A failed import is undone by the plugin, which alone knows the identity of
 * what it made: the manager never frees a volume by name after a failure.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import { finished } from 'node:stream/promises';
import type { StreamFormat, VolumeFormat } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import type { ParsedVolume, PluginContext, ProgressCallback, ReadBack, TransferOptions } from '../plugin-types.js';
import { countingStream, forwardInto, hasSizeHeader, negotiateFormat } from '../transfer.js';
import { assertValidVmid, formatDiskName, parseVolumeId } from '../volume-id.js';
import { copyFailure } from './copy-failure.js';
import { chooseBeforeLock, confirmName, rememberMade, type NameChoice } from './free-names.js';
import { assertDiskNameFor, assertSnapshotReference } from './input.js';
import { MIGRATION_SNAPSHOT } from './snapshot-names.js';
import { parseWith, type ManagerState, type ResolvedVolume, type StorageEntry } from './state.js';

/** Options of {@link StorageManager.volumeExport}. */
export interface ExportOptions extends TransferOptions {
  /** The stream format to write; one of `volumeExportFormats`. */
  readonly format: StreamFormat;
  /** Where the stream goes. It is not ended, so more can be written after it. */
  readonly output: Writable;
  /** Receives `{ done, total }` as bytes are written (`total` from the size header of `+size` formats). */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts the export (code `ABORTED`). */
  readonly signal?: AbortSignal | undefined;
}

/** Options of {@link StorageManager.volumeImport}. */
export interface ImportOptions extends TransferOptions {
  /** The stream format to read; one of `volumeImportFormats`. */
  readonly format: StreamFormat;
  /** Where the stream comes from. */
  readonly input: Readable;
  /** When the target name is taken, import under a free name instead of failing. */
  readonly allowRename?: boolean | undefined;
  /** Receives `{ done, total }` as bytes are read. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts the import (code `ABORTED`); what was made is removed. */
  readonly signal?: AbortSignal | undefined;
  /** The new volume's data as read back by the plugin once flushed, if it can (see `VolumeImportRequest.readBack`). */
  readonly readBack?: ReadBack | undefined;
}

/** Options of {@link StorageManager.copyVolume}. */
export interface CopyOptions {
  /** The guest that owns the copy; the source's by default. */
  readonly vmid?: number | undefined;
  /** The copy's disk name (`vm-<vmid>-...`); a free `vm-<vmid>-disk-<n>` by default. */
  readonly name?: string | undefined;
  /** The copy's image format; the source's when the target supports it, else the target's default. */
  readonly format?: VolumeFormat | undefined;
  /** Copy the snapshots too (formats that carry them). */
  readonly withSnapshots?: boolean | undefined;
  /** Receives `{ done, total }` in stream bytes. */
  readonly onProgress?: ProgressCallback | undefined;
  /** Aborts the copy (code `ABORTED`); the half-made target is removed. */
  readonly signal?: AbortSignal | undefined;
}


const SNAPSHOT_STREAMS: readonly StreamFormat[] = ['zfs', 'btrfs'];

function checkTransferNames(options: TransferOptions): void {
  if (options.snapshot !== undefined) assertSnapshotReference(options.snapshot);
  if (options.baseSnapshot !== undefined) assertSnapshotReference(options.baseSnapshot);
}

function transferRequest(volume: ParsedVolume, options: TransferOptions): TransferOptions & { volume: ParsedVolume } {
  return { volume, snapshot: options.snapshot, baseSnapshot: options.baseSnapshot, withSnapshots: options.withSnapshots };
}

function unsupportedFormat(volid: string, format: StreamFormat, formats: readonly StreamFormat[], side: 'export' | 'import'): StorageError {
  return new StorageError('NOT_SUPPORTED', `cannot ${side} '${volid}' as '${format}'; formats: ${formats.join(', ') || 'none'}`, {
    details: { volid, format, formats: [...formats] },
  });
}

/**
 * Turns an error into `ABORTED` when the operation's signal was aborted.
 *
 * @param e - what was thrown
 * @param signal - the operation's signal
 */
export function asAbortError(e: unknown, signal: AbortSignal | undefined): unknown {
  if (!signal?.aborted || isStorageError(e, 'ABORTED')) return e;
  return new StorageError('ABORTED', 'the operation was aborted', { cause: e });
}

function abortedBefore(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new StorageError('ABORTED', 'the operation was aborted', { cause: signal.reason });
}

/** A counting stream that forwards into `output` with backpressure, never ending it; `flush` ends it and waits until `output` has every byte. */
function countingInto(output: Writable, onProgress: ProgressCallback, sizeHeader: boolean): { stream: Writable; flush(): Promise<void> } {
  const counter = countingStream(onProgress, undefined, { sizeHeader });
  counter.on('error', ignore); // reported through the export's promise
  const sink = forwardInto(output).stream;
  sink.on('error', ignore);
  const fail = (e: Error): void => {
    counter.destroy(e);
    sink.destroy(e);
  };
  output.once('error', fail);
  counter.pipe(sink);
  const cleanup = (): void => {
    output.off('error', fail);
  };
  sink.once('close', cleanup);
  return {
    stream: counter,
    flush: async () => {
      await endAndWait(counter);
      await finished(sink);
    },
  };
}

function ignore(): void {
  // errors are reported elsewhere
}

function endAndWait(stream: Writable): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.once('error', reject);
    stream.end((e?: Error | null) => (e ? reject(e) : resolve()));
  });
}

/**
 * Exports a volume (see {@link StorageManager.volumeExport}).
 *
 * @param state - the manager's state
 * @param source - the resolved volume
 * @param options - format, output, progress, signal
 */
export async function exportVolume(state: ManagerState, source: ResolvedVolume, options: ExportOptions): Promise<void> {
  checkTransferNames(options);
  abortedBefore(options.signal);
  const { entry, volume, volid } = source;
  await state.read(entry, options.signal, async (ctx) => {
    await state.activate(entry, ctx);
    const formats = await entry.plugin.volumeExportFormats(ctx, transferRequest(volume, options));
    if (!formats.includes(options.format)) throw unsupportedFormat(volid, options.format, formats, 'export');
    const counted = options.onProgress ? countingInto(options.output, options.onProgress, hasSizeHeader(options.format)) : undefined;
    try {
      await entry.plugin.volumeExport(ctx, { ...transferRequest(volume, options), format: options.format, output: counted?.stream ?? options.output });
      await counted?.flush();
    } catch (e) {
      counted?.stream.destroy();
      throw asAbortError(e, options.signal);
    }
  });
}

/** Where an import goes: a named volume, or the lowest free disk name of a guest (see {@link importVolume}). */
export type ImportTarget = { readonly volume: ParsedVolume } | { readonly pick: { readonly vmid: number; readonly format: VolumeFormat } };

/**
 * Imports a volume (see {@link StorageManager.volumeImport}). Under the target storage's lock
 * the plugin reserves the name; the lock goes back once the plugin calls `ctx.nameReserved()`
 * (or when it returns), so concurrent allocations never take the name, while the data flows
 * without the lock. A `pick` target's name is the lowest free one: of a fresh listing under the
 * lock, or, for a plugin that declares `capabilities.exclusiveCreate`, of the listing the
 * manager has (see {@link chooseBeforeLock}), with `allowRename` so that the plugin takes another
 * when the name was taken since.
 *
 * @param state - the manager's state
 * @param entry - the target storage
 * @param target - the target volume (may not exist yet), or a guest and format to pick a free name for
 * @param options - format, input, progress, signal
 * @param internal - the snapshot names come from the manager itself (`__migration__`), not a caller
 * @returns the volid written
 */
export async function importVolume(state: ManagerState, entry: StorageEntry, target: ImportTarget, options: ImportOptions, internal = false): Promise<string> {
  if (!internal) checkTransferNames(options);
  const named = 'volume' in target ? target.volume : undefined;
  if (named?.vmid !== undefined) assertValidVmid(named.vmid);
  abortedBefore(options.signal);
  const probe = named ?? placeholderVolume(entry, 'pick' in target ? target.pick : { vmid: 0, format: 'raw' });
  let inputError: Error | undefined;
  const onInputError = (e: Error): void => {
    inputError ??= e;
  };
  options.input.once('error', onInputError);
  try {
    await state.read(entry, options.signal, async (ctx) => {
      await state.activate(entry, ctx);
      const formats = await entry.plugin.volumeImportFormats(ctx, transferRequest(probe, options));
      if (!formats.includes(options.format)) throw unsupportedFormat(state.volid(entry, probe.volname), options.format, formats, 'import');
    });
    const exclusive = entry.cls.capabilities.exclusiveCreate === true;
    // a plugin whose creates refuse taken names gets a name chosen from the listing the manager
    // has, and resolves a name taken since itself (`allowRename`): the stream cannot be read twice
    const chosen = 'pick' in target && exclusive ? await chooseBeforeLock(state, entry, target.pick, options.signal) : undefined;
    const volname = await state.locked(
      entry,
      options.signal,
      async (ctx) => {
        const volume = await targetVolume(state, entry, target, exclusive, chosen, ctx);
        let input = options.input;
        if (options.onProgress) {
          const counter = countingStream(options.onProgress, undefined, { sizeHeader: hasSizeHeader(options.format) });
          counter.on('error', ignore); // reported by the plugin that reads it
          options.input.once('error', (e) => counter.destroy(e));
          input = options.input.pipe(counter);
        }
        const allowRename = (exclusive && 'pick' in target) || options.allowRename;
        const made = await entry.plugin.volumeImport(ctx, { ...transferRequest(volume, options), format: options.format, input, allowRename, readBack: options.readBack });
        if (exclusive && volume.vmid !== undefined) rememberMade(entry, volume.vmid, made);
        return made;
      },
      { operation: 'volumeImport' },
    );
    return state.volid(entry, volname);
  } catch (e) {
    if (inputError !== undefined && !isStorageError(e)) {
      throw new StorageError('ABORTED', `the import's input stream failed: ${inputError.message}`, { cause: inputError });
    }
    throw asAbortError(e, options.signal);
  } finally {
    options.input.off('error', onInputError);
  }
}

/** A volume of the right shape for asking a plugin about formats, without listing the storage. */
function placeholderVolume(entry: StorageEntry, pick: { vmid: number; format: VolumeFormat }): ParsedVolume {
  const name = formatDiskName({ vmid: pick.vmid, index: 0, ext: entry.plugin.diskNameExtension(pick.format) });
  return parseWith(entry, entry.plugin.imageVolname({ vmid: pick.vmid, name }));
}

/**
 * The volume an import writes, under the storage lock: the named one, or for a plugin with
 * `exclusiveCreate` one with the name chosen before the lock (see {@link confirmName}), or else
 * the lowest free name of a fresh listing.
 */
async function targetVolume(
  state: ManagerState,
  entry: StorageEntry,
  target: ImportTarget,
  exclusive: boolean,
  chosen: NameChoice | undefined,
  ctx: PluginContext,
): Promise<ParsedVolume> {
  if ('volume' in target) return target.volume;
  const name = exclusive ? (await confirmName(state, entry, target.pick, chosen, ctx)).name : await entry.plugin.findFreeDiskname(ctx, target.pick);
  return parseWith(entry, entry.plugin.imageVolname({ vmid: target.pick.vmid, name }));
}

/**
 * Frees a volume this operation has just made, under the storage lock. Used when a copy's
 * import finished but its export failed afterwards; failures are logged, never thrown (the
 * caller is already throwing the real error).
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param volid - the volume the import returned
 */
async function freeOwnCopy(state: ManagerState, entry: StorageEntry, volid: string): Promise<void> {
  try {
    const volume = parseWith(entry, parseVolumeId(volid).volname);
    await state.locked(entry, undefined, (ctx) => entry.plugin.freeImage(ctx, { volume }), { operation: 'freeImage' });
  } catch (e) {
    state.log.warn(`could not remove the copy '${volid}' of a failed copy`, { error: String(e) });
  }
}

/** Chooses the copy's image format: asked for, else the source's when the target has it, else the target's default. */
function copyFormat(source: ResolvedVolume, target: StorageEntry, asked: VolumeFormat | undefined): VolumeFormat {
  const caps = target.cls.capabilities;
  if (asked !== undefined) {
    if (!caps.formats.includes(asked)) {
      throw new StorageError('NOT_SUPPORTED', `storage '${target.id}' does not store format '${asked}'`, {
        details: { storeId: target.id, format: asked, formats: [...caps.formats] },
      });
    }
    return asked;
  }
  const own = source.volume.format as VolumeFormat;
  return caps.formats.includes(own) ? own : caps.defaultFormat;
}

/**
 * Copies a volume to another (or the same) storage (see {@link StorageManager.copyVolume}).
 *
 * @param state - the manager's state
 * @param source - the resolved source volume
 * @param targetStoreId - the target storage
 * @param options - vmid, name, format, snapshots, progress, signal
 * @returns the new volume's id
 */
export async function copyVolume(state: ManagerState, source: ResolvedVolume, targetStoreId: string, options: CopyOptions): Promise<string> {
  const target = state.usable(targetStoreId);
  const vmid = options.vmid ?? source.volume.vmid;
  if (vmid === undefined) throw new StorageError('INVALID_ARGUMENT', `'${source.volid}' has no owner: give a vmid`, { details: { volid: source.volid } });
  assertValidVmid(vmid);
  if (options.name !== undefined) assertDiskNameFor(options.name, vmid);
  const format = copyFormat(source, target, options.format);
  abortedBefore(options.signal);

  const sourceCtx = state.context(source.entry, { signal: options.signal, sharedCache: true });
  await state.activate(source.entry, sourceCtx);
  const withSnapshots = options.withSnapshots;
  const exportFormats = await source.entry.plugin.volumeExportFormats(sourceCtx, { volume: source.volume, withSnapshots });

  const into: ImportTarget = options.name !== undefined
    ? { volume: parseWith(target, target.plugin.imageVolname({ vmid, name: options.name })) }
    : { pick: { vmid, format } };
  const probe = 'volume' in into ? into.volume : placeholderVolume(target, into.pick);
  const targetCtx = state.context(target, { signal: options.signal, sharedCache: true });
  await state.activate(target, targetCtx);
  const importFormats = await target.plugin.volumeImportFormats(targetCtx, { volume: probe, withSnapshots });
  const stream = negotiateFormat(exportFormats, importFormats);

  const snapshot = SNAPSHOT_STREAMS.includes(stream) ? MIGRATION_SNAPSHOT : undefined;
  if (snapshot) {
    await state.locked(source.entry, options.signal, (ctx) => source.entry.plugin.volumeSnapshot(ctx, { volume: source.volume, snapshot }), {
      volname: source.volume.volname,
      operation: 'copyVolume',
    });
  }
  try {
    const volid = await pump(state, source, target, into, { ...options, stream, snapshot });
    if (snapshot) await dropSnapshot(state, target, parseWith(target, parseVolumeId(volid).volname), snapshot);
    return volid;
  } finally {
    if (snapshot) await dropSnapshot(state, source.entry, source.volume, snapshot);
  }
}

async function dropSnapshot(state: ManagerState, entry: StorageEntry, volume: ParsedVolume, snapshot: string): Promise<void> {
  try {
    await state.locked(entry, undefined, (ctx) => entry.plugin.volumeSnapshotDelete(ctx, { volume, snapshot }), { volname: volume.volname, operation: 'copyVolume' });
  } catch (e) {
    if (!isStorageError(e, 'NOT_FOUND')) state.log.warn(`could not delete snapshot '${snapshot}' of '${entry.id}:${volume.volname}'`, { error: String(e) });
  }
}

/**
 * Streams export -> count -> import, aborting both sides when either fails, and reports the
 * first real error of either side (see {@link copyFailure}), not the abort it caused on the other.
 */
async function pump(
  state: ManagerState,
  source: ResolvedVolume,
  target: StorageEntry,
  into: ImportTarget,
  options: CopyOptions & { stream: StreamFormat; snapshot: string | undefined },
): Promise<string> {
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const pipe = countingStream(options.onProgress, undefined, { sizeHeader: hasSizeHeader(options.stream) });
  pipe.on('error', ignore); // each side reports its own failure through its promise
  const failures: unknown[] = [];
  const failed = (e: unknown): never => {
    failures.push(e);
    stop.abort(e);
    pipe.destroy(e instanceof Error ? e : new Error(String(e)));
    throw e;
  };
  const onAbort = (): void => {
    pipe.destroy(new StorageError('ABORTED', 'the copy was aborted', { cause: options.signal?.reason }));
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });

  const exported = state
    .read(source.entry, signal, async (ctx) => {
      await entryExport(ctx, source, options, pipe);
      await endAndWait(pipe);
    })
    .catch(failed);
  const imported = importVolume(state, target, into, {
    format: options.stream,
    input: pipe,
    withSnapshots: options.withSnapshots,
    snapshot: options.snapshot,
    allowRename: false,
    signal,
  }, true).catch(failed);

  try {
    const [ex, im] = await Promise.allSettled([exported, imported]);
    if (ex.status === 'fulfilled' && im.status === 'fulfilled') return im.value;
    if (im.status === 'fulfilled') await freeOwnCopy(state, target, im.value);
    throw asAbortError(options.signal?.aborted ? (failures[0] ?? options.signal.reason) : copyFailure(failures), options.signal);
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
  }
}

function entryExport(ctx: PluginContext, source: ResolvedVolume, options: { stream: StreamFormat; snapshot: string | undefined; withSnapshots?: boolean | undefined }, output: Writable): Promise<void> {
  return source.entry.plugin.volumeExport(ctx, {
    volume: source.volume,
    format: options.stream,
    output,
    snapshot: options.snapshot,
    withSnapshots: options.withSnapshots,
  });
}

/**
 * The stream formats a volume can be exported in (see {@link StorageManager.volumeExportFormats}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - what the stream carries
 */
export function volumeExportFormats(state: ManagerState, r: ResolvedVolume, options: TransferOptions): Promise<StreamFormat[]> {
  return state.read(r.entry, undefined, (ctx) => r.entry.plugin.volumeExportFormats(ctx, { volume: r.volume, ...options }));
}

/**
 * The stream formats a volume can be imported from (see {@link StorageManager.volumeImportFormats}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - what the stream carries
 */
export function volumeImportFormats(state: ManagerState, r: ResolvedVolume, options: TransferOptions): Promise<StreamFormat[]> {
  return state.read(r.entry, undefined, (ctx) => r.entry.plugin.volumeImportFormats(ctx, { volume: r.volume, ...options }));
}

/**
 * Imports into a named volume (see {@link StorageManager.volumeImport} and {@link importVolume}).
 *
 * @param state - the manager's state
 * @param r - the target volume
 * @param options - format, input, progress, renaming
 */
export function volumeImport(state: ManagerState, r: ResolvedVolume, options: ImportOptions): Promise<string> {
  return importVolume(state, r.entry, { volume: r.volume }, options);
}
