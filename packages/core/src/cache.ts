/**
 * Caches: a fresh {@link OperationCache} per manager call, and a {@link TtlCache} per storage that
 * shares listings and status between calls and is cleared by every write to that storage.
 *
 * @module
 */
import { LRUCache } from 'lru-cache';

/** Options of a {@link TtlCache}. */
export interface TtlCacheOptions {
  /**
   * How long an entry stays fresh, in milliseconds.
   * @default 5000
   */
  readonly ttlMs?: number;
  /**
   * The most entries kept.
   * @default 1000
   */
  readonly max?: number;
}

type Loader = (signal: AbortSignal) => Promise<unknown>;

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
  readonly #lru: LRUCache<string, CachedValue<unknown>, Loader>;
  readonly #last: LRUCache<string, CachedValue<unknown>>;
  readonly #lasting: LRUCache<string, { value: unknown }, Loader>;
  #generation = 0;

  /** @param options - time to live and size bound */
  constructor(options: TtlCacheOptions = {}) {
    const max = options.max ?? 1000;
    const ttl = options.ttlMs ?? 5000;
    this.#last = new LRUCache<string, CachedValue<unknown>>({ max });
    this.#lasting = new LRUCache<string, { value: unknown }, Loader>({ max, ttl, fetchMethod: async (_key, _stale, { context, signal }) => ({ value: await context(signal) }) });
    this.#lru = new LRUCache<string, CachedValue<unknown>, Loader>({
      max,
      ttl,
      fetchMethod: async (key, _stale, { context, signal }) => {
        const generation = this.#generation;
        const loaded = { value: await context(signal), generation };
        this.#keepLast(key, loaded);
        return loaded;
      },
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
    // ignoreFetchAbort: a clear() during the load must not reject the callers waiting for it
    // (lru-cache aborts in-flight fetches on clear); lru-cache then hands them the result
    // without caching it.
    const entry = await this.#lru.fetch(key, {
      context: load as Loader,
      allowStaleOnFetchRejection: false,
      ignoreFetchAbort: true,
    });
    // A write during the load makes its result untrustworthy: drop it (the caller still gets it).
    if (generation !== this.#generation) this.#lru.delete(key);
    return entry as CachedValue<T>;
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
    const known = this.#lru.get(key) ?? this.#last.get(key);
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
    const entry = await this.#lasting.fetch(key, { context: load as Loader, allowStaleOnFetchRejection: false });
    return (entry as { value: T }).value;
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
    const loaded = { value: await load(), generation };
    this.#keepLast(key, loaded);
    if (generation === this.#generation) this.#lru.set(key, loaded);
    return loaded;
  }

  /**
   * Drops every fresh entry (the last known values stay for {@link TtlCache.lastKnown}, and what
   * {@link TtlCache.fetchLasting} loaded stays until it expires); called by the manager after
   * each write to the storage.
   */
  clear(): void {
    this.#generation++;
    this.#lru.clear();
  }

  #keepLast(key: string, loaded: CachedValue<unknown>): void {
    const kept = this.#last.get(key);
    if (kept === undefined || kept.generation <= loaded.generation) this.#last.set(key, loaded);
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
