/**
 * What a manager needs from a cluster: locks every node respects, one `storage.cfg` for all
 * nodes, and a change signal per storage so that every node's cached listings follow a write
 * at once. `@stowage/cluster-etcd` provides all three on etcd; a single machine needs none of
 * them (lock files and a `storage.cfg` file are the defaults).
 *
 * @module
 */
import type { ConfigStore } from './config/store.js';
import type { LockService } from './lock/service.js';

/**
 * Announces that a storage's volumes changed, and hears other nodes' announcements. A manager
 * publishes after every write it makes to a storage; a manager that hears another's
 * announcement drops its cached listings and status of that storage.
 */
export interface ChangeFeed {
  /**
   * Announces a change to a storage's volumes.
   *
   * @param storeId - the storage
   * @throws {@link StorageError} `UNAVAILABLE` when the feed cannot be reached (the manager logs it)
   */
  publish(storeId: string): Promise<void>;
  /**
   * Calls `onChange` when a storage changes (announced by any node, this one included).
   *
   * @param onChange - called with the storage id
   * @returns a function that stops listening
   */
  subscribe(onChange: (storeId: string) => void): () => void;
}

/**
 * The coordination services of a cluster, as one object (what `@stowage/cluster-etcd`'s
 * `connect()` returns). Give it to `StorageManager.open({ cluster })`.
 */
export interface ClusterServices {
  /** This node's name; the manager's `node` unless that is given too. */
  readonly node: string;
  /** Storage and volume locks that exclude every node. */
  readonly locks: LockService;
  /** The cluster's `storage.cfg`. */
  readonly config: ConfigStore;
  /** Change announcements per storage. */
  readonly changes: ChangeFeed;
  /** Disconnects; the services fail with `UNAVAILABLE` afterwards. */
  close(): Promise<void>;
}
