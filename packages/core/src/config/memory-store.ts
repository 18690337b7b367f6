/**
 * A {@link ConfigStore} in memory: what the manager uses for storages given as `config`
 * objects, and a store for tests.
 *
 * @module
 */
import type { ConfigSnapshot, ConfigStore } from './store.js';

/**
 * `storage.cfg` text held in memory, with a revision that counts writes. Nothing is persisted.
 *
 * @example
 * ```ts
 * const store = new MemoryConfigStore('dir: local\n\tpath /var/lib/vz\n');
 * const manager = await StorageManager.open({ plugins: [DirPlugin], configStore: store });
 * ```
 */
export class MemoryConfigStore implements ConfigStore {
  /** Where the config lives, for messages. */
  readonly location: string;
  #text: string;
  #writes = 0;
  readonly #listeners = new Set<(snapshot: ConfigSnapshot) => void>();

  /**
   * @param text - the initial text
   * @param location - how messages name this store
   */
  constructor(text = '', location = 'storage.cfg (in memory)') {
    this.#text = text;
    this.location = location;
  }

  /**
   * Reads the current text.
   *
   * @returns the text and its revision (the number of writes so far)
   */
  read(): Promise<ConfigSnapshot> {
    return Promise.resolve(this.#snapshot());
  }

  /**
   * Replaces the text if no other write came since `expectedRevision`, then tells the watchers.
   *
   * @param text - the new text
   * @param expectedRevision - the revision the change was computed from
   * @returns the new revision, or `undefined` when another write came first
   */
  write(text: string, expectedRevision: string): Promise<string | undefined> {
    if (expectedRevision !== String(this.#writes)) return Promise.resolve(undefined);
    this.#text = text;
    this.#writes++;
    const snapshot = this.#snapshot();
    for (const fn of this.#listeners) fn(snapshot);
    return Promise.resolve(snapshot.revision);
  }

  /**
   * Calls `onChange` after every write.
   *
   * @param onChange - called with the new snapshot
   * @returns a function that stops watching
   */
  watch(onChange: (snapshot: ConfigSnapshot) => void): () => void {
    const fn = (s: ConfigSnapshot): void => onChange(s);
    this.#listeners.add(fn);
    return () => this.#listeners.delete(fn);
  }

  #snapshot(): ConfigSnapshot {
    return { text: this.#text, revision: String(this.#writes) };
  }
}
