/**
 * `pruneImages`: frees the templates (hidden ones included) that no volume uses, as uvtool's
 * `sync` does with its cloud images: a template is used when a volume that is not a template,
 * or a volume the caller names as used by its guests, reaches it through dependency links
 * (backing chains, origins, clone properties).
 *
 * @module
 */
import { StorageError } from '../errors.js';
import type { ImageInfo, PluginContext } from '../plugin-types.js';
import { imageGraph, reachedFrom, type ImageGraph } from './dependencies.js';
import { isProtected } from './hidden.js';
import { assertInUse, usedByCaller, type InUse } from './in-use.js';
import type { ManagerState, StorageEntry } from './state.js';

/**
 * Options of {@link StorageManager.pruneImages}.
 *
 * @example
 * ```ts
 * const options: PruneOptions = { olderThan: 30 * 86_400_000, keep: 2, inUse: ['local:100/base-100-disk-0.qcow2'], dryRun: true };
 * ```
 */
export interface PruneOptions {
  /** Free only templates created at least this many milliseconds ago; a template whose creation time is unknown is kept. */
  readonly olderThan?: number | undefined;
  /** Keep this many of the unused templates, the newest ones (unknown creation time counts as oldest). @default 0 */
  readonly keep?: number | undefined;
  /**
   * The volumes the caller's guests use (volids; those of other storages are ignored), or a
   * function asked about each template of the storage. What they reach through dependency links
   * is kept too. Volumes that are not templates always count as used.
   */
  readonly inUse?: InUse | undefined;
  /** Report what would be freed, free nothing, take no lock. @default false */
  readonly dryRun?: boolean | undefined;
  /** Stops between frees (`ABORTED`, `details.freed` lists what was freed). */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Why `pruneImages` kept a template: `in-use` (reached from a used volume, `usedBy`), `protected`,
 * `newer` (younger than `olderThan`, or of unknown age), `keep` (one of the `keep` newest),
 * `changed` (it appeared while prune ran, so `inUse` was not asked about it), `failed` (its free
 * failed, `error`).
 */
export type PruneKeepReason = 'in-use' | 'protected' | 'newer' | 'keep' | 'changed' | 'failed';

/** A template `pruneImages` kept. */
export interface PruneKept {
  /** The template. */
  readonly volid: string;
  /** Why. */
  readonly reason: PruneKeepReason;
  /** For `in-use`: the used volume that reaches it (itself when the caller named it). */
  readonly usedBy?: string | undefined;
  /** For `failed`: the error's code. */
  readonly error?: string | undefined;
}

/** What {@link StorageManager.pruneImages} did (or, with `dryRun`, would do). */
export interface PruneReport {
  /** The storage. */
  readonly storeId: string;
  /** `true` when nothing was freed on purpose. */
  readonly dryRun: boolean;
  /** The templates freed (with `dryRun`: that would be), children before the templates they depend on. */
  readonly freed: readonly string[];
  /** The templates kept, with the reason, sorted by volid. */
  readonly kept: readonly PruneKept[];
}

interface Plan {
  readonly free: ImageInfo[];
  readonly kept: PruneKept[];
}

function assertPruneOptions(options: PruneOptions): void {
  const bad = (what: string, value: unknown): never => {
    throw new StorageError('INVALID_ARGUMENT', `pruneImages: ${what} must be a whole number >= 0`, { details: { [what]: value } });
  };
  if (options.olderThan !== undefined && !(Number.isSafeInteger(options.olderThan) && options.olderThan >= 0)) bad('olderThan', options.olderThan);
  if (options.keep !== undefined && !(Number.isSafeInteger(options.keep) && options.keep >= 0)) bad('keep', options.keep);
  assertInUse(options.inUse, 'pruneImages');
}

/** The templates the caller says are used, asked on one listing. */
async function callerRoots(images: readonly ImageInfo[], inUse: PruneOptions['inUse']): Promise<Set<string>> {
  if (inUse === undefined) return new Set();
  if (typeof inUse !== 'function') return new Set(inUse);
  const roots = new Set<string>();
  for (const i of images) if (i.isBase && (await usedByCaller(inUse, i))) roots.add(i.volid);
  return roots;
}

/** Children before the templates they depend on. */
function depth(graph: ImageGraph, image: ImageInfo): number {
  let n = 0;
  for (let at = graph.dependsOn(image); at !== undefined && n < graph.byVolid.size; n++) {
    const next = graph.byVolid.get(at);
    at = next ? graph.dependsOn(next) : undefined;
  }
  return n;
}

/**
 * Decides on one listing which templates go: unused ones, minus the `keep` newest, minus those
 * younger than `olderThan`.
 */
function plan(images: readonly ImageInfo[], graph: ImageGraph, roots: ReadonlySet<string>, options: PruneOptions, now: number): Plan {
  const used = reachedFrom(graph, [...images.filter((i) => !i.isBase).map((i) => i.volid), ...roots]);
  const kept: PruneKept[] = [];
  const unused: ImageInfo[] = [];
  for (const t of images.filter((i) => i.isBase)) {
    const by = used.get(t.volid);
    if (by !== undefined) kept.push({ volid: t.volid, reason: 'in-use', usedBy: by });
    else unused.push(t);
  }
  const newestFirst = [...unused].sort((a, b) => (b.ctime ?? -Infinity) - (a.ctime ?? -Infinity));
  const keep = new Set(newestFirst.slice(0, options.keep ?? 0).map((t) => t.volid));
  const free: ImageInfo[] = [];
  for (const t of unused) {
    if (keep.has(t.volid)) kept.push({ volid: t.volid, reason: 'keep' });
    else if (options.olderThan !== undefined && (t.ctime === undefined || now - t.ctime * 1000 < options.olderThan)) kept.push({ volid: t.volid, reason: 'newer' });
    else free.push(t);
  }
  free.sort((a, b) => depth(graph, b) - depth(graph, a) || (a.volid < b.volid ? -1 : 1));
  return { free, kept };
}

function report(entry: StorageEntry, dryRun: boolean, freed: readonly string[], kept: readonly PruneKept[]): PruneReport {
  return { storeId: entry.id, dryRun, freed, kept: [...kept].sort((a, b) => (a.volid < b.volid ? -1 : 1)) };
}

async function protectedOnes(entry: StorageEntry, ctx: PluginContext, free: readonly ImageInfo[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const t of free) if (await isProtected({ entry, volume: entry.plugin.parseVolname(t.volname) }, ctx)) out.add(t.volid);
  return out;
}

/**
 * Frees the unused templates of a storage (see {@link StorageManager.pruneImages}). The caller's
 * `inUse` is asked on a first listing, outside the lock; the frees run under the storage lock on
 * a fresh listing, where every volume that is not a template counts as used again, so a clone
 * made meanwhile keeps its template, and a template that appeared meanwhile is kept (`changed`).
 *
 * @param state - the manager's state
 * @param entry - the storage
 * @param options - age, keep, use, dry run, signal
 * @returns what was freed and what was kept, with reasons
 */
export async function pruneImages(state: ManagerState, entry: StorageEntry, options: PruneOptions = {}): Promise<PruneReport> {
  assertPruneOptions(options);
  const parse = entry.plugin.parseVolname.bind(entry.plugin);
  const first = await state.read(entry, options.signal, async (ctx) => {
    await state.activate(entry, ctx);
    const images = await entry.plugin.listImages(ctx, {});
    const roots = await callerRoots(images, options.inUse);
    if (options.dryRun !== true) return { images, roots, report: undefined };
    const p = plan(images, imageGraph(images, parse), roots, options, Date.now());
    const locked = await protectedOnes(entry, ctx, p.free);
    const kept = [...p.kept, ...p.free.filter((t) => locked.has(t.volid)).map((t): PruneKept => ({ volid: t.volid, reason: 'protected' }))];
    return { images, roots, report: report(entry, true, p.free.filter((t) => !locked.has(t.volid)).map((t) => t.volid), kept) };
  });
  if (first.report) return first.report;
  const asked = new Set(first.images.filter((i) => i.isBase).map((i) => i.volid));
  return state.locked(
    entry,
    options.signal,
    async (ctx) => {
      const images = await entry.plugin.listImages(ctx, {});
      const p = plan(images, imageGraph(images, parse), first.roots, options, Date.now());
      const kept = [...p.kept];
      const freed: string[] = [];
      for (const t of p.free) {
        if (!asked.has(t.volid)) {
          kept.push({ volid: t.volid, reason: 'changed' });
          continue;
        }
        if (options.signal?.aborted) {
          throw new StorageError('ABORTED', `pruneImages of storage '${entry.id}' was aborted`, { cause: options.signal.reason, details: { storeId: entry.id, freed } });
        }
        const volume = parse(t.volname);
        if (await isProtected({ entry, volume }, ctx)) {
          kept.push({ volid: t.volid, reason: 'protected' });
          continue;
        }
        try {
          await entry.plugin.freeImage(ctx, { volume });
          freed.push(t.volid);
        } catch (e) {
          const code = e instanceof StorageError ? e.code : 'INTERNAL';
          state.log.warn(`pruneImages could not free '${t.volid}'`, { error: String(e) });
          kept.push({ volid: t.volid, reason: 'failed', error: code });
        }
      }
      return report(entry, false, freed, kept);
    },
    { operation: 'pruneImages' },
  );
}
