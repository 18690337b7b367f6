/**
 * `connect()`: one etcd client, and on it the three cluster services a manager uses (locks,
 * `storage.cfg`, change signals), plus the cluster's status and lock holders for operators.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { StorageError, type ClusterServices } from '@stowage/core';
import { circuitBreaker, ConsecutiveBreaker, ExponentialBackoff, handleWhen } from 'cockatiel';
import { Etcd3, isRecoverableError, type IOptions } from 'etcd3';
import { parseClusterAddress } from './address.js';
import { EtcdChangeFeed } from './change-feed.js';
import { EtcdConfigStore } from './config-store.js';
import { normalisePrefix } from './keys.js';
import { EtcdLocks } from './locks.js';
import { clusterStatus, type ClusterStatus } from './status.js';

/** Options of {@link connect}. */
export interface EtcdClusterOptions {
  /** The members to talk to, `host:port` each (at least one; give them all). */
  readonly endpoints: readonly string[];
  /**
   * Where stowage's keys live; every node of one cluster uses the same prefix.
   * @default 'stowage/'
   */
  readonly prefix?: string | undefined;
  /**
   * This node's name: it names lock holders and scopes the locks of local storages.
   * @default os.hostname() up to the first dot
   */
  readonly node?: string | undefined;
  /** TLS: PEM text of the CA, and of a client certificate and its key (both or neither). */
  readonly tls?: { readonly ca?: string | Buffer | undefined; readonly cert?: string | Buffer | undefined; readonly key?: string | Buffer | undefined } | undefined;
  /** etcd user and password. */
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
  /**
   * The TTL of each lock's lease, in seconds: how long a dead or stalled holder blocks the
   * others, and how long a holder may go without reaching etcd before its lock is lost.
   * @default 10
   */
  readonly leaseTtlSeconds?: number | undefined;
  /**
   * How long `locks.acquire` waits, in milliseconds (for a holder, or for etcd to answer).
   * @default 10_000
   */
  readonly acquireTimeoutMs?: number | undefined;
  /**
   * The longest a shared storage's lock may be held, in milliseconds (`0`: no limit).
   * @default 60_000 (Proxmox's limit for cluster locks)
   */
  readonly sharedHoldMs?: number | undefined;
  /**
   * How long any other request (config, change signal, release, status) may take, in milliseconds.
   * @default 5000
   */
  readonly requestTimeoutMs?: number | undefined;
}

/** The cluster services on etcd, with what operators ask about. */
export interface EtcdCluster extends ClusterServices {
  /** Storage and volume locks on etcd leases. */
  readonly locks: EtcdLocks;
  /** The cluster's `storage.cfg` as one key. */
  readonly config: EtcdConfigStore;
  /** Change signals per storage. */
  readonly changes: EtcdChangeFeed;
  /** The normalised key prefix. */
  readonly prefix: string;
  /** The endpoints. */
  readonly endpoints: readonly string[];
  /**
   * The members, the leader, and whether the cluster has quorum.
   *
   * @returns the status (an unreachable cluster is reported, not thrown)
   */
  status(): Promise<ClusterStatus>;
  /**
   * Gives held locks up (their holders' signals abort with `LOCK_LOST`), stops watches and
   * disconnects. The services fail with `UNAVAILABLE` afterwards.
   */
  close(): Promise<void>;
}

/**
 * The `etcd3` client options for {@link connect}: hosts, TLS, credentials, and fault handling
 * that lets a member or the watch stream back in within a second of etcd's return.
 *
 * @param options - the connection options
 * @returns the client options
 */
