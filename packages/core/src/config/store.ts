/**
 * The config store seam: where `storage.cfg` lives and how it is changed without losing a
 * concurrent writer's change. The default is a file (`FileConfigStore`); `@stowage/cluster-etcd`
 * keeps it as one etcd key for the whole cluster, as Proxmox keeps it in pmxcfs.
 *
 * @module
 */

/** The config text as read, with the revision a write must name. */
export interface ConfigSnapshot {
  /** The `storage.cfg` text; empty when there is none yet. */
  readonly text: string;
  /**
   * An opaque revision of this text. Two reads of the same stored text give the same revision;
   * any write changes it.
   */
  readonly revision: string;
}

/**
 * Reads and writes `storage.cfg` text with compare-and-swap. A writer reads a snapshot, applies
 * its change to that text, and writes with the snapshot's revision; if another writer got in
 * between, the write is refused and the writer reads again and re-applies its change. So no
 * change is ever lost, whichever process or node makes it.
 */
export interface ConfigStore {
  /** Where the config lives, for messages: a file path, or an `etcd://...` address and key. */
  readonly location: string;
  /**
   * Reads the current text and its revision.
   *
   * @returns the snapshot
   * @throws {@link StorageError} `CONFIG_INVALID` (the location is not a config: a directory,
   *   say), `PERMISSION_DENIED`, `UNAVAILABLE` (the store cannot be reached)
   */
  read(): Promise<ConfigSnapshot>;
  /**
   * Replaces the text, only if the stored revision is still `expectedRevision`. The write is
   * atomic: a reader sees the old text or the new one, never a mix.
   *
   * @param text - the new text
   * @param expectedRevision - the revision the change was computed from
   * @returns the new revision, or `undefined` when the stored revision had changed (nothing was written)
   * @throws {@link StorageError} `PERMISSION_DENIED`, `UNAVAILABLE`, `LOCK_TIMEOUT`, `INTERNAL`
   */
  write(text: string, expectedRevision: string): Promise<string | undefined>;
  /**
   * Calls `onChange` whenever the stored text changes (also for this store's own writes; a
   * listener compares revisions if it cares). Stores that cannot watch omit this method.
   *
   * @param onChange - called with the new snapshot
   * @returns a function that stops watching
   */
  watch?(onChange: (snapshot: ConfigSnapshot) => void): () => void;
}
