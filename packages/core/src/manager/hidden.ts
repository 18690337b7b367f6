/**
 * Hidden templates (lazy free): a template freed with `whenUnused` while linked clones still use
 * it is marked `hidden` on the storage, is not cloned again, and is freed in the locked section
 * that frees or flattens its last clone.
 *
 * @module
 */
import { StorageError, isStorageError } from '../errors.js';
import type { PluginContext } from '../plugin-types.js';
import { findLinkedClones } from './clones.js';
import { parseVolumeId } from '../volume-id.js';
import { imageGraph } from './dependencies.js';
import { usedByCaller, type InUse } from './in-use.js';
import type { ResolvedVolume, StorageEntry } from './state.js';

/**
 * Whether the storage keeps the `hidden` attribute (lazy free works on it).
 *
 * @param entry - the storage
 */
export function keepsHidden(entry: StorageEntry): boolean {
  return entry.cls.capabilities.attributes.includes('hidden');
}

/**
 * Whether a volume's `protected` attribute is set; `false` where the plugin keeps no such
 * attribute or the volume is gone.
 *
 * @param r - the volume
 * @param ctx - the operation's context
 */
export async function isProtected(r: Pick<ResolvedVolume, 'entry' | 'volume'>, ctx: PluginContext): Promise<boolean> {
  return (await attribute(r, ctx, 'protected')) === true;
}

async function attribute(r: Pick<ResolvedVolume, 'entry' | 'volume'>, ctx: PluginContext, name: 'protected' | 'hidden'): Promise<unknown> {
  if (!r.entry.cls.capabilities.attributes.includes(name)) return undefined;
  return r.entry.plugin.getVolumeAttribute(ctx, { volume: r.volume, attribute: name }).catch((e: unknown) => {
    if (isStorageError(e, 'NOT_SUPPORTED') || isStorageError(e, 'NOT_FOUND')) return undefined;
    throw e;
  });
}

/**
 * Refuses to clone a hidden template, with `INVALID_STATE`. Run in the locked section of the
 * clone, so that a template hidden meanwhile is not cloned.
 *
 * @param r - the template
 * @param ctx - the locked section's context
 * @throws {@link StorageError} `INVALID_STATE`
 */
async function assertNotHidden(r: ResolvedVolume, ctx: PluginContext): Promise<void> {
  if ((await attribute(r, ctx, 'hidden')) === true) throw hiddenTemplateError(r.volid);
}

/**
 * The error of a clone of a hidden template, `INVALID_STATE` with `details.hidden`: thrown by the
 * manager, and by a plugin that declares `capabilities.cloneRefusesHidden` when its clone is
 * refused because the template is hidden.
 *
 * @param volid - the template
 * @example
 * ```ts
 * throw hiddenTemplateError('local-zfs:base-100-disk-0');
 * ```
 */
export function hiddenTemplateError(volid: string): StorageError {
  return new StorageError(
    'INVALID_STATE',
    `template '${volid}' was freed with whenUnused and is hidden: it serves its clones until the last one goes, but is not cloned again`,
    { details: { volid, hidden: true } },
  );
}

/**
 * Clones a template unless it is hidden, reading its `hidden` attribute beside the clone rather
 * than before it: on a storage that keeps the attribute, the read (one `zfs list`, one `lvs`)
 * would otherwise add its whole time to every clone. Both run in the locked section of the
 * clone, and a template is hidden only under that lock, so the read sees what the clone saw. A
 * clone made of a template that turns out to be hidden is freed again before the
 * `INVALID_STATE` is thrown (a failure to free it is logged; the clone is then a whole volume).
 * A plugin whose clone of a template refuses a hidden one by itself
 * (`capabilities.cloneRefusesHidden`) is left to it: no read.
 *
 * @param r - the template
 * @param ctx - the locked section's context
 * @param snapshot - the snapshot cloned, if one is named
 * @param clone - the plugin's clone; returns the clone's volname
 * @returns the clone's volname
 * @throws {@link StorageError} `INVALID_STATE` (hidden), or what the clone throws
 */
export async function cloneUnlessHidden(r: ResolvedVolume, ctx: PluginContext, snapshot: string | undefined, clone: () => Promise<string>): Promise<string> {
  const refusedByClone = snapshot === undefined && r.entry.cls.capabilities.cloneRefusesHidden === true;
  if (!r.volume.isBase || !keepsHidden(r.entry) || refusedByClone) return clone();
  const [check, made] = await Promise.allSettled([assertNotHidden(r, ctx), clone()]);
  if (check.status === 'rejected') {
    if (made.status === 'fulfilled') {
      try {
        ctx.cache.invalidate(); // what was read before the clone does not know it
        await r.entry.plugin.freeImage(ctx, { volume: r.entry.plugin.parseVolname(made.value) });
      } catch (e) {
        ctx.log.warn(`could not free '${made.value}', cloned from the hidden template '${r.volid}'`, { error: String(e) });
      }
    }
    throw check.reason;
  }
  if (made.status === 'rejected') throw made.reason;
  return made.value;
}

/**
 * Frees `baseVolid` if it is a hidden template that nothing uses any more (no clone, not
 * protected, not named by the caller's `inUse`), then the hidden template it depends on, and so
 * on. Called in the locked section
 * that freed or flattened a clone; a failure is logged, not thrown (the clone's operation
 * succeeded; `pruneImages` frees what is left).
 *
 * @param entry - the storage
 * @param ctx - the locked section's context
 * @param baseVolid - the volume the freed or flattened clone depended on
 * @param inUse - the volumes the caller's guests use: a template among them is kept
 * @returns the volids freed
 */
export async function freeUnusedHidden(entry: StorageEntry, ctx: PluginContext, baseVolid: string | undefined, inUse?: InUse): Promise<string[]> {
  if (baseVolid === undefined || !keepsHidden(entry)) return [];
  const freed: string[] = [];
  const parse = entry.plugin.parseVolname.bind(entry.plugin);
  try {
    for (let at: string | undefined = baseVolid; at !== undefined; ) {
      const r = { volid: at, entry, volume: parse(parseVolumeId(at).volname) };
      // the attribute first: the common case (a base that is not hidden) costs no listing
      if ((await attribute(r, ctx, 'hidden')) !== true) break;
      ctx.cache.invalidate();
      const images = await entry.plugin.listImages(ctx, {});
      const base = images.find((i) => i.volid === at);
      if (base === undefined || findLinkedClones(images, r, parse).length > 0 || (await usedByCaller(inUse, base)) || (await isProtected(r, ctx))) break;
      await entry.plugin.freeImage(ctx, { volume: r.volume });
      freed.push(base.volid);
      at = imageGraph(images, parse).dependsOn(base);
    }
  } catch (e) {
    ctx.log.warn(`could not free the hidden template '${baseVolid}' after its last clone; pruneImages will`, { error: String(e) });
  }
  return freed;
}
