/**
 * The migration hand-off on shared storage (OpenNebula's `premigrate`, `postmigrate` and
 * `failmigrate`): the volume is made usable on the target node while the source still uses it,
 * then released on the source, or the target's side undone. Nothing is copied.
 *
 * @module
 */
import { StorageError } from '../errors.js';
import type { StorageNode } from '../nodes/node.js';
import type { PluginContext } from '../plugin-types.js';
import type { ManagerState, ResolvedVolume } from './state.js';

/** The node a hand-off is for: a {@link StorageNode}, or only its name. */
export type HandoffNode = StorageNode | string;

function nameOf(node: HandoffNode): string {
  return typeof node === 'string' ? node : node.name;
}

function assertShared(r: ResolvedVolume): void {
  if (r.entry.cls.capabilities.shared || r.entry.config.shared === true) return;
  throw new StorageError('NOT_SUPPORTED', `storage '${r.entry.id}' is not shared: move '${r.volid}' with migrateVolume`, { details: { volid: r.volid, storeId: r.entry.id } });
}

function forNode(state: ManagerState, r: ResolvedVolume, fn: (ctx: PluginContext) => Promise<void>): Promise<void> {
  return state.read(r.entry, undefined, async (ctx) => {
    await state.activate(r.entry, ctx);
    await fn(ctx);
  });
}

/**
 * Makes a volume of shared storage usable on the target node (see
 * {@link StorageManager.prepareMigration}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param toNode - the target node
 */
export async function prepareMigration(state: ManagerState, r: ResolvedVolume, toNode: HandoffNode): Promise<void> {
  assertShared(r);
  const node = nameOf(toNode);
  if (r.entry.cls.capabilities.activatesForNode === true) {
    await forNode(state, r, (ctx) => r.entry.plugin.activateVolume(ctx, { volume: r.volume, node }));
    return;
  }
  // storage every node sees by path (a shared directory): only check that the target does
  if (typeof toNode !== 'string' && (await toNode.findImage(r.volid)) === undefined) {
    throw new StorageError('NOT_FOUND', `node '${node}' does not see '${r.volid}' on its storage '${r.entry.id}'`, { details: { volid: r.volid, node } });
  }
}

/**
 * Releases a volume on this node once the target runs it (see
 * {@link StorageManager.finishMigration}).
 *
 * @param state - the manager's state
 * @param r - the volume
 */
export async function finishMigration(state: ManagerState, r: ResolvedVolume): Promise<void> {
  assertShared(r);
  await forNode(state, r, (ctx) => r.entry.plugin.deactivateVolume(ctx, { volume: r.volume }));
}

/**
 * Undoes the target's side of a hand-off (see {@link StorageManager.abortMigration}).
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param toNode - the target node
 */
export async function abortMigration(state: ManagerState, r: ResolvedVolume, toNode: HandoffNode): Promise<void> {
  assertShared(r);
  if (r.entry.cls.capabilities.activatesForNode !== true) return;
  const node = nameOf(toNode);
  await forNode(state, r, (ctx) => r.entry.plugin.deactivateVolume(ctx, { volume: r.volume, node }));
}
