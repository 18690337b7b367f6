/**
 * `cluster status`, `cluster locks`, `cluster init`: the etcd cluster the command talks to.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { VerbSpec } from '../verb.js';

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');

/** `stowage cluster status`. */
export const clusterStatusVerb: VerbSpec = {
  name: 'cluster status',
  usage: '',
  description:
    'The cluster comes from --cluster etcd://host:port,..., $STOWAGE_CLUSTER, or cluster.cfg beside\nstorage.cfg. Healthy means a linearizable read succeeded: the cluster has quorum and locks can be\ntaken. An unreachable cluster is reported (healthy: no), not an error.',
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const status = await (await ctx.cluster()).status();
    const lines = [
      `node:      ${status.node}`,
      `endpoints: ${status.endpoints.join(', ')}`,
      `prefix:    ${status.prefix}`,
      `leader:    ${status.leader ?? '(none)'}`,
      `healthy:   ${yesNo(status.healthy)}${status.error ? ` (${status.error})` : ''}`,
      '',
      'Name'.padEnd(12) + 'Reachable  Leader  Version  Client URLs',
      ...status.members.map((m) => `${m.name.padEnd(12)}${yesNo(m.reachable).padEnd(11)}${yesNo(m.leader).padEnd(8)}${(m.version ?? '-').padEnd(9)}${m.clientUrls.join(',')}`),
    ];
    return { data: status, human: lines.join('\n') };
  },
};

/** `stowage cluster locks`. */
export const clusterLocksVerb: VerbSpec = {
  name: 'cluster locks',
  usage: '',
  positionals: { min: 0, max: 0 },
  async run(ctx) {
    const holders = await (await ctx.cluster()).locks.holders();
    const now = Date.now();
    return {
      data: holders,
      human:
        holders.length === 0
          ? 'no locks held'
          : {
              headers: ['Storage', 'Volume', 'Node', 'PID', 'Operation', 'Since', 'Held'],
              right: [3, 6],
              rows: holders.map((h) => [
                h.storeId,
                h.volname ?? '-',
                h.node,
                String(h.pid),
                h.operation ?? '-',
                h.since > 0 ? new Date(h.since).toISOString() : '?',
                h.since > 0 ? `${((now - h.since) / 1000).toFixed(1)}s` : '?',
              ]),
            },
    };
  },
};

/** `stowage cluster init`. */
export const clusterInitVerb: VerbSpec = {
  name: 'cluster init',
  usage: '--from <storage.cfg>',
  description: "Refuses (ALREADY_EXISTS) when the cluster's storage.cfg is not empty; nothing is overwritten.\nThe file is checked to be a storage.cfg first.",
  positionals: { min: 0, max: 0 },
  options: { from: { type: 'string', valueName: 'FILE', description: 'the storage.cfg to seed the cluster with' } },
  async run(ctx) {
    const [{ fsError }, { parseStorageCfg, StorageError }] = await Promise.all([import('@stowage/core/plugin'), import('@stowage/core')]);
    const from = ctx.args.options['from'];
    if (typeof from !== 'string' || from === '') throw new StorageError('INVALID_ARGUMENT', 'cluster init needs --from FILE', { details: { option: 'from' } });
    const path = resolve(ctx.io.cwd, from);
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (e) {
      throw fsError(e, `cannot read ${path}`, { path });
    }
    parseStorageCfg(text);
    const store = (await ctx.cluster()).config;
    const current = await store.read();
    const written = current.text.trim() === '' ? await store.write(text, current.revision) : undefined;
    if (written === undefined) {
      throw new StorageError('ALREADY_EXISTS', `the cluster already has a storage.cfg (${store.location}); nothing was written`, {
        details: { location: store.location },
      });
    }
    return { data: { location: store.location, revision: written, from: path }, human: `seeded ${store.location} from ${path} (revision ${written})` };
  },
};
