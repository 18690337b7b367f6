/**
 * Choosing a new volume's name for a plugin whose creates refuse a taken name themselves
 * (`capabilities.exclusiveCreate`): the lowest free name of the listing the manager already has
 * (the storage's TTL cache, stale or not) and of the names it made since, with no listing under
 * the storage lock unless a create proves that listing wrong. Internal to the manager.
 *
 * @module
 */
import { OperationCache, type TtlCache } from '../cache.js';
import type { VolumeFormat } from '../capabilities.js';
import { StorageError, isStorageError } from '../errors.js';
import type { PluginContext } from '../plugin-types.js';
import { parseWith, type ManagerState, type StorageEntry } from './state.js';

/** How many names one call tries before it gives up with `ALREADY_EXISTS` (`details.tried`). */
export const NAME_ATTEMPTS = 8;

/**
 * An operation cache whose shared values come from the storage's TTL cache as last known
 * (stale or not), or are loaded anew; it notes the oldest generation of what it served.
 */
class ListingCache extends OperationCache {
  readonly #ttl: TtlCache;
  readonly #reload: boolean;
  #oldest: number | undefined;

  constructor(ttl: TtlCache, reload: boolean) {
    super(ttl);
    this.#ttl = ttl;
    this.#reload = reload;
  }

  /** The generation the oldest value served was loaded in; `undefined` when none was. */
  get oldest(): number | undefined {
    return this.#oldest;
  }

  override shared<T>(key: string, load: () => Promise<T>): Promise<T> {
    return this.get(key, async () => {
      const cached = this.#reload ? await this.#ttl.reload(key, load) : await this.#ttl.lastKnown(key, load);
      this.#oldest = Math.min(this.#oldest ?? cached.generation, cached.generation);
      return cached.value;
    });
  }
}

/** The guest, format and kind of name wanted. */
export interface NameRequest {
  /** The guest. */
  readonly vmid: number;
  /** The image format (the extension, on path storages). */
  readonly format: VolumeFormat | undefined;
  /** A `base-` name. */
  readonly base?: boolean | undefined;
}

/** A name chosen, and what it was chosen from. */
export interface NameChoice {
  /** The disk name. */
  readonly name: string;
  /** What this manager had made by then ({@link MadeNames.version}). */
  readonly version: number;
  /** The listing came from the storage's TTL cache (else it was read at once, past the caches). */
  readonly cached: boolean;
}

/**
 * Chooses the lowest free name from the listing the plugin's `findFreeDiskname` reads: as last
 * known to the storage's TTL cache (nothing is run when the cache ever held it), or loaded anew
 * with `reload`; the names this manager made since that listing, and `taken`, count as taken.
 * Which listing the plugin reads shows only once it has: when it turns out to show some of the
 * names made (so that a name freed since is free again), the plugin is asked again without them,
 * from the same listing when it comes from the caches. A plugin known to read past the caches
 * reads a fresh listing, which shows every name made: it is not given them.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param request - guest, format, base
 * @param options - names found taken, reload the listing, the operation's signal
 */
export async function chooseName(
  state: ManagerState,
  entry: StorageEntry,
  request: NameRequest,
  options: { taken?: readonly string[]; reload?: boolean; signal: AbortSignal | undefined },
): Promise<NameChoice> {
  const started = entry.ttl.generation;
  const version = entry.made.version;
  const cache = new ListingCache(entry.ttl, options.reload === true);
  const ctx = state.context(entry, { signal: options.signal, sharedCache: true, cache });
  const find = (made: readonly string[]): Promise<string> =>
    entry.plugin.findFreeDiskname(ctx, { vmid: request.vmid, format: request.format, base: request.base, taken: [...made, ...(options.taken ?? [])] });
  const made = entry.freeNamesCached === false ? [] : entry.made.of(request.vmid);
  let name = await find(made);
  // a listing the plugin read past the caches was loaded now: it shows what was made before
  const cached = cache.oldest !== undefined;
  const listed = cache.oldest ?? started;
  entry.freeNamesCached = cached;
  const unseen = entry.made.of(request.vmid, listed);
  if (unseen.length < made.length) name = await find(unseen);
  entry.made.shownBy(request.vmid, listed);
  return { name, version, cached };
}

/**
 * Chooses a name before the storage lock is taken (see {@link chooseName}), unless the plugin is
 * known to read its listing past the caches: such a listing is as cheap under the lock, and
 * read there it shows what other processes made meanwhile.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param request - guest, format, base
 * @param signal - the operation's signal
 * @returns the choice, or `undefined` when the name is to be chosen under the lock
 */
