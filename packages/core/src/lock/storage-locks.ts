/**
 * Storage locks: what Proxmox's `cluster_lock_storage` does. The manager holds a storage's lock
 * around name reservation plus allocation (and free, clone, createBase, rename), never around a
 * data copy.
 *
 * A lock is two layers: an in-process FIFO queue per lock file, so callers in one process take
 * turns in arrival order, then a proper-lockfile lock (an atomic `mkdir`) so that processes
 * take turns too. Local storages lock in `lockDir`; shared storages (`shared: true`) lock in
 * `sharedLockDir`, a directory every node sees. A holder keeps its lock fresh; a lock left by a
 * process that died (even by SIGKILL) is taken over once it is older than the stale period.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { StorageError } from '../errors.js';
import { nodeCrypto } from '../on-first-use.js';
import { acquirePathLock, lockFileError } from './path-lock.js';
import { lockSubject, withLock, type LockHandle, type LockRequest, type LockService } from './service.js';

/** Options of {@link StorageLocks}. */
export interface StorageLocksOptions {
  /** Where local storages' lock files live (created, mode 0700, when missing). */
  readonly lockDir: string;
  /**
   * Where shared storages' lock files live: a directory every node sees (NFS, CephFS, ...).
   * Never created here, since a missing shared mount must not silently become a local
   * directory. Required to lock a shared storage.
   */
  readonly sharedLockDir?: string | undefined;
  /**
   * How long a caller waits for a lock before failing with `LOCK_TIMEOUT`.
   * @default 10_000 (Proxmox's)
   */
  readonly acquireTimeoutMs?: number | undefined;
  /**
   * The longest a shared storage's lock may be held; past it the holder's `AbortSignal` is
   * aborted and the call fails with `LOCK_TIMEOUT`. `0` means no limit.
   * @default 60_000 (Proxmox's hard limit for cluster locks)
   */
  readonly sharedHoldMs?: number | undefined;
  /**
   * The longest a local storage's lock may be held. `0` means no limit.
   * @default 0
   */
  readonly localHoldMs?: number | undefined;
  /**
   * A lock file whose holder has not refreshed it for this long is taken over (its holder is
   * presumed dead). At least 2000.
   * @default 10_000
   */
  readonly staleMs?: number | undefined;
  /**
   * How often a holder refreshes its lock file. Between 1000 and `staleMs / 2`.
   * @default staleMs / 2
   */
  readonly updateMs?: number | undefined;
}

/**
 * The file name of a storage's lock: `storage-<storeId>.lock` for ids made of letters, digits,
 * `.`, `_`, `-` (every valid Proxmox storage id), else a hash, so that no storage id can reach
 * outside the lock directory or collide with another.
 *
 * @param storeId - any string
 * @returns a file name without directory
 * @example
 * ```ts
 * lockFileName('local-lvm'); // 'storage-local-lvm.lock'
 * lockFileName('../etc');    // 'storage=3b7c....lock'
 * ```
 */
export function lockFileName(storeId: string): string {
  return `storage${safeId(storeId)}.lock`;
}

/**
 * The file name of one volume's lock (snapshots, rollback, resize):
 * `volume-<storeId>-<hash of the volname>.lock`, safe for any storage id and volname.
 *
 * @param storeId - the storage
 * @param volname - the volume
 * @returns a file name without directory
 */
export function volumeLockFileName(storeId: string, volname: string): string {
  return `volume${safeId(storeId)}-${hash(volname).slice(0, 24)}.lock`;
}

function safeId(storeId: string): string {
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/.test(storeId) ? `-${storeId}` : `=${hash(storeId)}`;
}

function hash(text: string): string {
  return nodeCrypto().createHash('sha256').update(String(text), 'utf8').digest('hex').slice(0, 40);
}

/**
 * The default {@link LockService}: lock files. One instance per manager; instances in one
 * process that use the same directories share their in-process queues.
 *
 * @example
 * ```ts
 * const locks = new StorageLocks({ lockDir: '/run/stowage', sharedLockDir: '/mnt/pve/locks' });
 * const name = await locks.withLock({ storeId: 'local' }, async (signal) => {
 *   const name = await plugin.findFreeDiskname(ctx, { vmid: 100 });
 *   await plugin.allocImage({ ...ctx, signal }, { vmid: 100, name, size });
 *   return name;
 * });
 * ```
 */
export class StorageLocks implements LockService {
  readonly #lockDir: string;
  readonly #sharedLockDir: string | undefined;
  readonly #acquireTimeoutMs: number;
  readonly #sharedHoldMs: number;
  readonly #localHoldMs: number;
  readonly #staleMs: number;
  readonly #updateMs: number | undefined;
  #lockDirReady: Promise<void> | undefined;

