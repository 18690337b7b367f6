/**
 * The operation cache a plugin's `activateStorage` gets: what it shares between operations
 * outlives writes to the storage. Internal to the manager.
 *
 * @module
 */
import { OperationCache, type TtlCache } from '../cache.js';

/**
 * An operation cache whose shared values are kept across the TTL cache's clears until they
 * expire ({@link TtlCache.fetchLasting}): a write does not deactivate a storage, so whether it
 * is active (a pool imported) need not be asked again after every allocation.
 */
export class LastingCache extends OperationCache {
  readonly #ttl: TtlCache;

  /** @param ttl - the storage's TTL cache */
  constructor(ttl: TtlCache) {
    super(ttl);
    this.#ttl = ttl;
  }

  /**
   * Like {@link OperationCache.shared}, through {@link TtlCache.fetchLasting}.
   *
   * @param key - cache key
   * @param load - the loader
   */
  override shared<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.get(key, () => this.#ttl.fetchLasting(key, load));
  }
}
