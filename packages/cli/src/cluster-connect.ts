/**
 * Which etcd cluster the command talks to, if any: `--cluster ADDRESS`, then
 * `$STOWAGE_CLUSTER`, then a `cluster.cfg` file beside the storage.cfg in use (its first line
 * that is not a `#` comment). Without any of them the command runs alone, on lock files. The
 * connection is opened on first use (the etcd client is loaded only then) and closed after
 * the verb.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StorageError } from '@stowage/core';
import type { EtcdCluster } from '@stowage/cluster-etcd';

/** Where a cluster address came from. */
export type ClusterSource = 'flag' | 'env' | 'file';

/** The cluster address chosen, and where it came from. */
export interface ClusterChoice {
  /** The address text, `etcd://host:port,...`. */
  readonly address: string;
  /** Where it came from. */
  readonly source: ClusterSource;
  /** The `cluster.cfg` path, when it came from one. */
  readonly file?: string | undefined;
}

/**
 * The file that names the cluster: `cluster.cfg` in the directory of the storage.cfg in use.
 *
 * @param configPath - the storage.cfg path
 */
export function clusterFilePath(configPath: string): string {
  return join(dirname(configPath), 'cluster.cfg');
}

/**
 * Chooses the cluster address; `undefined` when none is configured. The etcd package's address
 * reader is imported only when there is a `cluster.cfg` to read.
 *
 * @param flag - the `--cluster` value
 * @param env - the environment (for `STOWAGE_CLUSTER`)
 * @param configPath - the storage.cfg path (for `cluster.cfg` beside it)
 */
export async function findClusterAddress(flag: string | undefined, env: Readonly<Record<string, string | undefined>>, configPath: string): Promise<ClusterChoice | undefined> {
  if (flag) return { address: flag, source: 'flag' };
  const fromEnv = env['STOWAGE_CLUSTER'];
  if (fromEnv) return { address: fromEnv, source: 'env' };
  const file = clusterFilePath(configPath);
  if (!existsSync(file)) return undefined;
  const { clusterAddressFromFile } = await import('@stowage/cluster-etcd/address');
  const line = clusterAddressFromFile(readFileSync(file, 'utf8'));
  if (line === undefined) throw new StorageError('CONFIG_INVALID', `${file} names no cluster address`, { details: { path: file } });
  return { address: line, source: 'file', file };
}

/** Opens the cluster connection on first use and closes it at the end. */
export class ClusterConnector {
  readonly #choice: ClusterChoice | undefined;
  readonly #node: string | undefined;
  #cluster: Promise<EtcdCluster> | undefined;

  /**
   * @param choice - the chosen address, if any
   * @param node - this node's name (`$STOWAGE_NODE`), else the host name
   */
  constructor(choice: ClusterChoice | undefined, node: string | undefined) {
    this.#choice = choice;
    this.#node = node;
  }

  /** `true` when a cluster address is configured. */
  get configured(): boolean {
    return this.#choice !== undefined;
  }

  /**
   * The connection, when a cluster is configured.
   *
   * @returns the cluster services, or `undefined` without a cluster
   * @throws {@link StorageError} `INVALID_ARGUMENT` for a bad address, `NOT_FOUND` for a missing TLS file
   */
  async maybe(): Promise<EtcdCluster | undefined> {
    const choice = this.#choice;
    if (!choice) return undefined;
    this.#cluster ??= import('@stowage/cluster-etcd').then(({ connect, optionsFromAddress }) =>
      connect(optionsFromAddress(choice.address, this.#node ? { node: this.#node } : {})),
    );
    return this.#cluster;
  }

  /**
   * The connection; a cluster must be configured.
   *
   * @throws {@link StorageError} `CONFIG_INVALID` when none is, and as {@link ClusterConnector.maybe}
   */
  async get(): Promise<EtcdCluster> {
    const cluster = await this.maybe();
    if (!cluster) {
      throw new StorageError('CONFIG_INVALID', 'no cluster: give --cluster etcd://host:port,..., set STOWAGE_CLUSTER, or write the address into cluster.cfg beside storage.cfg', {
        details: { reason: 'no-cluster' },
      });
    }
    return cluster;
  }

  /** Closes the connection if it was opened. */
  async close(): Promise<void> {
    const c = this.#cluster;
    this.#cluster = undefined;
    if (c) await (await c.catch(() => undefined))?.close();
  }
}
