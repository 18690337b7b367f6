/**
 * The cluster's `storage.cfg` as one etcd key, written by compare-and-swap on the key's mod
 * revision, as Proxmox keeps it as one file in pmxcfs.
 *
 * @module
 */
import type { ConfigSnapshot, ConfigStore } from '@stowage/core';
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import { etcdError, etcdErrorCode } from './errors.js';
import { configKey } from './keys.js';

/** Options of {@link EtcdConfigStore}. */
export interface EtcdConfigStoreOptions {
  /** The connected client. */
  readonly client: Etcd3;
  /** The normalised key prefix. */
  readonly prefix: string;
  /** The endpoints, for `location` and error details. */
  readonly endpoints: readonly string[];
  /**
   * How long a read or write may take, in milliseconds.
   * @default 5000
   */
  readonly requestTimeoutMs?: number | undefined;
}

const EMPTY: ConfigSnapshot = { text: '', revision: '0' };

function snapshotOf(kv: IKeyValue | undefined): ConfigSnapshot {
  return kv ? { text: kv.value.toString('utf8'), revision: kv.mod_revision } : EMPTY;
}

/**
 * The etcd {@link ConfigStore}. Revisions are the key's etcd mod revision; a missing key reads
 * as empty text with revision `'0'`, and a write naming `'0'` creates it only if it is still
 * missing.
 */
export class EtcdConfigStore implements ConfigStore {
  /** `etcd://<endpoints>/<key>`. */
  readonly location: string;
  readonly #options: EtcdConfigStoreOptions;
  readonly #key: string;
  /** The etcd revision of the latest read: a watch starts right after it. */
  #readAt: bigint | undefined;

  /** @param options - client, prefix, endpoints */
  constructor(options: EtcdConfigStoreOptions) {
    this.#options = options;
    this.#key = configKey(options.prefix);
    this.location = `etcd://${options.endpoints.join(',')}/${this.#key}`;
  }

  #deadline(): Date {
    return new Date(Date.now() + (this.#options.requestTimeoutMs ?? 5000));
  }

  #error(e: unknown, what: string) {
    return etcdError(e, `cannot ${what} ${this.location}`, { location: this.location, endpoints: [...this.#options.endpoints] });
  }

  /**
   * Reads the text and its revision: a linearizable read (it sees every write that completed
   * before it); when that fails as unavailable (no quorum), the member's own copy, which may
   * miss the latest writes, as Proxmox nodes without quorum still read `/etc/pve`. A change
   * computed from such a copy cannot be written: writes need a quorum, and compare the revision.
   *
   * @returns the snapshot
   * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE` (no member answers), `PERMISSION_DENIED`
   */
  async read(): Promise<ConfigSnapshot> {
    const half = (this.#options.requestTimeoutMs ?? 5000) / 2;
    const range = async (serializable: boolean): Promise<ConfigSnapshot> => {
      const res = await this.#options.client.kv.range({ key: Buffer.from(this.#key), serializable }, { deadline: new Date(Date.now() + half) });
      this.#readAt = BigInt(res.header.revision);
      return snapshotOf(res.kvs[0]);
    };
    try {
      return await range(false);
    } catch (e) {
      if (etcdErrorCode(e) !== 'UNAVAILABLE') throw this.#error(e, 'read');
      return range(true).catch(() => Promise.reject(this.#error(e, 'read')));
    }
  }

  /**
   * Replaces the text if the key's mod revision is still `expectedRevision`.
   *
   * @param text - the new text
   * @param expectedRevision - the revision the change was computed from
   * @returns the new revision, or `undefined` when another writer got in first
   * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE`, `PERMISSION_DENIED`
   */
  async write(text: string, expectedRevision: string): Promise<string | undefined> {
    if (!/^(0|[1-9][0-9]{0,18})$/.test(expectedRevision)) return undefined;
    const key = Buffer.from(this.#key);
    try {
      const res = await this.#options.client.kv.txn(
        {
          compare: [{ key, target: 'Mod', result: 'Equal', mod_revision: expectedRevision }],
          success: [{ request_put: { key, value: Buffer.from(text, 'utf8') } }],
          failure: [],
        },
        { deadline: this.#deadline() },
      );
      return res.succeeded ? res.header.revision : undefined;
    } catch (e) {
      throw this.#error(e, 'write');
    }
  }

  /**
   * Calls `onChange` with the new snapshot after every write (and with empty text, revision
   * `'0'`, if the key is deleted). The watch starts right after this store's latest read, so a
   * write between that read and the watch is heard too, and it resumes where it left off after a
   * lost connection.
   *
   * @param onChange - the listener
   * @returns a function that stops watching
   */
  watch(onChange: (snapshot: ConfigSnapshot) => void): () => void {
    let stopped = false;
    let watcher: Watcher | undefined;
    const builder = this.#options.client.watch().key(this.#key);
    if (this.#readAt !== undefined) builder.startRevision(String(this.#readAt + 1n));
    builder
      .create()
      .then(
        (w) => {
          w.on('error', () => undefined);
          if (stopped) {
            void w.cancel().catch(() => undefined);
            return;
          }
          watcher = w;
          // events already on their way when stopped are not passed on
          w.on('put', (kv) => stopped || onChange(snapshotOf(kv)));
          w.on('delete', () => stopped || onChange(EMPTY));
        },
        () => undefined,
      );
    return () => {
      stopped = true;
      void watcher?.cancel().catch(() => undefined);
    };
  }
}
