/**
 * Options of {@link StorageManager.open} and the lock interface the manager uses.
 *
 * @module
 */
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '../command/runner.js';
import type { ChangeFeed, ClusterServices } from '../cluster.js';
import type { FileConfigStore } from '../config/file-store.js';
import type { ConfigMemo } from '../config/memo.js';
import type { ConfigStore } from '../config/store.js';
import type { LockService } from '../lock/service.js';
import type { Logger } from '../plugin-types.js';
import type { StoragePluginClass } from '../storage-plugin.js';

/** Options of {@link StorageManager.open}. Exactly one of `config`, `configFile` and `configStore` is given, or none of them with a `cluster`. */
export interface StorageManagerOptions {
  /** The plugin classes available; each storage's `type` must be one of theirs. */
  readonly plugins: readonly StoragePluginClass[];
  /** The storages, as plain objects `{ type, storage, ...options }`; changes are kept in memory only. */
  readonly config?: readonly Readonly<Record<string, unknown>>[];
  /**
   * A `storage.cfg` file (section format) to read the storages from and write changes to,
   * through a {@link FileConfigStore}. A missing file means no storages.
   */
  readonly configFile?: string;
  /**
   * Where the storage configuration lives, when it is not a local file: every change is a
   * compare-and-swap on it (see {@link ConfigStore}), and when it can be watched the manager
   * follows changes made elsewhere.
   */
  readonly configStore?: ConfigStore;
  /**
   * Validated configs of earlier runs (see {@link ConfigMemo}): a section of the configuration
   * the memo knows is not validated again, so a plugin whose schema is given as a loader does not
   * load it. Config objects (`config`) and changes are always validated.
   */
  readonly configMemo?: ConfigMemo;
  /**
   * Where local storages' lock files live.
   * @default `$XDG_RUNTIME_DIR/stowage-locks`, else `<os.tmpdir()>/stowage-locks-<uid>`
   */
  readonly lockDir?: string;
  /** A directory every node sees (a cluster filesystem), for the locks of shared storages. Required when a storage is shared. */
  readonly sharedLockDir?: string;
  /**
   * Runs the plugins' commands.
   * @default new LocalRunner()
   */
  readonly runner?: CommandRunner;
  /**
   * The name of this node, matched against a storage's `nodes`.
   * @default os.hostname()
   */
  readonly node?: string;
  /**
   * How long to wait for a storage lock (and, with `configFile`, for the configuration file's
   * lock) before failing with `LOCK_TIMEOUT`, in milliseconds.
   * @default 10000
   */
  readonly lockTimeoutMs?: number;
  /**
   * The longest a shared storage's lock may be held, in milliseconds; the locked section is
   * aborted past it (Proxmox's 60 s cluster-lock limit).
   * @default 60000
   */
  readonly sharedLockHoldMs?: number;
  /**
   * How long listings and status stay cached between calls, in milliseconds. Writes through this
   * manager clear a storage's cache at once.
   * @default 5000
   */
  readonly cacheTtlMs?: number;
  /**
   * How long the answers a storage's activation shares between calls (a pool imported, a
   * volume group present) are trusted, in milliseconds; never less than `cacheTtlMs`. Writes do
   * not change them; an operation that fails makes the next one activate anew, so a pool
   * exported behind the manager's back is imported again by the next call after the first
   * failure.
   * @default 60000
   */
  readonly activationTtlMs?: number;
  /**
   * Diagnostic messages.
   * @default warnings to `console.warn`, the rest dropped
   */
  readonly log?: Logger;
  /**
   * Use this lock service instead of the default `StorageLocks` (lock files in `lockDir` and
   * `sharedLockDir`).
   */
  readonly locks?: LockService;
  /** Announce writes to, and hear other nodes' writes from, this feed; see {@link ChangeFeed}. */
  readonly changes?: ChangeFeed;
  /**
   * A cluster's coordination services (`@stowage/cluster-etcd`'s `connect()`): the manager takes
   * its `locks`, `changes` and `node` unless `locks`, `changes` or `node` are given, and its
   * config store (the cluster's `storage.cfg`) when none of `config`, `configFile` and
   * `configStore` is given. The manager does not close it.
   */
  readonly cluster?: ClusterServices;
  /**
   * How often, at most, the manager removes a storage's stale temporaries (left by operations
   * whose process died) before an operation on it, in milliseconds. The first operation on each
   * storage always does; `0` does it before every operation.
   * @default 60000
   */
  readonly gcIntervalMs?: number;
}

/**
 * The default lock directory: `$XDG_RUNTIME_DIR/stowage-locks` when that variable is set, else
 * `stowage-locks-<uid>` in the system's temporary directory.
 */
export function defaultLockDir(): string {
  const runtime = process.env['XDG_RUNTIME_DIR'];
  if (runtime) return join(runtime, 'stowage-locks');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'user';
  return join(tmpdir(), `stowage-locks-${uid}`);
}

/** A logger that prints warnings with `console.warn` and drops the rest. */
export const defaultLogger: Logger = {
  debug() {},
  info() {},
  warn(message, fields) {
    console.warn(`stowage: ${message}`, ...(fields ? [fields] : []));
  },
};
