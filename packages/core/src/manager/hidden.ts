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
import { imageGraph } from './dependencies.js';
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
export async function assertNotHidden(r: ResolvedVolume, ctx: PluginContext): Promise<void> {
  if ((await attribute(r, ctx, 'hidden')) !== true) return;
  throw new StorageError(
    'INVALID_STATE',
    `template '${r.volid}' was freed with whenUnused and is hidden: it serves its clones until the last one goes, but is not cloned again`,
    { details: { volid: r.volid, hidden: true } },
  );
}

/**
 * Frees `baseVolid` if it is a hidden template that nothing uses any more (and is not
 * protected), then the hidden template it depends on, and so on. Called in the locked section
 * that freed or flattened a clone; a failure is logged, not thrown (the clone's operation
 * succeeded; `pruneImages` frees what is left).
 *
 * @param entry - the storage
 * @param ctx - the locked section's context
 * @param baseVolid - the volume the freed or flattened clone depended on
 * @returns the volids freed
 */
export async function freeUnusedHidden(entry: StorageEntry, ctx: PluginContext, baseVolid: string | undefined): Promise<string[]> {
  if (baseVolid === undefined || !keepsHidden(entry)) return [];
  const freed: string[] = [];
  const parse = (v: string): ReturnType<typeof entry.plugin.parseVolname> => entry.plugin.parseVolname(v);
  try {
    for (let at: string | undefined = baseVolid; at !== undefined; ) {
      ctx.cache.invalidate();
      const images = await entry.plugin.listImages(ctx, {});
      const base = images.find((i) => i.volid === at);
      if (base?.hidden !== true) break;
      const r = { volid: base.volid, entry, volume: parse(base.volname) };
      if (findLinkedClones(images, r, parse).length > 0 || (await isProtected(r, ctx))) break;
      await entry.plugin.freeImage(ctx, { volume: r.volume });
      freed.push(base.volid);
      at = imageGraph(images, parse).dependsOn(base);
    }
  } catch (e) {
    ctx.log.warn(`could not free the hidden template '${baseVolid}' after its last clone; pruneImages will`, { error: String(e) });
  }
  return freed;
}
