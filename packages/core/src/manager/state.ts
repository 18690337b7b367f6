/**
 * The manager's per-storage state and the steps every call shares: find the storage, check it
 * is usable here, parse the volume, make a plugin context, take the lock, clear caches after a
 * write. Internal to the manager.
 *
 * @module
 */
import { OperationCache, TtlCache, type TtlCacheOptions } from '../cache.js';
import type { CommandRunner } from '../command/runner.js';
import type { StorageConfig } from '../config/base-schema.js';
import { notConfigured } from '../config/document.js';
import { describeConfigIssues } from '../config/validate.js';
import { localFileSystem } from '../file-system.js';
import { ConfigError, StorageError, isStorageError, type ConfigIssue } from '../errors.js';
import type { Logger, ParsedVolume, PluginContext } from '../plugin-types.js';
import type { StoragePlugin, StoragePluginClass } from '../storage-plugin.js';
import { formatVolumeId, parseVolumeId } from '../volume-id.js';
import type { ChangeFeed } from '../cluster.js';
import { lockReason, type LockService } from '../lock/service.js';
import { LastingCache } from './lasting-cache.js';
import { MadeNames } from './made-names.js';

/** One configured storage. */
export interface StorageEntry {
  /** The storage id. */
  readonly id: string;
  /** Its plugin class. */
  readonly cls: StoragePluginClass;
  /** Its plugin instance. */
  readonly plugin: StoragePlugin;
  /** Its validated config (replaced on update). */
  config: StorageConfig;
  /** Listings and status shared between calls; cleared after every write. */
  readonly ttl: TtlCache;
  /** The names this manager made on the storage, for free-name searches from a listing that may predate them. */
  readonly made: MadeNames;
  /**
   * Whether the plugin's free-name search reads its listing from the TTL cache, as its first
   * search showed (`undefined` before it); one that reads past the caches is asked under the lock.
   */
  freeNamesCached: boolean | undefined;
  /** When stale temporaries were last collected (`Date.now()`), `0` for never. */
  gcAt: number;
}

/** A section of the storage configuration that cannot be used, and why. */
export interface InvalidStorage {
  /** The storage id from the section's header. */
  readonly storage: string;
  /** The storage type from the header. */
  readonly type: string;
  /** The header's 1-based line. */
  readonly line: number;
  /** What is wrong, each issue with its line when known. */
  readonly issues: readonly ConfigIssue[];
}

/** A volume id resolved to its storage and parsed by the storage's plugin. */
export interface ResolvedVolume {
  /** The volume id as given. */
  readonly volid: string;
  /** The storage. */
  readonly entry: StorageEntry;
  /** What the plugin's `parseVolname` made of it. */
  readonly volume: ParsedVolume;
}

/** How a context is made. */
export interface ContextOptions {
  /** Aborts the operation. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Wire the operation cache to the storage's TTL cache. Off inside the storage lock, so that a
   * free-name search sees the storage as it is, not a listing another process has outdated.
   */
  readonly sharedCache: boolean;
  /** What `ctx.nameReserved()` does: gives back the lock of a locked section. */
  readonly nameReserved?: (() => void) | undefined;
  /** The operation cache to use instead of a new one (then `sharedCache` is not read). */
  readonly cache?: OperationCache | undefined;
}

/** Which lock a locked section takes, and what it is for. */
export interface LockedOptions {
  /** Take this volume's lock instead of the storage's. */
  readonly volname?: string | undefined;
  /** The operation, for whoever asks who holds the lock. */
  readonly operation: string;
}

/** Everything the manager's operations need. Internal. */
export class ManagerState {
  /** Configured storages by id, in config order. */
  readonly entries = new Map<string, StorageEntry>();
  /** Sections of the configuration that cannot be used, in config order. */
  invalid: readonly InvalidStorage[] = [];

  /**
   * @param runner - runs plugin commands
   * @param node - this node's name
   * @param log - diagnostics
   * @param locks - storage locks
   * @param caches - TTLs of the per-storage caches (`lastingTtlMs`: what activation shares)
   * @param gcIntervalMs - how often, at most, stale temporaries are collected per storage
   * @param changes - where writes are announced, if anywhere
   */
  constructor(
    readonly runner: CommandRunner,
    readonly node: string,
    readonly log: Logger,
    readonly locks: LockService,
    readonly caches: Pick<TtlCacheOptions, 'ttlMs' | 'lastingTtlMs'>,
    readonly gcIntervalMs: number,
    readonly changes: ChangeFeed | undefined,
  ) {}

  /**
   * Makes the entry of a validated config.
   *
   * @param cls - the plugin class
   * @param config - the validated config
   */
  makeEntry(cls: StoragePluginClass, config: StorageConfig): StorageEntry {
    return { id: config.storage, cls, plugin: new cls(), config, ttl: new TtlCache(this.caches), made: new MadeNames(), freeNamesCached: undefined, gcAt: 0 };
  }

