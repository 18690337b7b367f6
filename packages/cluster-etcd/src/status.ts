/**
 * The state of the etcd cluster as one node sees it: its members, which one leads, whether each
 * answers, and whether the cluster has quorum (a linearizable read succeeds).
 *
 * @module
 */
import { Etcd3 } from 'etcd3';
import type { IOptions } from 'etcd3';

/** One member of the etcd cluster. */
export interface MemberStatus {
  /** The member's name (`--name`). */
  readonly name: string;
  /** The member id, as etcd's decimal string. */
  readonly id: string;
  /** Where clients reach it. */
  readonly clientUrls: string[];
  /** `true` when it answered a status request. */
  readonly reachable: boolean;
  /** `true` when it is the leader. */
  readonly leader: boolean;
  /** The etcd version it runs, when it answered. */
  readonly version?: string | undefined;
  /** Its database size in bytes, when it answered. */
  readonly dbSize?: number | undefined;
  /** Why it did not answer. */
  readonly error?: string | undefined;
}

/** What `stowage cluster status` shows. */
export interface ClusterStatus {
  /** The endpoints this node talks to. */
  readonly endpoints: string[];
  /** This node's name. */
  readonly node: string;
  /** The key prefix. */
  readonly prefix: string;
  /** The leader's name, when there is one. */
  readonly leader?: string | undefined;
  /** `true` when a linearizable read succeeded: the cluster has quorum and locks can be taken. */
  readonly healthy: boolean;
  /** Why the cluster is not healthy. */
  readonly error?: string | undefined;
  /** The members, as the cluster lists them (or as the endpoints, when it cannot). */
  readonly members: MemberStatus[];
}

interface RawMember {
  name: string;
  ID: string;
  clientURLs: string[];
}

/**
 * Asks the cluster for its status.
 *
 * @param client - the connected client
 * @param options - the client's options (to reach each member alone), endpoints, node, prefix, timeout
 * @returns the status; never throws for an unreachable cluster (it reports it)
 */
export async function clusterStatus(
  client: Etcd3,
  options: { clientOptions: IOptions; endpoints: readonly string[]; node: string; prefix: string; timeoutMs: number },
): Promise<ClusterStatus> {
  const deadline = () => new Date(Date.now() + options.timeoutMs);
  const health = client.kv
    .range({ key: Buffer.from(`${options.prefix}health`) }, { deadline: deadline() })
    .then(() => undefined, (e: unknown) => String((e as Error).message ?? e));
  let members: RawMember[];
  try {
    members = (await client.cluster.memberList({}, { deadline: deadline() })).members as RawMember[];
  } catch {
    members = options.endpoints.map((e) => ({ name: e, ID: '', clientURLs: [`http://${e}`] }));
  }
  const statuses = await Promise.all(
    members.map(async (m) => {
      const one = new Etcd3({ ...options.clientOptions, hosts: m.clientURLs.map((u) => u.replace(/^https?:\/\//, '')) });
      try {
        const s = await one.maintenance.status({ deadline: deadline() });
        return { ok: true as const, id: s.header.member_id, leaderId: s.leader, version: s.version, dbSize: Number(s.dbSize) };
      } catch (e) {
        return { ok: false as const, error: String((e as Error).message ?? e) };
      } finally {
        one.close();
      }
    }),
  );
  const leaderId = statuses.find((s) => s.ok && s.leaderId !== '0')?.leaderId;
  const list: MemberStatus[] = members.map((m, i) => {
    const s = statuses[i]!;
    const id = m.ID !== '' ? m.ID : s.ok ? s.id : '';
    return {
      name: m.name,
      id,
      clientUrls: m.clientURLs,
      reachable: s.ok,
      leader: id !== '' && id === leaderId,
      ...(s.ok ? { version: s.version, dbSize: s.dbSize } : { error: s.error }),
    };
  });
  const error = await health;
  return {
    endpoints: [...options.endpoints],
    node: options.node,
    prefix: options.prefix,
    ...(leaderId !== undefined ? { leader: list.find((m) => m.leader)?.name } : {}),
    healthy: error === undefined,
    ...(error !== undefined ? { error } : {}),
    members: list,
  };
}