  /**
   * @param options - directories, acquire timeout, hold limits, stale period
   * @throws TypeError on a negative or non-finite timeout
   */
  constructor(options: StorageLocksOptions) {
    this.#lockDir = resolve(options.lockDir);
    this.#sharedLockDir = options.sharedLockDir === undefined ? undefined : resolve(options.sharedLockDir);
    this.#acquireTimeoutMs = checkMs('acquireTimeoutMs', options.acquireTimeoutMs ?? 10_000);
    this.#sharedHoldMs = checkMs('sharedHoldMs', options.sharedHoldMs ?? 60_000);
    this.#localHoldMs = checkMs('localHoldMs', options.localHoldMs ?? 0);
    this.#staleMs = Math.max(2000, checkMs('staleMs', options.staleMs ?? 10_000));
    this.#updateMs = options.updateMs === undefined ? undefined : checkMs('updateMs', options.updateMs);
  }

  /**
   * The lock directory path of a storage or volume (what exists while its lock is held).
   *
   * @param storeId - the storage
   * @param shared - whether it is a shared storage
   * @param volname - a volume of it, for the volume's lock
   * @returns an absolute path
   * @throws {@link StorageError} `CONFIG_INVALID` for a shared storage without `sharedLockDir`
   */
  lockPath(storeId: string, shared = false, volname?: string): string {
    const name = volname === undefined ? lockFileName(storeId) : volumeLockFileName(storeId, volname);
    if (!shared) return join(this.#lockDir, name);
    if (this.#sharedLockDir === undefined) {
      throw new StorageError('CONFIG_INVALID', `storage '${storeId}' is shared, but no sharedLockDir was given`, {
        details: { storeId },
      });
    }
    return join(this.#sharedLockDir, name);
  }

  /**
   * Takes a storage's (or volume's) lock: first a turn in this process's queue, then the lock
   * file. The handle's signal aborts with `LOCK_TIMEOUT` (`details.reason: 'hold-limit'`) when
   * the hold limit passes, and with `LOCK_LOST` (`details.reason: 'compromised'`) when the lock
   * file is lost while held (removed, or taken over after a pause longer than the stale period).
   *
   * @param request - storage, volume, shared or not, per-call timeout, hold limit and signal
   * @returns the held lock
   * @throws {@link StorageError} `LOCK_TIMEOUT` (`details.storeId`, `details.waitedMs`) when
   *   the lock was not taken in time; `ABORTED` when the request's signal was aborted while
   *   waiting; `CONFIG_INVALID` for a shared storage without `sharedLockDir`; `UNAVAILABLE`
   *   when the lock directory is missing; `PERMISSION_DENIED` when it is not writable
   * @see Proxmox `cluster_lock_storage`
   */
  async acquire(request: LockRequest): Promise<LockHandle> {
    const { storeId, volname } = request;
    const shared = request.shared === true;
    const path = this.lockPath(storeId, shared, volname);
    const timeoutMs = checkMs('timeoutMs', request.timeoutMs ?? this.#acquireTimeoutMs);
    const holdMs = checkMs('holdMs', request.holdMs ?? (shared ? this.#sharedHoldMs : this.#localHoldMs));
    if (!shared) await this.#ensureLockDir();
    return acquirePathLock({
      path,
      subject: lockSubject(request),
      details: { storeId, ...(volname !== undefined ? { volname } : {}), shared, timeoutMs },
      timeoutMs,
      holdMs,
      staleMs: this.#staleMs,
      updateMs: this.#updateMs,
      signal: request.signal,
    });
  }

  /**
   * Runs `fn` while holding the storage's (or volume's) lock; see {@link withLock}. If the hold
   * limit passes, or the lock file is lost while held, `fn`'s signal is aborted and the call
   * fails at once with `LOCK_TIMEOUT` or `LOCK_LOST`; the in-process turn is still kept until
   * `fn` settles, so two callers of this process never overlap.
   *
   * @param request - storage, volume, shared or not, per-call timeout, hold limit and signal
   * @param fn - the locked work; it gets a signal to stop early
   * @returns what `fn` returns
   * @throws {@link StorageError} as {@link StorageLocks.acquire}, `LOCK_LOST`, and whatever `fn` throws
   * @see Proxmox `cluster_lock_storage`
   */
  withLock<T>(request: LockRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
    return withLock(this, request, fn);
  }

  #ensureLockDir(): Promise<void> {
    this.#lockDirReady ??= mkdir(this.#lockDir, { recursive: true, mode: 0o700 }).then(
      () => undefined,
      (e: unknown) => {
        this.#lockDirReady = undefined;
        throw lockFileError(e, undefined, this.#lockDir);
      },
    );
    return this.#lockDirReady;
  }
}

/** Options of {@link withStorageLock}: where the locks live, which one to take, and limits. */
export interface WithStorageLockOptions extends LockRequest, StorageLocksOptions {}

/**
 * Runs `fn` while holding a storage's lock, without keeping a {@link StorageLocks} around. It
 * shares in-process queues with every other lock on the same directories.
 *
 * @param options - directories, storage, shared, timeouts, signal
 * @param fn - the locked work
 * @returns what `fn` returns
 * @throws {@link StorageError} as {@link StorageLocks.withLock}
 * @example
 * ```ts
 * await withStorageLock({ storeId: 'local', lockDir: '/run/stowage' }, async () => { ... });
 * ```
 * @see Proxmox `cluster_lock_storage`
 */
export function withStorageLock<T>(options: WithStorageLockOptions, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  return new StorageLocks(options).withLock(options, fn);
}

function checkMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a finite number >= 0`);
  return value;
}