  /**
   * Returns a storage's entry.
   *
   * @param storeId - the storage id
   * @throws {@link StorageError} `NOT_FOUND`; `CONFIG_INVALID` (a {@link ConfigError} with the
   *   section's issues) when its section cannot be used
   */
  entry(storeId: string): StorageEntry {
    const e = typeof storeId === 'string' ? this.entries.get(storeId) : undefined;
    if (e) return e;
    const bad = this.invalid.find((x) => x.storage === storeId);
    if (bad) {
      throw new ConfigError(`storage '${storeId}' cannot be used until its configuration is repaired: ${describeConfigIssues(bad.issues)}`, bad.issues, { details: { storeId } });
    }
    const configured = [...this.entries.keys(), ...this.invalid.map((x) => x.storage)].sort();
    throw new StorageError('NOT_FOUND', `storage '${String(storeId)}' ${notConfigured(configured)}`, { details: { storeId: String(storeId), configured } });
  }

  /**
   * Returns a storage's entry if it is enabled and available on this node.
   *
   * @param storeId - the storage id
   * @throws {@link StorageError} `NOT_FOUND`; `UNAVAILABLE` when disabled or not for this node
   */
  usable(storeId: string): StorageEntry {
    const e = this.entry(storeId);
    if (e.config.disable === true) {
      throw new StorageError('UNAVAILABLE', `storage '${storeId}' is disabled`, { details: { storeId, reason: 'disabled' } });
    }
    const nodes = e.config.nodes;
    if (nodes && nodes.length > 0 && !nodes.includes(this.node)) {
      throw new StorageError('UNAVAILABLE', `storage '${storeId}' is not available on node '${this.node}'`, {
        details: { storeId, node: this.node, nodes: [...nodes], reason: 'node' },
      });
    }
    return e;
  }

  /**
   * Parses a volume id, finds its (usable) storage and lets the plugin parse the volname.
   *
   * @param volid - `storeid:volname`
   * @throws {@link StorageError} `INVALID_VOLUME_ID`, `NOT_FOUND`, `UNAVAILABLE`
   */
  resolve(volid: string): ResolvedVolume {
    const { storeId, volname } = parseVolumeId(volid);
    const entry = this.usable(storeId);
    return { volid, entry, volume: parseWith(entry, volname) };
  }

  /**
   * Makes a fresh plugin context for one operation.
   *
   * @param entry - the storage
   * @param options - signal and cache wiring
   */
  context(entry: StorageEntry, options: ContextOptions): PluginContext {
    const { signal } = options;
    const runner = this.runner;
    return {
      storeId: entry.id,
      config: entry.config,
      cache: options.cache ?? new OperationCache(options.sharedCache ? entry.ttl : undefined),
      runner,
      run: (argv, runOptions) => runner.run(argv, { ...runOptions, signal: runOptions?.signal ?? signal }),
      signal,
      fs: runner.fs ?? localFileSystem,
      log: this.log,
      node: this.node,
      nameReserved: options.nameReserved ?? noop,
    };
  }

  /** Tells whether a storage's lock must be visible to every node. */
  isShared(entry: StorageEntry): boolean {
    return entry.config.shared === true || entry.cls.capabilities.shared;
  }

  /**
   * Runs `fn` under the storage's (or a volume's) lock with a context whose cache is not shared
   * with other calls, then clears the storage's TTL cache and announces the change (a locked
   * section always writes).
   *
   * The lock is given back when `fn` settles, or earlier when `fn` calls `ctx.nameReserved()`.
   * When the lock stops protecting the section while held (lost, or past its hold limit),
   * `fn`'s signal is aborted, and if `fn` then fails the call fails with the lock's error
   * (`LOCK_LOST`, `LOCK_TIMEOUT`).
   *
   * @param entry - the storage
   * @param signal - the caller's abort signal
   * @param fn - the locked section
   * @param options - the volume whose lock to take, the operation's name
   * @throws {@link StorageError} `LOCK_TIMEOUT`, `LOCK_LOST`, and whatever `fn` throws
   */
  async locked<T>(entry: StorageEntry, signal: AbortSignal | undefined, fn: (ctx: PluginContext) => Promise<T>, options: LockedOptions): Promise<T> {
    const request = { storeId: entry.id, volname: options.volname, shared: this.isShared(entry), signal, operation: options.operation };
    const lock = await this.locks.acquire(request);
    const stop = new AbortController();
    let held = true;
    const onLost = (): void => {
      if (held) stop.abort(lockReason(lock.signal, request));
    };
    const release = (): void => {
      if (!held) return;
      held = false;
      lock.signal.removeEventListener('abort', onLost);
      lock.release().catch((e: unknown) => this.log.warn(`could not release the lock of storage '${entry.id}'`, { error: String(e) }));
    };
    if (lock.signal.aborted) onLost();
    else lock.signal.addEventListener('abort', onLost, { once: true });
    try {
      const ctxSignal = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
      return await fn(this.context(entry, { signal: ctxSignal, sharedCache: false, nameReserved: release }));
    } catch (e) {
      entry.ttl.forgetLasting();
      throw stop.signal.aborted ? (stop.signal.reason as StorageError) : e;
    } finally {
      release();
      this.changed(entry);
    }
  }

