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
 * A time-bounded cache shared between calls to one storage. Concurrent callers of the same key
 * share one fetch (lru-cache's `fetchMethod`). The manager clears it after every write to the
 * storage, so a listing is never staler than the last write made through this process.
 */
export class TtlCache {
  readonly #options: TtlCacheOptions;
  // made on the first fetch (lru-cache is imported then): a manager that is opened and never
  // reads a storage does not load it
  #lru: LRUCache<string, { value: unknown }, Loader> | undefined;
  #generation = 0;

  /** @param options - time to live and size bound */
  constructor(options: TtlCacheOptions = {}) {
    this.#options = options;
  }

  async #cache(): Promise<LRUCache<string, { value: unknown }, Loader>> {
    if (this.#lru) return this.#lru;
    const { LRUCache } = await import('lru-cache');
    return (this.#lru ??= new LRUCache<string, { value: unknown }, Loader>({
      max: this.#options.max ?? 1000,
      ttl: this.#options.ttlMs ?? 5000,
      fetchMethod: async (_key, _stale, { context, signal }) => ({ value: await context(signal) }),
    }));
  }

  /**
   * Returns the cached value of `key`, or loads it once (concurrent callers share the load).
   *
   * @param key - cache key, e.g. `lvs` or `status`
   * @param load - the loader, called at most once per freshness period
   */
  async fetch<T>(key: string, load: () => Promise<T>): Promise<T> {
    const generation = this.#generation;
    const lru = await this.#cache();
    // ignoreFetchAbort: a clear() during the load must not reject the callers waiting for it
    // (lru-cache aborts in-flight fetches on clear); lru-cache then hands them the result
    // without caching it.
    const entry = await lru.fetch(key, {
      context: load as Loader,
      allowStaleOnFetchRejection: false,
      ignoreFetchAbort: true,
    });
    // A write during the load makes its result untrustworthy: drop it (the caller still gets it).
    if (generation !== this.#generation) lru.delete(key);
    return (entry as { value: T }).value;
  }

  /** Drops every entry; called by the manager after each write to the storage. */
  clear(): void {
    this.#generation++;
    this.#lru?.clear();
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
