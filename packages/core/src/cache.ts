/**
 * Caches: a fresh {@link OperationCache} per manager call, and a {@link TtlCache} per storage that
 * shares listings and status between calls and is cleared by every write to that storage.
 *
 * @module
 */
import type { LRUCache } from 'lru-cache';

/** Options of a {@link TtlCache}. */
export interface TtlCacheOptions {
  /**
   * How long an entry stays fresh, in milliseconds; 0 (or less) keeps nothing between calls
   * beyond a millisecond (concurrent callers still share one load).
   * @default 5000
   */
  readonly ttlMs?: number;
  /**
   * How long a value loaded with {@link TtlCache.fetchLasting} is kept, in milliseconds (across
   * clears, until {@link TtlCache.forgetLasting}).
   * @default ttlMs
   */
  readonly lastingTtlMs?: number;
  /**
   * The most entries kept.
   * @default 1000
   */
  readonly max?: number;
}

type Loader = () => Promise<unknown>;

interface Caches {
  /** Fresh values, dropped by every {@link TtlCache.clear}. */
  readonly fresh: LRUCache<string, CachedValue<unknown>, Loader>;
  /** The last value loaded for each key, whatever happened since. */
  readonly last: LRUCache<string, CachedValue<unknown>>;
  /** Values that outlive {@link TtlCache.clear} until they expire. */
  readonly lasting: LRUCache<string, { value: unknown }, Loader>;
}

/** How many times a caller joins other callers' loads that fail before it loads by itself. */
const JOINED_FAILURES = 2;

/**
 * A value of a {@link TtlCache} and the generation it was loaded in: the value misses the writes
 * announced (by {@link TtlCache.clear}) after its load began, never one announced before.
 */
export interface CachedValue<T> {
  /** The value. */
  readonly value: T;
  /** {@link TtlCache.generation} when its load began. */
  readonly generation: number;
}

/**
 * A time-bounded cache shared between calls to one storage. Concurrent callers of the same key
 * share one fetch (lru-cache's `fetchMethod`). The manager clears it after every write to the
 * storage, so a listing is never staler than the last write made through this process.
 *
 * Besides the fresh values it keeps the last value loaded for each key, cleared or expired or
 * not ({@link TtlCache.lastKnown}): what the manager's free-name search starts from when a
 * plugin's creates refuse taken names themselves (`PluginCapabilities.exclusiveCreate`).
 */
export class TtlCache {
  readonly #options: TtlCacheOptions;
  // made on the first use (lru-cache is imported then): a manager that is opened and never
  // reads a storage does not load it
  #caches: Caches | undefined;
  #generation = 0;

  /** @param options - time to live and size bound */
  constructor(options: TtlCacheOptions = {}) {
    this.#options = options;
  }

