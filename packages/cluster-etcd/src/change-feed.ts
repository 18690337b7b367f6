/**
 * Change signals on etcd: one key per storage, put after every write the manager makes to the
 * storage; every node watches the keys' prefix and drops its cached listings of a storage when
 * its key changes.
 *
 * @module
 */
import type { ChangeFeed } from '@stowage/core';
import type { Etcd3, Watcher } from 'etcd3';
import { etcdError } from './errors.js';
import { changeKey, changesPrefix, parseChangeKey } from './keys.js';

/** Options of {@link EtcdChangeFeed}. */
export interface EtcdChangeFeedOptions {
  /** The connected client. */
  readonly client: Etcd3;
  /** The normalised key prefix. */
  readonly prefix: string;
  /** This node's name, written into each announcement. */
  readonly node: string;
  /** The endpoints, for error details. */
  readonly endpoints: readonly string[];
  /**
   * How long a publish may take, in milliseconds.
   * @default 5000
   */
  readonly requestTimeoutMs?: number | undefined;
}

/**
 * The etcd {@link ChangeFeed}. One watch on the prefix serves every subscriber of the feed; it
 * starts with the first subscriber and resumes where it left off after a lost connection.
 */
export class EtcdChangeFeed implements ChangeFeed {
  readonly #options: EtcdChangeFeedOptions;
  readonly #listeners = new Set<(storeId: string) => void>();
  #watcher: Promise<Watcher | undefined> | undefined;

  /** @param options - client, prefix, node */
  constructor(options: EtcdChangeFeedOptions) {
    this.#options = options;
  }

  /**
   * Announces a change to a storage's volumes (a put of its change key).
   *
   * @param storeId - the storage
   * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE`, `PERMISSION_DENIED`
   */
  async publish(storeId: string): Promise<void> {
    const { client, prefix, node } = this.#options;
    try {
      await client
        .put(changeKey(prefix, storeId))
        .value(JSON.stringify({ node, at: Date.now() }))
        .options({ deadline: new Date(Date.now() + (this.#options.requestTimeoutMs ?? 5000)) })
        .exec();
    } catch (e) {
      throw etcdError(e, `cannot announce a change of storage '${storeId}'`, { storeId, endpoints: [...this.#options.endpoints] });
    }
  }

  /**
   * Calls `onChange` with the storage id whenever any node (this one included) announces a
   * change.
   *
   * @param onChange - the listener
   * @returns a function that stops listening
   */
  subscribe(onChange: (storeId: string) => void): () => void {
    this.#listeners.add(onChange);
    this.#watcher ??= this.#watch();
    return () => {
      this.#listeners.delete(onChange);
      if (this.#listeners.size === 0) this.close();
    };
  }

  /** Stops the watch (subscribers hear nothing more until a new one subscribes). */
  close(): void {
    const w = this.#watcher;
    this.#watcher = undefined;
    void w?.then((watcher) => watcher?.cancel()).catch(() => undefined);
  }

  async #watch(): Promise<Watcher | undefined> {
    const { client, prefix } = this.#options;
    try {
      const watcher = await client.watch().prefix(changesPrefix(prefix)).only('put').create();
      watcher.on('error', () => undefined);
      watcher.on('put', (kv) => {
        const storeId = parseChangeKey(prefix, kv.key.toString('utf8'));
        if (storeId === undefined) return;
        for (const listener of this.#listeners) listener(storeId);
      });
      return watcher;
    } catch {
      this.#watcher = undefined; // the next subscriber tries again
      return undefined;
    }
  }
}
