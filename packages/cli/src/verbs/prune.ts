/**
 * `prune`: free the templates of a storage that no volume uses.
 *
 * @module
 */
import type { PruneKeepReason } from '@stowage/core';
import type { VerbSpec } from '../verb.js';

/** One row of `prune`: a template, and what was done with it. */
export interface PruneRow {
  /** The template. */
  readonly volid: string;
  /** `freed`, `would free` (with `--dry-run`) or `kept`. */
  readonly action: 'freed' | 'would free' | 'kept';
  /** Why it was kept; `null` for one freed. */
  readonly reason: PruneKeepReason | null;
  /** For `in-use`: the volume that uses it; `null` otherwise. */
  readonly usedBy: string | null;
}

/** `stowage prune <storage> [--dry-run] [--older-than D] [--keep N] [--in-use FILE|-]`. */
export const pruneVerb: VerbSpec = {
  name: 'prune',
  usage: '<storage> [--dry-run] [--older-than D] [--keep N] [--in-use FILE|-]',
  description:
    'A template is in use when a volume that is not a template, or one listed with --in-use, reaches it through its\n' +
    'backing chain or origin. --in-use names the volumes your guests use: a file (or - for standard input) with one\n' +
    'volume id per line, or a JSON array. Protected templates are kept, and so are the --keep N newest unused ones and\n' +
    'those younger than --older-than (30d, 12h, 2w). The frees run under the storage lock, on a fresh listing.',
  positionals: { min: 1, max: 1 },
  options: {
    'dry-run': { type: 'boolean', description: 'only list what would be freed' },
    'older-than': { type: 'string', valueName: 'D', description: 'only templates at least this old (30d, 12h, 90m, 2w)' },
    keep: { type: 'string', valueName: 'N', description: 'keep the N newest unused templates' },
    'in-use': { type: 'string', valueName: 'FILE', description: 'the volumes your guests use, one per line or a JSON array; - for standard input' },
  },
  async run(ctx) {
    const storage = ctx.args.positionals[0] ?? '';
    const { parseDuration, stringOption } = await import('../values.js');
    const { readInUse } = await import('../in-use.js');
    const { StorageError } = await import('@stowage/core');
    const olderText = stringOption(ctx.args.options['older-than']);
    const keepText = stringOption(ctx.args.options['keep']);
    if (keepText !== undefined && !/^[0-9]{1,9}$/.test(keepText)) {
      throw new StorageError('INVALID_ARGUMENT', `invalid --keep '${keepText}': a whole number`, { details: { keep: keepText } });
    }
    const inUse = await readInUse(ctx);
    const dryRun = ctx.args.options['dry-run'] === true;
    const report = await (await ctx.manager()).pruneImages(storage, {
      dryRun,
      olderThan: olderText === undefined ? undefined : parseDuration(olderText),
      keep: keepText === undefined ? undefined : Number(keepText),
      inUse,
      signal: ctx.io.signal,
    });
    const rows: PruneRow[] = [
      ...report.freed.map((volid): PruneRow => ({ volid, action: dryRun ? 'would free' : 'freed', reason: null, usedBy: null })),
      ...report.kept.map((k): PruneRow => ({ volid: k.volid, action: 'kept', reason: k.reason, usedBy: k.usedBy ?? null })),
    ];
    return {
      data: rows,
      human: { headers: ['Template', 'Action', 'Reason', 'Used by'], rows: rows.map((r) => [r.volid, r.action, r.reason ?? '', r.usedBy ?? '']) },
    };
  },
};
