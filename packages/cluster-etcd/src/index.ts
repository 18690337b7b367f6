/**
 * `@stowage/cluster-etcd`: stowage's cluster services on etcd. Storage and volume locks on etcd
 * leases (a dead or stalled holder gives its lock up within the lease TTL, and is told before
 * anyone else can take it), the cluster's `storage.cfg` as one key written by compare-and-swap,
 * and a change signal per storage that keeps every node's cached listings current.
 *
 * @example
 * ```ts
 * import { connect } from '@stowage/cluster-etcd';
 * import { StorageManager } from '@stowage/core';
 * import { DirPlugin } from '@stowage/plugin-dir';
 *
 * const cluster = await connect({ endpoints: ['10.0.0.1:2379', '10.0.0.2:2379', '10.0.0.3:2379'], node: 'pve1' });
 * const storages = await StorageManager.open({ plugins: [DirPlugin], cluster }); // the cluster's storage.cfg
 * ```
 *
 * @module
 */
export { clusterAddressFromFile, parseClusterAddress, type ClusterAddress } from './address.js';
export { EtcdChangeFeed, type EtcdChangeFeedOptions } from './change-feed.js';
export { EtcdConfigStore, type EtcdConfigStoreOptions } from './config-store.js';
export { connect, optionsFromAddress, type EtcdCluster, type EtcdClusterOptions } from './connect.js';
export { etcdError, etcdErrorCode } from './errors.js';
export {
  changeKey,
  changesPrefix,
  configKey,
  formatLockRecord,
  lockKey,
  locksPrefix,
  normalisePrefix,
  parseChangeKey,
  parseLockKey,
  parseLockRecord,
  type LockKeyParts,
  type LockRecord,
} from './keys.js';
export { EtcdLocks, type EtcdLocksOptions } from './locks.js';
export { clusterStatus, type ClusterStatus, type MemberStatus } from './status.js';
