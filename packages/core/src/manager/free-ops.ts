/**
 * Freeing an image (Proxmox's `vdisk_free`), and lazy free: a template that linked clones still
 * use is hidden instead, and goes with its last clone.
 *
 * @module
 */
import { StorageError } from '../errors.js';
import { findLinkedClones } from './clones.js';
import { dependencyOf } from './dependencies.js';
import { freeUnusedHidden, isProtected, keepsHidden } from './hidden.js';
import { assertInUse, usedByCaller, type InUse } from './in-use.js';
import type { ImageInfo, PluginContext } from '../plugin-types.js';
import type { ManagerState, ResolvedVolume, StorageEntry } from './state.js';

/** Options of {@link StorageManager.freeImage}. */
export interface FreeImageOptions {
  /**
   * Free a template only when no linked clone uses it; while clones do, hide it instead (the
   * `hidden` attribute, kept on the storage): it is no longer listed nor cloned, still serves its
   * clones, and is freed when its last clone is freed or flattened. Needs a plugin that keeps
   * `hidden` (`capabilities.attributes`) when the template has clones. Other volumes are freed
   * as without it.
   * @default false
   */
  readonly whenUnused?: boolean | undefined;
  /**
   * The volumes the caller's guests use (stowage does not know the guests), as
   * `pruneImages` takes them. Freeing one of them is refused with `IN_USE`
   * (`details.usedBy: 'inUse'`), except a template with `whenUnused`: it is hidden, and
   * `pruneImages` frees it once no guest uses it and no clone is left. The hidden template that
   * the freed volume was the last clone of is kept when it is one of them.
   */
  readonly inUse?: InUse | undefined;
  /** Aborts the call (while it waits for the lock). */
  readonly signal?: AbortSignal | undefined;
}

function guestsUse(volid: string): StorageError {
  return new StorageError('IN_USE', `volume '${volid}' is used by your guests (inUse): not freed`, { details: { volid, usedBy: 'inUse' } });
}

/** What {@link StorageManager.freeImage} did. */
export interface FreeImageResult {
  /** The volume. */
  readonly volid: string;
  /** `freed`, or `hidden` (a template with clones, freed with `whenUnused`). */
  readonly outcome: 'freed' | 'hidden';
  /** Hidden templates freed with it, because it was the last clone that used them, nearest first. */
  readonly alsoFreed: readonly string[];
}

function clonesInUse(volid: string, clones: readonly string[]): StorageError {
  const named = clones.length > 3 ? `${clones.slice(0, 3).join(', ')} and ${clones.length - 3} more` : clones.join(', ');
  const count = clones.length === 1 ? 'a linked clone' : `${clones.length} linked clones`;
  return new StorageError('IN_USE', `base volume '${volid}' is still in use by ${count} (${named}): free the clones first, flatten them, or free it with whenUnused`, {
    details: { volid, clones },
  });
}

/** Whether the caller's `inUse` names the volume; a function is asked about the volume as listed. */
async function usedByGuests(entry: StorageEntry, ctx: PluginContext, r: ResolvedVolume, inUse: InUse | undefined, images: readonly ImageInfo[] | undefined): Promise<boolean> {
  if (inUse === undefined) return false;
  if (typeof inUse !== 'function') return inUse.includes(r.volid);
  const listed = images ?? (await entry.plugin.listImages(ctx, { volnames: [r.volume.volname] }));
  const image = listed.find((i) => i.volid === r.volid);
  return image !== undefined && (await usedByCaller(inUse, image));
}

/**
 * Frees an image under the storage lock, after checking it is not a base with linked clones
 * nor a volume the caller's guests use (a template in either case is hidden instead with
 * `whenUnused`) and not protected; then frees the hidden template it depended on when it was
 * that template's last clone.
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - `whenUnused`, `inUse`, signal
 * @returns what was done
 * @see Proxmox `PVE::Storage::vdisk_free`, `volume_is_base_and_used`
 */
export async function freeImage(state: ManagerState, r: ResolvedVolume, options: FreeImageOptions = {}): Promise<FreeImageResult> {
  const { entry, volume, volid } = r;
  const parse = entry.plugin.parseVolname.bind(entry.plugin);
  assertInUse(options.inUse, 'freeImage');
  await state.read(entry, options.signal, (ctx) => state.activate(entry, ctx));
  return state.locked(
    entry,
    options.signal,
    async (ctx) => {
      const linked = volume.isBase && entry.cls.capabilities.independentClones !== true;
      const images = linked ? await entry.plugin.listImages(ctx, {}) : undefined;
      const clones = images ? findLinkedClones(images, r, parse) : [];
      const used = await usedByGuests(entry, ctx, r, options.inUse, images);
      const hide = volume.isBase && options.whenUnused === true;
      if (used && !hide) throw guestsUse(volid);
      if (clones.length > 0 && !hide) throw clonesInUse(volid, clones);
      if (await isProtected(r, ctx)) throw new StorageError('PROTECTED', `volume '${volid}' is protected`, { details: { volid } });
      if (clones.length > 0 || used) {
        if (!keepsHidden(entry)) {
          const next = clones.length > 0 ? 'its clones: free or flatten them first' : 'your guests: free it when they no longer use it';
          throw new StorageError('NOT_SUPPORTED', `storage '${entry.id}' (type ${entry.cls.type}) keeps no 'hidden' attribute, so '${volid}' cannot wait for ${next}`, {
            details: { volid, clones, attribute: 'hidden', ...(used ? { usedBy: 'inUse' } : {}) },
          });
        }
        await entry.plugin.updateVolumeAttribute(ctx, { volume, attribute: 'hidden', value: true });
        return { volid, outcome: 'hidden', alsoFreed: [] };
      }
      const base = keepsHidden(entry) ? (await dependencyOf(entry, ctx, volume)).base : undefined;
      await entry.plugin.freeImage(ctx, { volume });
      return { volid, outcome: 'freed', alsoFreed: await freeUnusedHidden(entry, ctx, base, options.inUse) };
    },
    { operation: 'freeImage' },
  );
}
