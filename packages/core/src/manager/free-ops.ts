/**
 * Freeing an image (Proxmox's `vdisk_free`), and lazy free: a template that linked clones still
 * use is hidden instead, and goes with its last clone.
 *
 * @module
 */
import { StorageError } from '../errors.js';
import { findLinkedClones } from './clones.js';
import { imageGraph } from './dependencies.js';
import { freeUnusedHidden, isProtected, keepsHidden } from './hidden.js';
import type { ManagerState, ResolvedVolume } from './state.js';

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
  /** Aborts the call (while it waits for the lock). */
  readonly signal?: AbortSignal | undefined;
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

/**
 * Frees an image under the storage lock, after checking it is not a base with linked clones
 * (hidden instead with `whenUnused`) and not protected; then frees the hidden template it
 * depended on when it was that template's last clone.
 *
 * @param state - the manager's state
 * @param r - the volume
 * @param options - `whenUnused`, signal
 * @returns what was done
 * @see Proxmox `PVE::Storage::vdisk_free`, `volume_is_base_and_used`
 */
export async function freeImage(state: ManagerState, r: ResolvedVolume, options: FreeImageOptions = {}): Promise<FreeImageResult> {
  const { entry, volume, volid } = r;
  const parse = (v: string): ReturnType<typeof entry.plugin.parseVolname> => entry.plugin.parseVolname(v);
  await state.read(entry, options.signal, (ctx) => state.activate(entry, ctx));
  return state.locked(
    entry,
    options.signal,
    async (ctx) => {
      const linked = volume.isBase && entry.cls.capabilities.independentClones !== true;
      const images = linked || keepsHidden(entry) ? await entry.plugin.listImages(ctx, {}) : [];
      const clones = linked ? findLinkedClones(images, r, parse) : [];
      if (clones.length > 0 && options.whenUnused !== true) throw clonesInUse(volid, clones);
      if (await isProtected(r, ctx)) throw new StorageError('PROTECTED', `volume '${volid}' is protected`, { details: { volid } });
      if (clones.length > 0) {
        if (!keepsHidden(entry)) {
          throw new StorageError('NOT_SUPPORTED', `storage '${entry.id}' (type ${entry.cls.type}) keeps no 'hidden' attribute, so '${volid}' cannot wait for its clones: free or flatten them first`, {
            details: { volid, clones, attribute: 'hidden' },
          });
        }
        await entry.plugin.updateVolumeAttribute(ctx, { volume, attribute: 'hidden', value: true });
        return { volid, outcome: 'hidden', alsoFreed: [] };
      }
      const me = images.find((i) => i.volname === volume.volname);
      const base = me ? imageGraph(images, parse).dependsOn(me) : undefined;
      await entry.plugin.freeImage(ctx, { volume });
      return { volid, outcome: 'freed', alsoFreed: await freeUnusedHidden(entry, ctx, base) };
    },
    { operation: 'freeImage' },
  );
}