export function etcdClientOptions(options: EtcdClusterOptions): IOptions {
  const tls = options.tls;
  const toBuffer = (v: string | Buffer | undefined) => (v === undefined ? undefined : Buffer.isBuffer(v) ? v : Buffer.from(v));
  const scheme = tls ? 'https' : 'http';
  return {
    hosts: options.endpoints.map((e) => `${scheme}://${e}`),
    // without a CA or a client certificate, https endpoints use the system's CAs
    ...(tls && (tls.ca !== undefined || tls.cert !== undefined)
      ? {
          credentials: {
            rootCertificate: toBuffer(tls.ca) as Buffer, // grpc takes null for the system's CAs
            ...(tls.cert !== undefined ? { certChain: toBuffer(tls.cert), privateKey: toBuffer(tls.key) } : {}),
          },
        }
      : {}),
    ...(options.auth ? { auth: { username: options.auth.username, password: options.auth.password } } : {}),
    dialTimeout: options.requestTimeoutMs ?? 5000,
    faultHandling: {
      // a member that failed 3 calls in a row is skipped for 1 s (the client's default is 5 s,
      // which keeps a restarted member out of use longer than a lease TTL)
      host: () => circuitBreaker(handleWhen(isRecoverableError), { halfOpenAfter: 1000, breaker: new ConsecutiveBreaker(3) }),
      // the watch stream (lock hand-overs, change signals, storage.cfg) tries to reconnect at
      // most 1 s apart: the client's default back-off grows to 30 s during an outage, and the
      // watches came back that long after etcd did. The client steps this state on each failure
      // and goes back to it once a watch is confirmed.
      watchBackoff: new ExponentialBackoff({ initialDelay: 100, maxDelay: 1000 }).next(),
    },
  };
}

/**
 * Connects to an etcd cluster and returns stowage's cluster services on it. Nothing is sent
 * yet: a node can start while etcd is down, and its operations fail with `UNAVAILABLE` until
 * etcd answers.
 *
 * @param options - endpoints, prefix, node name, TLS, credentials, lease TTL, timeouts
 * @returns the services; give them to `StorageManager.open({ cluster })`
 * @throws TypeError for no endpoints or a lease TTL below 1 s
 * @example
 * ```ts
 * const cluster = await connect({ endpoints: ['10.0.0.1:2379', '10.0.0.2:2379', '10.0.0.3:2379'], node: 'pve1' });
 * const storages = await StorageManager.open({ plugins: [DirPlugin], cluster }); // the cluster's storage.cfg
 * // ...
 * await storages.close();
 * await cluster.close();
 * ```
 */
export async function connect(options: EtcdClusterOptions): Promise<EtcdCluster> {
  if (options.endpoints.length === 0) throw new TypeError('connect() needs at least one endpoint');
  const prefix = normalisePrefix(options.prefix ?? 'stowage/');
  const node = options.node ?? hostname().split('.')[0] ?? 'localhost';
  const endpoints = [...options.endpoints];
  const copts = etcdClientOptions(options);
  const client = new Etcd3(copts);
  const requestTimeoutMs = options.requestTimeoutMs ?? 5000;
  const common = { client, prefix, endpoints, requestTimeoutMs };
  const locks = new EtcdLocks({
    ...common,
    node,
    leaseTtlSeconds: options.leaseTtlSeconds,
    acquireTimeoutMs: options.acquireTimeoutMs,
    sharedHoldMs: options.sharedHoldMs,
  });
  const config = new EtcdConfigStore(common);
  const changes = new EtcdChangeFeed({ ...common, node });
  let closed: Promise<void> | undefined;
  return {
    node,
    prefix,
    endpoints,
    locks,
    config,
    changes,
    status: () => clusterStatus(client, { clientOptions: copts, endpoints, node, prefix, timeoutMs: Math.min(requestTimeoutMs, 3000) }),
    close: () =>
      (closed ??= (async () => {
        await locks.close();
        changes.close();
        client.close();
      })()),
  };
}

/**
 * Turns a cluster address (see {@link parseClusterAddress}) into {@link connect} options,
 * reading the TLS files it names.
 *
 * @param address - `etcd://host:port,...` or `etcds://...?ca=FILE`
 * @param extra - further options (node, lease TTL, timeouts)
 * @returns the options
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for a bad address; `NOT_FOUND` for a missing TLS file
 */
export function optionsFromAddress(address: string, extra: Omit<EtcdClusterOptions, 'endpoints'> = {}): EtcdClusterOptions {
  const parsed = parseClusterAddress(address);
  const read = (file: string | undefined) => (file === undefined ? undefined : readTlsFile(file));
  return {
    ...extra,
    endpoints: parsed.endpoints,
    ...(parsed.prefix !== undefined ? { prefix: parsed.prefix } : {}),
    ...(parsed.auth ? { auth: parsed.auth } : {}),
    ...(parsed.tls ? { tls: { ca: read(parsed.tls.caFile), cert: read(parsed.tls.certFile), key: read(parsed.tls.keyFile) } } : {}),
  };
}

function readTlsFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new StorageError('NOT_FOUND', `cannot read TLS file ${file}: ${(e as Error).message}`, { cause: e, details: { path: file } });
  }
}
