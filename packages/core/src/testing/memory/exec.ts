/**
 * The context every `memory` operation gets, its single command entry point, and the lookups
 * the operations share (one `list` per operation, shared between operations for a moment).
 *
 * @module
 */
import type { PluginCapabilities } from '../../capabilities.js';
import type { CommandResult, RunOptions } from '../../command/runner.js';
import { StorageError } from '../../errors.js';
import type { ParsedVolume, PluginContext } from '../../plugin-types.js';
import type { StoragePlugin } from '../../storage-plugin.js';
import { formatVolumeId } from '../../volume-id.js';
import { listArgs, snapshotsArgs } from './commands.js';
import { INCOMPLETE_PROP, memoryPool, type MemoryConfig } from './config.js';
import { rethrowClassified } from './errors.js';
import { isImageName, listedVolname } from './names.js';
import { parseSnapshotList, parseVolumeList } from './parse.js';
import type { MemorySnapshotRecord, MemoryVolumeRecord } from './store.js';

/** The context every `memory` operation gets: the call's context and what its variant can do. */
export interface MemoryContext extends PluginContext<MemoryConfig> {
  /** The variant's capabilities (see `defineMemoryPlugin`). */
  readonly capabilities: PluginCapabilities;
  /** The variant's type id, for messages. */
  readonly type: string;
}

/**
 * The context of one call of a memory plugin (or of one of its variants).
 *
 * @param ctx - the call's context
 * @param plugin - the plugin instance, whose class says what the variant can do
 */
export function memoryContext(ctx: PluginContext<MemoryConfig>, plugin: StoragePlugin<MemoryConfig>): MemoryContext {
  return { ...ctx, capabilities: plugin.capabilities, type: plugin.pluginClass.type };
}

/**
 * Runs a `stowage-memory` command; a failure its stderr explains becomes a
 * {@link @stowage/core!index.StorageError | StorageError} of that code (see `rethrowClassified`).
 *
 * @param ctx - the call's context
 * @param argv - from a builder in `commands.ts`
 * @param details - facts for the error (volname, snapshot, ...)
 * @param options - standard input and output streams
 */
export async function runMemory(
  ctx: PluginContext<MemoryConfig>,
  argv: readonly string[],
  details: Record<string, unknown> = {},
  options?: RunOptions,
): Promise<CommandResult> {
  try {
    return await ctx.run(argv, options);
  } catch (e) {
    return rethrowClassified(e, details);
  }
}

/** A pool entry with the volname it is listed under. */
export interface MemoryListedVolume {
  /** The pool entry. */
  readonly record: MemoryVolumeRecord;
  /** Its volname (`base-.../vm-...` for a linked clone of a base). */
  readonly volname: string;
}

/**
 * Every volume in the pool, finished or not (one `list` per operation).
 *
 * @param ctx - the call's context
 */
export async function records(ctx: PluginContext<MemoryConfig>): Promise<MemoryVolumeRecord[]> {
  const pool = memoryPool(ctx);
  return ctx.cache.shared(`memory:list:${pool}`, async () => parseVolumeList((await runMemory(ctx, listArgs(pool))).stdout));
}

/**
 * Every finished image in the pool with the volname it is listed under; unfinished ones (being
 * imported) are left out.
 *
 * @param ctx - the call's context
 */
export async function listed(ctx: PluginContext<MemoryConfig>): Promise<MemoryListedVolume[]> {
  return (await records(ctx))
    .filter((r) => isImageName(r.name) && r.props[INCOMPLETE_PROP] === undefined)
    .map((record) => ({ record, volname: listedVolname(record.name, record.origin) }));
}

/**
 * The pool entry of an existing volume; the volname must match the listed one exactly.
 *
 * @param ctx - the call's context
 * @param volume - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 */
export async function find(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): Promise<MemoryVolumeRecord> {
  const hit = (await listed(ctx)).find((l) => l.volname === volume.volname);
  if (!hit) throw volumeNotFound(ctx, volume);
  return hit.record;
}

/**
 * A volume's snapshots, oldest first.
 *
 * @param ctx - the call's context
 * @param volume - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 */
export async function snapshots(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): Promise<MemorySnapshotRecord[]> {
  const r = await find(ctx, volume);
  return parseSnapshotList((await runMemory(ctx, snapshotsArgs(memoryPool(ctx), r.name), { volname: volume.volname })).stdout);
}

/**
 * The `NOT_FOUND` error of a volume.
 *
 * @param ctx - the call's context
 * @param volume - the volume
 */
export function volumeNotFound(ctx: PluginContext<MemoryConfig>, volume: ParsedVolume): StorageError {
  const volid = formatVolumeId(ctx.storeId, volume.volname);
  return new StorageError('NOT_FOUND', `volume '${volid}' does not exist`, { details: { volid } });
}

/**
 * The `NOT_FOUND` error of a snapshot.
 *
 * @param volume - the volume
 * @param snapshot - the snapshot
 */
export function snapshotNotFound(volume: ParsedVolume, snapshot: string): StorageError {
  return new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${volume.volname}' does not exist`, {
    details: { volname: volume.volname, snapshot },
  });
}

/**
 * Checks a size: a positive whole number of bytes.
 *
 * @param size - bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT`
 */
export function assertSize(size: number): void {
  if (!Number.isSafeInteger(size) || size <= 0) throw new StorageError('INVALID_ARGUMENT', `invalid size ${String(size)}`, { details: { size } });
}

/**
 * Refuses an attribute the variant does not keep.
 *
 * @param ctx - the call's context
 * @param attribute - the attribute asked for
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`
 */
export function assertAttribute(ctx: MemoryContext, attribute: string): void {
  if (!ctx.capabilities.attributes.includes(attribute as never)) {
    throw new StorageError('NOT_SUPPORTED', `storage type '${ctx.type}' does not keep '${attribute}'`, { details: { attribute } });
  }
}