  /**
   * Runs a write that needs no lock, then clears the storage's TTL cache and announces the change.
   *
   * @param entry - the storage
   * @param signal - the caller's abort signal
   * @param fn - the write
   */
  async write<T>(entry: StorageEntry, signal: AbortSignal | undefined, fn: (ctx: PluginContext) => Promise<T>): Promise<T> {
    try {
      return await fn(this.context(entry, { signal, sharedCache: false }));
    } catch (e) {
      entry.ttl.forgetLasting();
      throw e;
    } finally {
      this.changed(entry);
    }
  }

  /**
   * Forgets a storage's cached listings and status, and announces the change to other nodes.
   *
   * @param entry - the storage
   */
  changed(entry: StorageEntry): void {
    entry.ttl.clear();
    this.changes?.publish(entry.id).catch((e: unknown) => this.log.warn(`could not announce a change of storage '${entry.id}'`, { error: String(e) }));
  }

  /**
   * Runs a read with a context wired to the storage's TTL cache. A failed read (like a failed
   * locked section or write) drops what activation shared, so that the next operation activates
   * the storage anew.
   *
   * @param entry - the storage
   * @param signal - the caller's abort signal
   * @param fn - the read
   */
  read<T>(entry: StorageEntry, signal: AbortSignal | undefined, fn: (ctx: PluginContext) => Promise<T>): Promise<T> {
    return fn(this.context(entry, { signal, sharedCache: true })).catch((e: unknown) => {
      entry.ttl.forgetLasting(); // the next operation activates the storage anew
      throw e;
    });
  }

  /**
   * Makes sure the storage is active for this operation (once per context), and collects its
   * stale temporaries when that is due (see {@link ManagerState.collectIfDue}). What the
   * plugin's `activateStorage` shares through `ctx.cache.shared` is kept for `activationTtlMs`
   * even across writes (see {@link LastingCache}), until an operation fails.
   *
   * @param entry - the storage
   * @param ctx - the operation's context
   * @see Proxmox `PVE::Storage::activate_storage`
   */
  activate(entry: StorageEntry, ctx: PluginContext): Promise<void> {
    return ctx.cache.get('stowage:activated', async () => {
      // what activation shares between operations outlives writes: a write deactivates nothing
      await entry.plugin.activateStorage({ ...ctx, cache: new LastingCache(entry.ttl) });
      await this.collectIfDue(entry, ctx);
    });
  }

  /**
   * Runs the plugin's `collectGarbage` if this manager has not done so for the storage within
   * `gcIntervalMs`. A plugin without it (`NOT_SUPPORTED`) is skipped; other failures are logged,
   * never thrown, since the operation that triggered the collection is not at fault.
   *
   * @param entry - the storage
   * @param ctx - the operation's context
   */
  async collectIfDue(entry: StorageEntry, ctx: PluginContext): Promise<void> {
    const now = Date.now();
    if (entry.gcAt !== 0 && now - entry.gcAt < this.gcIntervalMs) return;
    entry.gcAt = now;
    try {
      const report = await entry.plugin.collectGarbage(ctx, {});
      if (report.removed.length > 0) {
        this.log.info(`removed ${report.removed.length} stale temporaries of storage '${entry.id}'`, { removed: report.removed.map((r) => r.name) });
      }
    } catch (e) {
      if (!isStorageError(e, 'NOT_SUPPORTED')) this.log.warn(`could not collect stale temporaries of storage '${entry.id}'`, { error: String(e) });
    }
  }

  /**
   * Formats a volume id of a storage.
   *
   * @param entry - the storage
   * @param volname - the volume name
   */
  volid(entry: StorageEntry, volname: string): string {
    return formatVolumeId(entry.id, volname);
  }
}

function noop(): void {
  // outside a locked section there is no lock to give back
}

/**
 * Lets a storage's plugin parse a volname; anything but a {@link StorageError} it throws
 * becomes `INVALID_VOLUME_ID`.
 *
 * @param entry - the storage
 * @param volname - the name to parse
 * @throws {@link StorageError} `INVALID_VOLUME_ID`
 */
export function parseWith(entry: StorageEntry, volname: string): ParsedVolume {
  try {
    return entry.plugin.parseVolname(volname);
  } catch (e) {
    if (isStorageError(e)) throw e;
    throw new StorageError('INVALID_VOLUME_ID', `unable to parse volume name '${volname}' for storage '${entry.id}'`, {
      cause: e,
      details: { storeId: entry.id, volname },
    });
  }
}