export async function chooseBeforeLock(state: ManagerState, entry: StorageEntry, request: NameRequest, signal: AbortSignal | undefined): Promise<NameChoice | undefined> {
  return entry.freeNamesCached === false ? undefined : chooseName(state, entry, request, { signal });
}

/**
 * The name to create, under the lock: the one chosen before it from a cached listing, unless
 * this manager made a name since (a concurrent call may have taken it); else one chosen now.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param request - guest, format, base
 * @param choice - the name chosen before the lock, if any
 * @param ctx - the locked section's context (for its signal)
 */
export async function confirmName(state: ManagerState, entry: StorageEntry, request: NameRequest, choice: NameChoice | undefined, ctx: PluginContext): Promise<NameChoice> {
  return choice?.cached === true && choice.version === entry.made.version ? choice : chooseName(state, entry, request, { signal: ctx.signal });
}

/**
 * Remembers a volume this manager made, until a listing shows it.
 *
 * @param entry - the storage
 * @param vmid - its guest
 * @param volname - its volname
 */
export function rememberMade(entry: StorageEntry, vmid: number, volname: string): void {
  entry.made.add(vmid, parseWith(entry, volname).name, entry.ttl.generation);
}

/** Creates a volume under a name the manager chose; returns its volname. */
export type CreateUnder = (ctx: PluginContext, name: string) => Promise<string>;

/** Options of {@link createWithFreeName}. */
export interface FreeNameCreateOptions extends NameRequest {
  /** The caller's abort signal. */
  readonly signal?: AbortSignal | undefined;
  /** The operation, for the lock's holder. */
  readonly operation: string;
}

/**
 * Creates a volume under the lowest free name (see {@link chooseName}), for a plugin whose
 * creates refuse a taken name: the name is chosen from a cached listing before the storage lock
 * is taken (see {@link chooseBeforeLock}), and under the lock the plugin creates at once. A create refused with `ALREADY_EXISTS` shows the
 * listing missed something: the listing is read anew (under the lock, once) and the next free
 * name is tried, up to {@link NAME_ATTEMPTS} names in all. When the plugin gave the lock back
 * (`ctx.nameReserved()`) before refusing, the next try takes the lock again.
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param options - guest, format, base, signal, operation
 * @param create - the plugin's create
 * @returns the volname made
 * @throws {@link StorageError} `ALREADY_EXISTS` with `details.tried` after {@link NAME_ATTEMPTS}
 *   refused names (or when the plugin's free-name search offers a name it was told is taken);
 *   whatever the create or the lock throws
 */
export async function createWithFreeName(state: ManagerState, entry: StorageEntry, options: FreeNameCreateOptions, create: CreateUnder): Promise<string> {
  const tried: string[] = [];
  let choice = await chooseBeforeLock(state, entry, options, options.signal);
  let refused = false;
  for (;;) {
    const volname = await state.locked(
      entry,
      options.signal,
      async (locked): Promise<string | undefined> => {
        let released = false;
        const ctx: PluginContext = {
          ...locked,
          nameReserved: () => {
            released = true;
            locked.nameReserved();
          },
        };
        for (;;) {
          choice = refused
            ? await chooseName(state, entry, options, { taken: tried, reload: tried.length === 1, signal: ctx.signal })
            : await confirmName(state, entry, options, choice, ctx);
          refused = false;
          if (tried.includes(choice.name)) throw gaveUp(entry, options.vmid, tried);
          try {
            const made = await create(ctx, choice.name);
            rememberMade(entry, options.vmid, made);
            return made;
          } catch (e) {
            if (!isStorageError(e, 'ALREADY_EXISTS')) throw e;
          }
          tried.push(choice.name);
          refused = true;
          if (tried.length >= NAME_ATTEMPTS) throw gaveUp(entry, options.vmid, tried);
          if (released) return undefined;
        }
      },
      { operation: options.operation },
    );
    if (volname !== undefined) return volname;
  }
}

function gaveUp(entry: StorageEntry, vmid: number, tried: readonly string[]): StorageError {
  return new StorageError('ALREADY_EXISTS', `no free disk name for guest ${vmid} on storage '${entry.id}': tried ${tried.join(', ')}, each taken`, {
    details: { storeId: entry.id, vmid, tried: [...tried] },
  });
}
