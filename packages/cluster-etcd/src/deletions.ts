/**
 * One watch per lock service on the deletions of every waiter key under the locks prefix, set
 * up once and kept: a waiter registers the keys ahead of it and is woken when one goes.
 *
 * A watch made for each wait would have to start at the revision its waiter read the line at,
 * and etcd serves a watch that starts in the past from a catch-up loop that runs every 100 ms,
 * not at once: each hand-over of a contended lock would wait for that loop. A watch that is
 * already in place when the waiter queues hears every later deletion as it happens. Deletions
 * that arrive before their waiter registers (the watch and the queueing transaction answer on
 * different streams) are remembered for a while and matched on registration.
 *
 * @module
 */
import type { Etcd3, Watcher } from 'etcd3';

/** How many recent deletions are remembered for waiters that register late. */
const RECENT = 4096;

/** A waiter's view of the deletions: the keys ahead of it that went, and a way to wait for the next. */
export interface DeletionFollower {
  /** How many of the followed keys were heard deleted so far. */
  readonly deletes: number;
  /** The followed keys deleted since the last call. */
  take(): string[];
  /** Waits until a deletion after `mark` was heard, `until` (a `Date.now()` time) passes, or `signal` aborts. */
  next(mark: number, until: number, signal: AbortSignal | undefined): Promise<void>;
  /** Stops following. */
  close(): void;
}

class Follower implements DeletionFollower {
  deletes = 0;
  #deleted: string[] = [];
  #wake: (() => void) | undefined;

  constructor(
    readonly wanted: Set<string>,
    readonly onClose: (f: Follower) => void,
  ) {}

  hear(key: string): void {
    if (!this.wanted.delete(key)) return;
    this.deletes++;
    this.#deleted.push(key);
    this.#wake?.();
  }

  take(): string[] {
    const out = this.#deleted;
    this.#deleted = [];
    return out;
  }

  next(mark: number, until: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.deletes > mark || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        this.#wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, until - Date.now()));
      signal?.addEventListener('abort', done, { once: true });
      this.#wake = done;
    });
  }

  close(): void {
    this.#wake?.();
    this.onClose(this);
  }
}

/** The deletions under one prefix, heard by one lasting watch and handed to the waiters that follow them. */
export class Deletions {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #followers = new Set<Follower>();
  /** Recently deleted keys and the revisions of their deletion, oldest first. */
  readonly #recent = new Map<string, bigint>();
  #watcher: Promise<Watcher | undefined> | undefined;
  #generation = 0;
  /** Whether the current watch is confirmed by etcd. */
  #attached = false;
  #closed = false;

  /**
   * @param client - the etcd client
   * @param prefix - the keys to hear about
   */
  constructor(client: Etcd3, prefix: string) {
    this.#client = client;
    this.#prefix = prefix;
  }

  /**
   * Sets the watch up if it is not, and waits until etcd confirmed it (every deletion after that
   * is heard) or `deadline` passes. A waiter that queues after this resolved `true` misses no
   * deletion; after `false`, it must read its line again now and then.
   *
   * @param deadline - a `Date.now()` time to stop waiting at
   * @returns whether the watch is in place
   */
  async ready(deadline: number): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#attached) return true;
    this.#watcher ??= this.#watch();
    const current = this.#watcher;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<undefined>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), undefined)));
    try {
      return (await Promise.race([current, late])) !== undefined;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Follows the deletions of `keys`, which were all present at `revision`: deletions heard
   * already (after that revision) count at once.
   *
   * @param keys - the keys to follow
   * @param revision - the revision they were read at
   * @returns the follower; close it when done
   */
  follow(keys: Iterable<string>, revision: string): DeletionFollower {
    const follower = new Follower(new Set(keys), (f) => this.#followers.delete(f));
    const after = BigInt(revision);
    for (const key of [...follower.wanted]) {
      const at = this.#recent.get(key);
      if (at !== undefined && at > after) follower.hear(key);
    }
    this.#followers.add(follower);
    return follower;
  }

  /** Stops the watch; followers then hear nothing more. */
  close(): void {
    this.#closed = true;
    this.#attached = false;
    const w = this.#watcher;
    this.#watcher = undefined;
    void w?.then((watcher) => watcher?.cancel()).catch(() => undefined);
  }

  #heard(key: string, revision: string): void {
    this.#recent.delete(key);
    this.#recent.set(key, BigInt(revision));
    if (this.#recent.size > RECENT) this.#recent.delete(this.#recent.keys().next().value!);
    for (const f of this.#followers) f.hear(key);
  }

  async #watch(): Promise<Watcher | undefined> {
    const generation = ++this.#generation;
    const forget = (): void => {
      if (this.#generation !== generation) return;
      this.#watcher = undefined; // the next waiter sets it up again
      this.#attached = false;
    };
    try {
      const watcher = await this.#client.watch().prefix(this.#prefix).only('delete').create();
      if (this.#closed) {
        void watcher.cancel().catch(() => undefined);
        return undefined;
      }
      watcher.on('delete', (kv) => this.#heard(kv.key.toString('utf8'), kv.mod_revision));
      // cancelled by etcd (a compaction, say): waiters read their lines again until the next wait sets it up
      watcher.on('error', forget);
      if (this.#generation === generation) this.#attached = true;
      return watcher;
    } catch {
      forget();
      return undefined;
    }
  }
}
