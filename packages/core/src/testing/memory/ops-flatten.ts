/**
 * Flattening on a `memory` storage: a volume taken back to a snapshot with its snapshots
 * dropped, and a linked clone detached from its origin. Each is one store command, so each is
 * whole or not done at all.
 *
 * @module
 */
import type { VolumeFormat } from '../../capabilities.js';
import { StorageError } from '../../errors.js';
import type { FlattenImageRequest, SnapshotFlattenRequest } from '../../plugin-types.js';
import { detachArgs, flattenArgs } from './commands.js';
import { memoryPool } from './config.js';
import { find, runMemory, snapshotNotFound, snapshots, type MemoryContext } from './exec.js';

function assertFlatten(ctx: MemoryContext, kind: 'toSnapshot' | 'clone'): void {
  if (ctx.capabilities.flatten?.[kind]?.includes('raw' as VolumeFormat)) return;
  throw new StorageError('NOT_SUPPORTED', `storage type '${ctx.type}' does not flatten (${kind})`, { details: { feature: `flatten.${kind}` } });
}

/**
 * Takes a volume back to one of its snapshots and drops all its snapshots (`stowage-memory
 * flatten`, one step).
 *
 * @param ctx - the call's context
 * @param request - the volume and the snapshot
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`, `IN_USE` (clones of its snapshots)
 * @see OpenNebula `snap_flatten`
 */
export async function volumeSnapshotFlatten(ctx: MemoryContext, request: SnapshotFlattenRequest): Promise<void> {
  assertFlatten(ctx, 'toSnapshot');
  const r = await find(ctx, request.volume);
  if (!(await snapshots(ctx, request.volume)).some((s) => s.name === request.snapshot)) throw snapshotNotFound(request.volume, request.snapshot);
  await runMemory(ctx, flattenArgs(memoryPool(ctx), r.name, request.snapshot), { volname: request.volume.volname, snapshot: request.snapshot });
  ctx.cache.invalidate();
}

/**
 * Detaches a clone from its origin (`stowage-memory detach`, one step; the data is already the
 * clone's own), keeping its snapshots.
 *
 * @param ctx - the call's context
 * @param request - the clone
 * @returns its volname afterwards: without the base (`base-100-disk-0/vm-101-disk-0` becomes `vm-101-disk-0`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `NOT_FOUND`, `INVALID_ARGUMENT` (not a clone)
 * @see Ceph `rbd flatten`
 */
export async function flattenImage(ctx: MemoryContext, request: FlattenImageRequest): Promise<string> {
  assertFlatten(ctx, 'clone');
  const r = await find(ctx, request.volume);
  if (r.origin === undefined && r.copiedFrom === undefined) {
    throw new StorageError('INVALID_ARGUMENT', `'${request.volume.volname}' is not a clone`, { details: { volname: request.volume.volname } });
  }
  await runMemory(ctx, detachArgs(memoryPool(ctx), r.name), { volname: request.volume.volname });
  ctx.cache.invalidate();
  return r.name;
}