  async #made(): Promise<Caches> {
    if (this.#caches) return this.#caches;
    const { LRUCache } = await import('lru-cache');
    const max = this.#options.max ?? 1000;
    // lru-cache reads a TTL of 0 as "never expires": 0 here means "not reused", so 1 ms
    const ttl = Math.max(1, this.#options.ttlMs ?? 5000);
    return (this.#caches ??= {
      last: new LRUCache<string, CachedValue<unknown>>({ max }),
      lasting: new LRUCache<string, { value: unknown }, Loader>({ max, ttl: Math.max(1, this.#options.lastingTtlMs ?? ttl), fetchMethod: async (_key, _stale, { context }) => ({ value: await context() }) }),
      fresh: new LRUCache<string, CachedValue<unknown>, Loader>({
        max,
        ttl,
        fetchMethod: async (key, _stale, { context }) => {
          const generation = this.#generation;
          const loaded = { value: await context(), generation };
          this.#keepLast(key, loaded);
          return loaded;
        },
      }),
    });
  }

  /** How many times the cache was cleared: a value loaded in generation `g` misses only the writes announced after `g`. */
  get generation(): number {
    return this.#generation;
  }

  /**
   * Returns the cached value of `key`, or loads it once (concurrent callers share the load).
   *
   * @param key - cache key, e.g. `lvs` or `status`
   * @param load - the loader, called at most once per freshness period
   */
  async fetch<T>(key: string, load: () => Promise<T>): Promise<T> {
    return (await this.#fetch<T>(key, load)).value;
  }

  async #fetch<T>(key: string, load: () => Promise<T>): Promise<CachedValue<T>> {
    const generation = this.#generation;
    const { fresh } = await this.#made();
    const entry = await this.#joined(fresh, key, load, async () => ({ value: await load(), generation }));
    // A write during the load makes its result untrustworthy: drop it (the caller still gets it).
    if (generation !== this.#generation) fresh.delete(key);
    return entry as CachedValue<T>;
  }

  /**
   * Fetches through `cache`, sharing one load between concurrent callers. The shared load is the
   * first caller's and runs with that caller's abort signal: when it fails and the failure is not
   * this caller's own (another operation was aborted, say), this caller tries again rather than
   * fail with it, and after {@link JOINED_FAILURES} such failures loads by itself.
   */
  async #joined<V extends object>(cache: LRUCache<string, V, Loader>, key: string, load: () => Promise<unknown>, alone: () => Promise<V>): Promise<V> {
    for (let joinedFailures = 0; joinedFailures < JOINED_FAILURES; joinedFailures++) {
      let mine = false;
      try {
        // ignoreFetchAbort: a clear() during the load must not reject the callers waiting for it
        // (lru-cache aborts in-flight fetches on clear); lru-cache then hands them the result
        // without caching it.
        const context: Loader = () => {
          mine = true;
          return load();
        };
        return (await cache.fetch(key, { context, allowStaleOnFetchRejection: false, ignoreFetchAbort: true })) as V;
      } catch (e) {
        if (mine) throw e;
      }
    }
    return alone();
  }

  /**
   * Returns the fresh value of `key`, else the last value loaded for it even when cleared or
   * expired since, else loads it (as {@link TtlCache.fetch}). For what tolerates a stale answer
   * and can tell from the generation what it may miss.
   *
   * @param key - cache key
   * @param load - the loader, called only when nothing was ever loaded for the key
   * @returns the value and the generation it was loaded in
   */
  async lastKnown<T>(key: string, load: () => Promise<T>): Promise<CachedValue<T>> {
    const { fresh, last } = await this.#made();
    const known = fresh.get(key) ?? last.get(key);
    return known !== undefined ? (known as CachedValue<T>) : this.#fetch(key, load);
  }

  /**
   * Like {@link TtlCache.fetch}, but a value loaded before a {@link TtlCache.clear} is still
   * served until it expires: for facts that writes to the storage do not change, such as whether
   * it is active.
   *
   * @param key - cache key
   * @param load - the loader, called at most once per freshness period
   */
  async fetchLasting<T>(key: string, load: () => Promise<T>): Promise<T> {
    const { lasting } = await this.#made();
    const entry = await this.#joined(lasting, key, load, async () => ({ value: await load() }));
    return entry.value as T;
  }

  /**
   * Loads `key` anew, whatever is cached, and keeps the result (as the fresh value too, unless
   * the cache was cleared during the load).
   *
   * @param key - cache key
   * @param load - the loader
   * @returns the value and the generation it was loaded in
   */
  async reload<T>(key: string, load: () => Promise<T>): Promise<CachedValue<T>> {
    const generation = this.#generation;
    const { fresh } = await this.#made();
    const loaded = { value: await load(), generation };
    this.#keepLast(key, loaded);
    if (generation === this.#generation) fresh.set(key, loaded);
    return loaded;
  }

  /**
   * Drops what {@link TtlCache.fetchLasting} loaded: the manager calls it when an operation
   * failed, so that the next one asks again whether the storage is active.
   */
  forgetLasting(): void {
    this.#caches?.lasting.clear();
  }

  /**
   * Drops every fresh entry (the last known values stay for {@link TtlCache.lastKnown}, and what
   * {@link TtlCache.fetchLasting} loaded stays until it expires); called by the manager after
   * each write to the storage.
   */
  clear(): void {
    this.#generation++;
    this.#caches?.fresh.clear();
  }

  #keepLast(key: string, loaded: CachedValue<unknown>): void {
    const last = this.#caches?.last;
    const kept = last?.get(key);
    if (kept === undefined || kept.generation <= loaded.generation) last?.set(key, loaded);
  }
}

/**
 * A cache that lives for one manager call (Proxmox's `$cache` hash). A plugin that needs the
 * same listing several times in one operation (for example `lvs` for a free-name search and then
 * for the allocation) asks this cache and runs the command once.
 */
export class OperationCache {
  readonly #memo = new Map<string, Promise<unknown>>();
  readonly #shared: TtlCache | undefined;

  /** @param shared - the storage's TTL cache, used by {@link OperationCache.shared} */
  constructor(shared?: TtlCache) {
    this.#shared = shared;
  }

  /**
   * Returns the value of `key` for this operation, loading it once. A failed load is not kept.
   *
   * @param key - cache key
   * @param load - the loader
   */
  get<T>(key: string, load: () => Promise<T>): Promise<T> {
    let p = this.#memo.get(key) as Promise<T> | undefined;
    if (!p) {
      p = load();
      this.#memo.set(key, p);
      p.catch(() => this.#memo.delete(key));
    }
    return p;
  }

  /**
   * Like {@link OperationCache.get}, but also shared between calls through the storage's TTL
   * cache. Use it for read-only listings and status.
   *
   * @param key - cache key
   * @param load - the loader
   */
  shared<T>(key: string, load: () => Promise<T>): Promise<T> {
    const ttl = this.#shared;
    return this.get(key, ttl ? () => ttl.fetch(key, load) : load);
  }

  /**
   * Forgets `key` (or everything) in this operation and in the shared cache: call it after a
   * write inside one operation makes an earlier listing stale.
   *
   * @param key - the key to forget; all keys when omitted
   */
  invalidate(key?: string): void {
    if (key === undefined) this.#memo.clear();
    else this.#memo.delete(key);
    this.#shared?.clear();
  }
}
