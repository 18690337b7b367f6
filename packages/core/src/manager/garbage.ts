/**
 * The manager's housekeeping: the plugin's `collectGarbage`, as a write (a dry run as a read).
 *
 * @module
 */
import type { GarbageReport, PluginContext } from '../plugin-types.js';
import type { ManagerState, StorageEntry } from './state.js';

/**
 * Removes what dead operations left in a storage (see {@link StorageManager.collectGarbage}).
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param dryRun - report only
 */
export function collectGarbage(state: ManagerState, entry: StorageEntry, dryRun: boolean): Promise<GarbageReport> {
  const run = (ctx: PluginContext): Promise<GarbageReport> => entry.plugin.collectGarbage(ctx, { dryRun });
  return dryRun ? state.read(entry, undefined, run) : state.write(entry, undefined, run);
}
