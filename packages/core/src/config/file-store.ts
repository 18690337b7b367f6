/**
 * The default {@link ConfigStore}: a `storage.cfg` file on this machine (or on a filesystem
 * every writer mounts).
 *
 * @module
 */
import { watch } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { lockReason } from '../lock/service.js';
import { acquirePathLock } from '../lock/path-lock.js';
import { readConfigBytes, replaceFileAtomically } from './file.js';
import type { ConfigSnapshot, ConfigStore } from './store.js';

/** Options of {@link FileConfigStore}. */
export interface FileConfigStoreOptions {
  /**
   * How long a write waits for the file's lock before failing with `LOCK_TIMEOUT`, in milliseconds.
   * @default 10_000
   */
  readonly lockTimeoutMs?: number | undefined;
  /**
   * A lock not refreshed for this long is a dead writer's and is taken over, in milliseconds (at least 2000).
   * @default 10_000
   */
  readonly staleMs?: number | undefined;
}

/** The revision of a file that does not exist. */
const ABSENT = 'absent';

/** How often a writer waiting for the lock checks whether the file changed meanwhile. */
const STALE_POLL_MS = 25;

/** How long {@link FileConfigStore.watch} waits for a burst of file events to end before it reads. */
const WATCH_SETTLE_MS = 20;

/**
 * The revision of some config bytes: the bytes themselves, one character each (a storage.cfg is
 * small). Equal bytes have equal revisions and different bytes different ones, so a change
 * computed from a text is accepted wherever that text is stored, which is what compare-and-swap
 * needs; and no hash has to be loaded and computed on every read (a command reads the file once
 * per run).
 *
 * @param bytes - the file's contents
 */
function revisionOf(bytes: Buffer): string {
  return `bytes:${bytes.toString('latin1')}`;
}

/**
 * `storage.cfg` as a file. A write takes a lock file beside it (`.storage.cfg.lock`, made of
 * the same parts as the storage locks: an in-process queue, then a lock directory that a dead
 * holder's successor takes over), compares the file's current revision with the expected one,
 * and replaces the file atomically (temporary file in the same directory, `fsync`, `rename`,
 * `fsync` of the directory). Readers take no lock: they see the old file or the new one.
 *
 * The revision is the SHA-256 of the file's bytes (`absent` when there is no file), so writing
 * the text a file already holds leaves its revision as it was.
 *
 * @example
 * ```ts
 * const store = new FileConfigStore('/etc/stowage/storage.cfg');
 * const { text, revision } = await store.read();
 * const next = await store.write(`${text}dir: scratch\n\tpath /srv/scratch\n\n`, revision);
 * if (next === undefined) {
 *   // another writer got in first: read again and re-apply the change
 * }
 * ```
 */
export class FileConfigStore implements ConfigStore {
  /** The file's absolute path. */
  readonly location: string;
  readonly #lockPath: string;
  readonly #lockTimeoutMs: number;
  readonly #staleMs: number;

  /**
   * @param path - the `storage.cfg` file (it need not exist yet; its directory must, for writes)
   * @param options - lock timeout and stale period
   */
  constructor(path: string, options: FileConfigStoreOptions = {}) {
    this.location = resolve(path);
    this.#lockPath = join(dirname(this.location), `.${basename(this.location)}.lock`);
    this.#lockTimeoutMs = options.lockTimeoutMs ?? 10_000;
    this.#staleMs = Math.max(2000, options.staleMs ?? 10_000);
  }

  /**
   * Reads the file. A file that does not exist reads as empty text.
   *
   * @returns the text and its revision
   * @throws {@link StorageError} `CONFIG_INVALID` (the path is a directory or not a regular
   *   file), `PERMISSION_DENIED`, `INTERNAL`
   */
  async read(): Promise<ConfigSnapshot> {
    const bytes = await readConfigBytes(this.location);
    return bytes === undefined ? { text: '', revision: ABSENT } : { text: bytes.toString('utf8'), revision: revisionOf(bytes) };
  }

  /**
   * Replaces the file with `text` if its revision is still `expectedRevision`, under the file's
   * lock. If the lock is lost before the rename (the writer paused past the stale period and
   * another took over), nothing is written.
   *
   * @param text - the new text
   * @param expectedRevision - the revision the change was computed from
   * @returns the new revision, or `undefined` when the file had changed (nothing was written)
   * @throws {@link StorageError} `LOCK_TIMEOUT` (the lock was not taken in time), `LOCK_LOST`,
   *   `UNAVAILABLE` (the file's directory does not exist), `PERMISSION_DENIED`, `CONFIG_INVALID`,
   *   `INTERNAL`
   */
  async write(text: string, expectedRevision: string): Promise<string | undefined> {
    // A change already visible needs no lock to be refused, and a writer waiting for the lock
    // stops waiting as soon as another writer's change lands: its write would be refused then
    // anyway. So under contention nobody queues behind writers whose changes make it stale.
    if ((await this.read()).revision !== expectedRevision) return undefined;
    const stale = new AbortController();
    let checking = false;
    const poll = setInterval(() => {
      if (checking) return;
      checking = true;
      this.read()
        .then((s) => s.revision !== expectedRevision && stale.abort(), () => undefined)
        .finally(() => (checking = false));
    }, STALE_POLL_MS);
    let lock;
    try {
      lock = await acquirePathLock({
        path: this.#lockPath,
        subject: `the storage configuration ${this.location}`,
        details: { path: this.location },
        timeoutMs: this.#lockTimeoutMs,
        holdMs: 0,
        staleMs: this.#staleMs,
        signal: stale.signal,
      });
    } catch (e) {
      if (stale.signal.aborted) return undefined;
      throw e;
    } finally {
      clearInterval(poll);
    }
    const held = lock;
    try {
      const current = await this.read();
      if (current.revision !== expectedRevision) return undefined;
      await replaceFileAtomically(this.location, text, () => {
        if (held.signal.aborted) throw lockReason(held.signal, { storeId: this.location });
      });
      return revisionOf(Buffer.from(text, 'utf8'));
    } finally {
      await held.release();
    }
  }

  /**
   * Watches the file's directory (`fs.watch`, inotify on Linux) and calls `onChange` with the
   * new snapshot whenever the file's revision changes, this store's own writes included. A burst
   * of events is read once. Changes are seen when they are made on this machine; on a network
   * filesystem, changes made by other machines raise no event (read again, or use a cluster
   * store). When the directory cannot be watched (it does not exist), nothing is watched. The
   * watch does not keep the process alive.
   *
   * @param onChange - called with each new snapshot
   * @returns a function that stops watching
   */
  watch(onChange: (snapshot: ConfigSnapshot) => void): () => void {
    let last: string | undefined;
    let timer: NodeJS.Timeout | undefined;
    let stopped = false;
    const check = (): void => {
      timer = undefined;
      this.read().then(
        (snapshot) => {
          if (stopped || snapshot.revision === last) return;
          last = snapshot.revision;
          onChange(snapshot);
        },
        () => undefined, // unreadable for now: the next event reads again
      );
    };
    this.read().then(
      (s) => (last ??= s.revision),
      () => undefined,
    );
    const name = basename(this.location);
    let watcher: ReturnType<typeof watch>;
    try {
      watcher = watch(dirname(this.location), { persistent: false }, (_event, file) => {
        if (stopped || (file !== null && file !== name)) return;
        if (timer) clearTimeout(timer);
        timer = setTimeout(check, WATCH_SETTLE_MS);
        timer.unref();
      });
    } catch {
      return () => undefined;
    }
    watcher.on('error', () => watcher.close());
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      watcher.close();
    };
  }
}
