/**
 * `handoff prepare|finish|abort`: the migration hand-off of a volume on shared storage.
 *
 * @module
 */
import type { HandoffNode } from '@stowage/core';
import { UsageError } from '../args.js';
import type { VerbContext, VerbSpec } from '../verb.js';
import { nodesCfgPath } from './migrate.js';

const nodeOptions = {
  'to-node': { type: 'string', valueName: 'NAME', description: 'the target node (its name in the storage, e.g. the LINSTOR node)' },
  nodes: { type: 'string', valueName: 'FILE', description: 'the nodes.cfg to read' },
} as const;

/** The target: its {@link SshNode} when nodes.cfg lists it (so a shared directory can be checked there), else its name. */
async function targetOf(ctx: VerbContext, verb: string): Promise<HandoffNode> {
  const [{ isStorageError, readNodeFromCfg, SshNode }, { stringOption }] = await Promise.all([import('@stowage/core'), import('../values.js')]);
  const name = stringOption(ctx.args.options['to-node']);
  if (!name) throw new UsageError('--to-node NAME is required', verb);
  try {
    return new SshNode(await readNodeFromCfg(await nodesCfgPath(ctx), name));
  } catch (e) {
    if (isStorageError(e, 'NOT_FOUND')) return name;
    throw e;
  }
}

/** `stowage handoff prepare <volid> --to-node NAME`. */
export const handoffPrepareVerb: VerbSpec = {
  name: 'handoff prepare',
  usage: '<volid> --to-node NAME [--nodes FILE]',
  description:
    "LINSTOR: a diskless replica on the target when it has none (stowage's, removed again by finish/abort).\nA shared directory: checks that the target (from nodes.cfg) sees the volume. Idempotent. OpenNebula's premigrate.",
  positionals: { min: 1, max: 1 },
  options: nodeOptions,
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const toNode = await targetOf(ctx, 'handoff prepare');
    await (await ctx.manager()).prepareMigration(volid, { toNode });
    const node = typeof toNode === 'string' ? toNode : toNode.name;
    return { data: { volid, node, prepared: true }, human: `${volid} is usable on ${node}` };
  },
};

/** `stowage handoff finish <volid>`. */
export const handoffFinishVerb: VerbSpec = {
  name: 'handoff finish',
  usage: '<volid>',
  description: "LINSTOR: removes this node's replica only if it is a diskless one stowage made, never a diskful one. Idempotent. OpenNebula's postmigrate.",
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    await (await ctx.manager()).finishMigration(volid);
    return { data: { volid, finished: true }, human: `${volid} released on this node` };
  },
};

/** `stowage handoff abort <volid> --to-node NAME`. */
export const handoffAbortVerb: VerbSpec = {
  name: 'handoff abort',
  usage: '<volid> --to-node NAME [--nodes FILE]',
  description: "LINSTOR: removes the target's replica only if it is a diskless one stowage made. Idempotent. OpenNebula's failmigrate.",
  positionals: { min: 1, max: 1 },
  options: nodeOptions,
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const toNode = await targetOf(ctx, 'handoff abort');
    await (await ctx.manager()).abortMigration(volid, { toNode });
    const node = typeof toNode === 'string' ? toNode : toNode.name;
    return { data: { volid, node, aborted: true }, human: `${volid} released on ${node}` };
  },
};
