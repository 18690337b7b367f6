/**
 * `gc`: remove what operations left behind when their process died.
 *
 * @module
 */
import type { GarbageItem } from '@stowage/core';
import type { VerbSpec } from '../verb.js';

/** One row of `gc`: a temporary or unfinished volume, and what was done with it. */
export interface GcRow {
  /** The storage. */
  readonly storage: string;
  /** The temporary, as the plugin names it. */
  readonly name: string;
  /** Its owner token (`node:boot:pid:start`), when readable. */
  readonly owner: string | undefined;
  /** `removed` (or `would remove` with `--dry-run`) or `kept`. */
  readonly action: 'removed' | 'would remove' | 'kept';
  /** Why: `owner-dead`, `owner-alive`, `owner-unknown` (another node's). */
  readonly reason: GarbageItem['reason'];
}

/** `stowage gc [storage] [--dry-run]`. */
export const gcVerb: VerbSpec = {
  name: 'gc',
  usage: '[storage] [--dry-run]',
  description:
    'Only what a dead process owned is removed, each checked by identity first; what a running process ' +
    "(or another node) is still writing is kept and listed. Without a storage, every storage of this node whose " +
    'plugin keeps temporaries. stowage also does this by itself before the first operation on a storage.',
  positionals: { min: 0, max: 1 },
  options: { 'dry-run': { type: 'boolean', description: 'only list what would be removed' } },
  async run(ctx) {
    const { isStorageError } = await import('@stowage/core');
    const m = await ctx.manager();
    const only = ctx.args.positionals[0];
    const dryRun = ctx.args.options['dry-run'] === true;
    const rows: GcRow[] = [];
    for (const storage of only === undefined ? m.storageIds() : [only]) {
      let report;
      try {
        report = await m.collectGarbage(storage, { dryRun });
      } catch (e) {
        // a whole-node run skips storages whose plugin keeps no temporaries, or that are not here
        if (only === undefined && (isStorageError(e, 'NOT_SUPPORTED') || isStorageError(e, 'UNAVAILABLE'))) continue;
        throw e;
      }
      for (const i of report.removed) rows.push({ storage, name: i.name, owner: i.owner, action: dryRun ? 'would remove' : 'removed', reason: i.reason });
      for (const i of report.kept) rows.push({ storage, name: i.name, owner: i.owner, action: 'kept', reason: i.reason });
    }
    return {
      data: rows,
      human: {
        headers: ['Storage', 'Name', 'Action', 'Reason', 'Owner'],
        rows: rows.map((r) => [r.storage, r.name, r.action, r.reason, r.owner ?? '']),
      },
    };
  },
};
