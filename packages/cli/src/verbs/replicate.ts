/**
 * `replicate`: bring a volume's replica on another node up to date.
 *
 * @module
 */
import { UsageError } from '../args.js';
import type { VerbSpec } from '../verb.js';
import { nodesCfgPath } from './migrate.js';

/** `stowage replicate <volid> --to-node NAME`. */
export const replicateVerb: VerbSpec = {
  name: 'replicate',
  usage: '<volid> --to-node NAME [--storage S] [--nodes FILE]',
  description: [
    'The node is a section of nodes.cfg, as for migrate. The source stays. Both sides keep a replication',
    'snapshot (__replicate_<node>_<stamp>__): the first run sends the whole volume, later runs only what',
    'changed since the last one (ZFS: a zfs send increment; LVM-thin: the changed ranges, lvmthin-delta).',
    'Then the older replication snapshot goes on both sides. A failure or interrupt leaves both sides at',
    'their last good replication. Prints the replica id; --json adds mode (full/incremental), snapshots and bytes.',
  ].join('\n'),
  positionals: { min: 1, max: 1 },
  options: {
    'to-node': { type: 'string', valueName: 'NAME', description: 'the node that keeps the replica (from nodes.cfg)' },
    storage: { type: 'string', valueName: 'S', description: "the node's storage (default: the same storage id)" },
    nodes: { type: 'string', valueName: 'FILE', description: 'the nodes.cfg to read' },
  },
  async run(ctx) {
    const [{ readNodeFromCfg, SshNode }, { stringOption }] = await Promise.all([import('@stowage/core'), import('../values.js')]);
    const volid = ctx.args.positionals[0] ?? '';
    const name = stringOption(ctx.args.options['to-node']);
    if (!name) throw new UsageError('--to-node NAME is required', 'replicate');
    const node = new SshNode(await readNodeFromCfg(await nodesCfgPath(ctx), name));
    const m = await ctx.manager();
    const bar = ctx.progress('replicate');
    try {
      const done = await m.replicateVolume(volid, {
        toNode: node,
        storage: stringOption(ctx.args.options['storage']),
        onProgress: bar.onProgress,
        signal: ctx.io.signal,
      });
      return { data: done, human: `${done.volid} (${done.mode}, ${done.bytes} bytes)` };
    } finally {
      bar.finish();
      await node.close();
    }
  },
};
