/**
 * `flatten` and `prune`: detach a clone from its template or take a volume back to a snapshot,
 * and free the templates nothing uses.
 *
 * @module
 */
import type { VerbSpec } from '../verb.js';

/** `stowage flatten <volid> [--to-snapshot S] [--in-use FILE|-]`. */
export const flattenVerb: VerbSpec = {
  name: 'flatten',
  usage: '<volid> [--to-snapshot S] [--in-use FILE|-]',
  description:
    'Without --to-snapshot: the clone keeps its bytes and no longer depends on its template (which can then be freed; a\n' +
    'hidden one is freed at once if nothing else uses it). Prints the volume id afterwards, which may differ.\n' +
    'With --to-snapshot: the volume holds exactly what it held at the snapshot, and has no snapshots left (refused with\n' +
    'IN_USE while clones use its snapshots). Either is whole or not done at all. A hidden template named by --in-use\n' +
    '(the volumes your guests use) is kept.',
  positionals: { min: 1, max: 1 },
  options: {
    'to-snapshot': { type: 'string', valueName: 'S', description: 'take the volume back to this snapshot and drop every snapshot' },
    'in-use': { type: 'string', valueName: 'FILE', description: 'the volumes your guests use, one per line or a JSON array; - for standard input' },
  },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const { stringOption } = await import('../values.js');
    const snapshot = stringOption(ctx.args.options['to-snapshot']);
    const inUse = ctx.args.options['in-use'] === undefined ? undefined : await (await import('../in-use.js')).readInUse(ctx);
    const m = await ctx.manager();
    const bar = ctx.progress('flatten');
    try {
      if (snapshot !== undefined) {
        await m.volumeSnapshotFlatten(volid, snapshot, { onProgress: bar.onProgress, signal: ctx.io.signal });
        return { data: { volid, from: volid, snapshot }, human: `${volid} flattened to its snapshot ${snapshot}` };
      }
      const flat = await m.flattenImage(volid, { onProgress: bar.onProgress, signal: ctx.io.signal, inUse });
      return { data: { volid: flat, from: volid, snapshot: null }, human: flat };
    } finally {
      bar.finish();
    }
  },
};
