/**
 * `migrate`: move a volume to another node listed in nodes.cfg.
 *
 * @module
 */
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../args.js';
import type { VerbContext, VerbSpec } from '../verb.js';

/**
 * The nodes.cfg a command uses: `--nodes`, then `$STOWAGE_NODES`, then `nodes.cfg` beside the
 * storage configuration.
 *
 * @param ctx - the verb's context
 */
export async function nodesCfgPath(ctx: Pick<VerbContext, 'args' | 'io' | 'config'>): Promise<string> {
  const { stringOption } = await import('../values.js');
  const flag = stringOption(ctx.args.options['nodes']);
  if (flag) return resolve(ctx.io.cwd, flag);
  const env = ctx.io.env['STOWAGE_NODES'];
  if (env) return resolve(ctx.io.cwd, env);
  return join(dirname(ctx.config.path), 'nodes.cfg');
}

/** `stowage migrate <volid> --to-node NAME`. */
export const migrateVerb: VerbSpec = {
  name: 'migrate',
  usage: '<volid> --to-node NAME [--storage S] [--full] [--nodes FILE]',
  description: [
    "The node is a 'node: NAME' section of nodes.cfg (beside storage.cfg, or --nodes / $STOWAGE_NODES):",
    '  node: pve2',
    '    ssh root@10.0.0.2          (required; also: port, identity, known-hosts)',
    '    command /usr/bin/stowage   (the node\'s stowage; config FILE, env NAME=value ...)',
    "The volume keeps its name, on the same storage id unless --storage. The node's stowage is asked for",
    'its import formats and free space, the data streams over ssh, the copy is checked (size; SHA-256 of',
    'the data for raw+size), and only then is the source freed. A failure or interrupt removes the copy',
    'and keeps the source. A linked clone needs --full unless its base is on the node. Prints the new volume id.',
  ].join('\n'),
  positionals: { min: 1, max: 1 },
  options: {
    'to-node': { type: 'string', valueName: 'NAME', description: 'the node to move it to (from nodes.cfg)' },
    storage: { type: 'string', valueName: 'S', description: "the node's storage (default: the same storage id)" },
    full: { type: 'boolean', description: 'move a linked clone as a standalone volume' },
    nodes: { type: 'string', valueName: 'FILE', description: 'the nodes.cfg to read' },
  },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const [{ readNodeFromCfg, SshNode }, { stringOption }] = await Promise.all([import('@stowage/core'), import('../values.js')]);
    const name = stringOption(ctx.args.options['to-node']);
    if (!name) throw new UsageError('--to-node NAME is required', 'migrate');
    const node = new SshNode(await readNodeFromCfg(await nodesCfgPath(ctx), name));
    const m = await ctx.manager();
    const bar = ctx.progress('migrate');
    try {
      const moved = await m.migrateVolume(volid, {
        toNode: node,
        storage: stringOption(ctx.args.options['storage']),
        full: ctx.args.options['full'] === true,
        onProgress: bar.onProgress,
        signal: ctx.io.signal,
      });
      return { data: moved, human: moved.volid };
    } finally {
      bar.finish();
      await node.close();
    }
  },
};
