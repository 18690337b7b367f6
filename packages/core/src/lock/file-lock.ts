/**
 * The cross-process part of a storage lock: a proper-lockfile lock (an atomic `mkdir`, kept
 * fresh by touching its mtime), polled until a deadline, with stale-lock takeover serialized
 * so that two waiters can never both remove a dead holder's lock and both believe they won.
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import * as fs from 'node:fs';
import { mkdir, rmdir, stat } from 'node:fs/promises';

/** Options of {@link acquireFileLock}. */
export interface FileLockOptions {
  /** The lock directory that is created, e.g. `/run/stowage/storage-local.lock`. */
  readonly lockPath: string;
  /** A lock whose mtime is older than this is a dead holder's and is taken over (>= 2000). */
  readonly staleMs: number;
  /** How often a holder refreshes its lock's mtime (at most `staleMs / 2`, at least 1000). */
  readonly updateMs?: number | undefined;
  /** Stop trying at this `Date.now()` time. */
  readonly deadline: number;
  /** Stop trying when aborted. */
  readonly signal?: AbortSignal | undefined;
  /** Called once if the lock is lost while held (its directory removed or its mtime changed). */
  readonly onCompromised: (err: Error) => void;
}

/** A held file lock. */
export interface FileLockHandle {
  /** Removes the lock; does nothing if it was already lost. */
  release(): Promise<void>;
}

/** Why {@link acquireFileLock} gave up. */
export type FileLockFailure = 'timeout' | 'aborted';

interface PathState {
  releasing: boolean;
  fs: typeof fs;
}

// One fs wrapper per lock path: proper-lockfile caches the mtime precision on it, and the
// in-process queue guarantees a single acquirer/holder per path at a time.
const states = new Map<string, PathState>();

function stateFor(lockPath: string, staleMs: number): PathState {
  let state = states.get(lockPath);
  if (!state) {
    const s: PathState = { releasing: false, fs: undefined as unknown as typeof fs };
    s.fs = {
      ...fs,
      rmdir: ((path: fs.PathLike, cb: (err: NodeJS.ErrnoException | null) => void) => {
        if (s.releasing) {
          fs.rmdir(path, cb);
          return;
        }
        removeStaleLock(String(path), staleMs).then(() => cb(null), (e: NodeJS.ErrnoException) => cb(e));
      }) as typeof fs.rmdir,
    };
    states.set(lockPath, s);
    state = s;
  }
  return state;
}

function locked(): NodeJS.ErrnoException {
  return Object.assign(new Error('Lock file is already being held'), { code: 'ELOCKED' });
}

/**
 * Removes a stale lock, but only while holding a short-lived takeover guard (another `mkdir`)
 * and only if the lock is still stale once the guard is held. Without the guard, two waiters
 * that both saw the stale lock could remove it in turn, the second removing the lock the first
 * had just made.
 */
async function removeStaleLock(lockPath: string, staleMs: number): Promise<void> {
  const guard = `${lockPath}.takeover`;
  try {
    await mkdir(guard);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    // A guard left by a process killed mid-takeover is itself stale after the stale period.
    const st = await stat(guard).catch(() => undefined);
    if (st && st.mtimeMs < Date.now() - staleMs) await rmdir(guard).catch(() => undefined);
    throw locked();
  }
  try {
    const st = await stat(lockPath).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (!st) return;
    if (st.mtimeMs >= Date.now() - staleMs) throw locked();
    await rmdir(lockPath).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'ENOENT') throw e;
    });
  } finally {
    await rmdir(guard).catch(() => undefined);
  }
}

/** Waits `ms`, or less when `signal` aborts (the caller looks at the signal next). */
async function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : {}).catch(() => undefined);
}

/**
 * Takes the file lock, polling (1 ms growing to 25 ms, with jitter) until the deadline.
 *
 * @param options - path, stale period, deadline, signal, compromise callback
 * @returns the held lock, or why it was not taken
 * @throws the file system error when the lock cannot be made for another reason than a
 *   holder (missing directory, permissions); its `code` is the errno code
 */
export async function acquireFileLock(options: FileLockOptions): Promise<FileLockHandle | FileLockFailure> {
  const state = stateFor(options.lockPath, options.staleMs);
  let delay = 1;
  for (;;) {
    if (options.signal?.aborted) return 'aborted';
    try {
      state.releasing = false;
      const { default: lockfile } = await import('proper-lockfile');
      const release = await lockfile.lock(options.lockPath, {
        lockfilePath: options.lockPath,
        realpath: false,
        retries: 0,
        stale: options.staleMs,
        ...(options.updateMs !== undefined ? { update: options.updateMs } : {}),
        fs: state.fs,
        onCompromised: options.onCompromised,
      });
      return {
        release: async () => {
          state.releasing = true;
          try {
            await release();
          } catch (e) {
            // ERELEASED: the lock was compromised and is no longer ours; nothing to remove.
            if ((e as NodeJS.ErrnoException).code !== 'ERELEASED') throw e;
          } finally {
            state.releasing = false;
          }
        },
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ELOCKED') throw e;
    }
    const left = options.deadline - Date.now();
    if (left <= 0) return 'timeout';
    await sleep(Math.min(left, delay * (0.5 + Math.random())), options.signal);
    delay = Math.min(delay * 2, 25);
  }
}
