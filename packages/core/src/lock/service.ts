/**
 * The lock service seam: what the manager asks of whatever serialises storage changes. The
 * default is {@link StorageLocks} (lock files, one machine or a shared directory);
 * `@stowage/cluster-etcd` provides one on etcd leases.
 *
 * @module
 */
import { StorageError } from '../errors.js';

/** Which lock to take, and per-call limits. */
export interface LockRequest {
  /** The storage whose lock to take. */
  readonly storeId: string;
  /**
   * Take the lock of this one volume of the storage instead of the storage's (snapshot,
   * rollback and snapshot deletion use it). Volume locks and the storage lock do not exclude
   * each other.
   */
  readonly volname?: string | undefined;
  /** `true` for a shared storage: the lock must exclude every node, not only this one. */
  readonly shared?: boolean | undefined;
  /** Overrides the service's acquire timeout for this call, in milliseconds. */
  readonly timeoutMs?: number | undefined;
  /** Overrides the service's hold limit for this call, in milliseconds (`0`: none). */
  readonly holdMs?: number | undefined;
  /** Gives up waiting (code `ABORTED`) when aborted. */
  readonly signal?: AbortSignal | undefined;
  /** What the holder is doing (`allocImage`, ...), shown to whoever asks who holds the lock. */
  readonly operation?: string | undefined;
}

/** A held lock. */
export interface LockHandle {
  /**
   * Aborted when the lock stops protecting its holder: the hold limit passed (reason: a
   * `LOCK_TIMEOUT` {@link StorageError}) or the lock was lost (lease expired, lock file
   * removed, connection gone; reason: a `LOCK_LOST` {@link StorageError}). The holder must stop
   * writing at once.
   */
  readonly signal: AbortSignal;
  /** Gives the lock back. Safe to call more than once, and after the lock was lost. */
  release(): Promise<void>;
}

/** Who holds a lock, as a lock service reports it. */
export interface LockHolder {
  /** The storage. */
  readonly storeId: string;
  /** The volume, for a volume lock. */
  readonly volname?: string | undefined;
  /** The holder's node. */
  readonly node: string;
  /** The holder's process id. */
  readonly pid: number;
  /** What the holder is doing, when it said. */
  readonly operation?: string | undefined;
  /** When the lock was taken, milliseconds since the epoch. */
  readonly since: number;
}

/**
 * Serialises changes to storages across processes (and, for a cluster service, across
 * nodes). Proxmox's `cluster_lock_storage` is one.
 *
 * @example
 * ```ts
 * const lock = await service.acquire({ storeId: 'local', timeoutMs: 10_000 });
 * try {
 *   await work(lock.signal);
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export interface LockService {
  /**
   * Waits for a lock and takes it.
   *
   * @param request - which lock, limits, the caller's signal
   * @returns the held lock
   * @throws {@link StorageError} `LOCK_TIMEOUT` (not acquired in time), `ABORTED`,
   *   `UNAVAILABLE` (the service cannot be reached), `CONFIG_INVALID` (a shared storage the
   *   service cannot lock), `PERMISSION_DENIED`
   */
  acquire(request: LockRequest): Promise<LockHandle>;
  /**
   * Who holds which lock now, where the service can tell.
   *
   * @returns the holders
   */
  holders?(): Promise<LockHolder[]>;
}

/**
 * Runs `fn` while holding a lock. When the lock stops protecting its holder, `fn`'s signal is
 * aborted and the call fails at once with the lock's reason (`LOCK_LOST` or `LOCK_TIMEOUT`),
 * while the lock itself is given back only once `fn` has settled.
 *
 * @param service - the lock service
 * @param request - which lock
 * @param fn - the locked work, given a signal that aborts when the caller aborts or the lock goes
 * @returns what `fn` returns
 * @throws {@link StorageError} as {@link LockService.acquire}, `LOCK_LOST`, `LOCK_TIMEOUT`, and whatever `fn` throws
 */
export async function withLock<T>(service: LockService, request: LockRequest, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const lock = await service.acquire(request);
  const signal = request.signal ? AbortSignal.any([request.signal, lock.signal]) : lock.signal;
  let onLost: (() => void) | undefined;
  const lost = new Promise<never>((_, reject) => {
    onLost = () => reject(lockReason(lock.signal, request));
    if (lock.signal.aborted) onLost();
    else lock.signal.addEventListener('abort', onLost, { once: true });
  });
  lost.catch(() => undefined);
  const work = (async () => fn(signal))().finally(async () => {
    if (onLost) lock.signal.removeEventListener('abort', onLost);
    await lock.release();
  });
  work.catch(() => undefined);
  return Promise.race([work, lost]);
}

/**
 * The error a lock's aborted signal stands for.
 *
 * @param signal - an aborted {@link LockHandle.signal}
 * @param request - the request, for the message when the reason is not a {@link StorageError}
 * @returns a `LOCK_LOST` or `LOCK_TIMEOUT` {@link StorageError}
 */
export function lockReason(signal: AbortSignal, request: Pick<LockRequest, 'storeId' | 'volname'>): StorageError {
  const reason: unknown = signal.reason;
  if (reason instanceof StorageError) return reason;
  return new StorageError('LOCK_LOST', `the lock of ${lockSubject(request)} was lost while held`, {
    cause: reason,
    details: { storeId: request.storeId, ...(request.volname !== undefined ? { volname: request.volname } : {}), reason: 'lost' },
  });
}

/**
 * How a lock is named in messages: `storage 'local'` or `volume 'local:vm-100-disk-0'`.
 *
 * @param request - the lock's storage and volume
 */
export function lockSubject(request: Pick<LockRequest, 'storeId' | 'volname'>): string {
  return request.volname === undefined ? `storage '${request.storeId}'` : `volume '${request.storeId}:${request.volname}'`;
}
