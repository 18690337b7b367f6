/**
 * One lock file, taken in two layers: a turn in this process's first-in-first-out queue for the
 * path, then the cross-process lock file itself ({@link acquireFileLock}). Storage locks
 * ({@link StorageLocks}) and the `storage.cfg` write lock ({@link FileConfigStore}) are both
 * made of it.
 *
 * @module
 */
import { StorageError } from '../errors.js';
import { FifoMutex } from './fifo.js';
import { acquireFileLock, type FileLockHandle } from './file-lock.js';
import type { LockHandle } from './service.js';

/** What {@link acquirePathLock} takes, and how it names the lock in errors. */
export interface PathLockRequest {
  /** The lock directory that exists while the lock is held. Its parent must exist. */
  readonly path: string;
  /** How errors name what is locked: `storage 'local'`, `storage.cfg '/etc/stowage/storage.cfg'`. */
  readonly subject: string;
  /** Facts every error of this lock carries in `details` (the lock path is added as `lockFile`). */
  readonly details: Readonly<Record<string, unknown>>;
  /** How long to wait before failing with `LOCK_TIMEOUT`, in milliseconds. */
  readonly timeoutMs: number;
  /** Past this hold time the handle's signal aborts with `LOCK_TIMEOUT`; `0` means no limit. */
  readonly holdMs: number;
  /** A lock file not refreshed for this long is a dead holder's and is taken over. */
  readonly staleMs: number;
  /** How often the holder refreshes the lock file. */
  readonly updateMs?: number | undefined;
  /** Gives up waiting (`ABORTED`) when aborted. */
  readonly signal?: AbortSignal | undefined;
}

const queues = new Map<string, FifoMutex>();

function queueFor(path: string): FifoMutex {
  let q = queues.get(path);
  if (!q) {
    q = new FifoMutex();
    queues.set(path, q);
  }
  return q;
}

function dropIfIdle(path: string): void {
  if (queues.get(path)?.idle) queues.delete(path);
}

/**
 * Takes a lock file: first a turn in this process's queue for the path, then the file. The
 * handle's signal aborts with `LOCK_TIMEOUT` (`details.reason: 'hold-limit'`) when the hold
 * limit passes, and with `LOCK_LOST` (`details.reason: 'compromised'`) when the lock file is lost
 * while held (removed, or taken over after a pause longer than the stale period).
 *
 * @param request - the path, how to name it, limits and signal
 * @returns the held lock
 * @throws {@link StorageError} `LOCK_TIMEOUT` (`details.waitedMs`) when the lock was not taken in
 *   time; `ABORTED` when the signal was aborted while waiting; `UNAVAILABLE` when the lock's
 *   directory is missing; `PERMISSION_DENIED` when it is not writable
 */
export async function acquirePathLock(request: PathLockRequest): Promise<LockHandle> {
  const { path, subject, signal, timeoutMs, holdMs } = request;
  const facts = { ...request.details, lockFile: path };
  const started = Date.now();
  const deadline = started + timeoutMs;
  const timedOut = (): StorageError =>
    new StorageError('LOCK_TIMEOUT', `timed out after ${Date.now() - started} ms waiting for the lock of ${subject} (${path})`, {
      details: { ...facts, waitedMs: Date.now() - started },
    });
  const aborted = (): StorageError =>
    new StorageError('ABORTED', `gave up waiting for the lock of ${subject}`, {
      cause: signal?.reason,
      details: { ...facts, waitedMs: Date.now() - started },
    });

  const queue = queueFor(path);
  const leaveQueue = await queue.acquire({ deadline, signal, onTimeout: timedOut, onAbort: aborted }).catch((e: unknown) => {
    dropIfIdle(path);
    throw e;
  });
  const holder = new AbortController();
  let heldSince = Date.now();
  let file: FileLockHandle;
  try {
    const got = await acquireFileLock({
      lockPath: path,
      staleMs: request.staleMs,
      updateMs: request.updateMs,
      deadline,
      signal,
      onCompromised: (err) =>
        holder.abort(
          new StorageError('LOCK_LOST', `the lock of ${subject} was lost while held: ${err.message}`, {
            cause: err,
            details: { ...facts, reason: 'compromised', heldMs: Date.now() - heldSince, waitedMs: heldSince - started },
          }),
        ),
    }).catch((e: unknown) => {
      throw lockFileError(e, subject, path, facts);
    });
    if (got === 'timeout') throw timedOut();
    if (got === 'aborted') throw aborted();
    file = got;
  } catch (e) {
    leaveQueue();
    dropIfIdle(path);
    throw e;
  }

  heldSince = Date.now();
  const holdTimer =
    holdMs > 0
      ? setTimeout(
          () =>
            holder.abort(
              new StorageError('LOCK_TIMEOUT', `${subject} was locked for longer than ${holdMs} ms: the locked operation was aborted`, {
                details: { ...facts, reason: 'hold-limit', holdMs, heldMs: Date.now() - heldSince, waitedMs: heldSince - started },
              }),
            ),
          holdMs,
        )
      : undefined;
  let released: Promise<void> | undefined;
  return {
    signal: holder.signal,
    release: () =>
      (released ??= (async () => {
        if (holdTimer) clearTimeout(holdTimer);
        try {
          await file.release();
        } finally {
          leaveQueue();
          dropIfIdle(path);
        }
      })()),
  };
}

/**
 * The error for a lock file (or its directory) that cannot be made for another reason than a
 * holder: `UNAVAILABLE` when its directory is missing, `PERMISSION_DENIED` when it is not
 * writable, else `INTERNAL`.
 *
 * @param e - the filesystem error
 * @param subject - what is locked, for the message (`storage 'local'`), or `undefined` for the lock directory itself
 * @param path - the lock file or directory
 * @param details - facts for `details`
 * @returns the error to throw
 */
export function lockFileError(e: unknown, subject: string | undefined, path: string, details: Readonly<Record<string, unknown>> = {}): StorageError {
  const code = (e as NodeJS.ErrnoException).code;
  const facts = { ...details, lockFile: path, errno: code };
  const what = subject !== undefined ? `the lock of ${subject}` : `lock directory '${path}'`;
  if (code === 'ENOENT' || code === 'ENOTDIR') {
    return new StorageError('UNAVAILABLE', `cannot take ${what}: its directory does not exist (${path})`, { cause: e, details: facts });
  }
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') {
    return new StorageError('PERMISSION_DENIED', `cannot take ${what}: not allowed to write ${path}`, { cause: e, details: facts });
  }
  return new StorageError('INTERNAL', `cannot take ${what}: ${(e as Error).message}`, { cause: e, details: facts });
}
