/**
 * Finding the linked clones of a base, the check behind refusing to free a base in use.
 *
 * @module
 */
import type { ImageInfo, ParsedVolume } from '../plugin-types.js';

/**
 * Returns the volids of the images that are linked clones of `base`: those whose volname names
 * it as their base (`baseName`/`baseVmid`, as Proxmox's `volume_is_base_and_used` checks) and
 * those whose listed `parent` is the base or one of its snapshots (storages whose volnames do not
 * encode the base).
 *
 * @param images - every image of the base's storage
 * @param base - the base volume's id and parsed name
 * @param parse - the storage plugin's `parseVolname`; names it rejects are skipped
 * @returns the clones' volids, sorted
 * @see Proxmox `PVE::Storage::volume_is_base_and_used`
 */
export function findLinkedClones(
  images: readonly ImageInfo[],
  base: { readonly volid: string; readonly volume: ParsedVolume },
  parse: (volname: string) => ParsedVolume,
): string[] {
  const clones = new Set<string>();
  for (const image of images) {
    if (image.volid === base.volid || image.volname === base.volume.volname) continue;
    if (image.parent !== undefined && (image.parent === base.volid || image.parent.startsWith(`${base.volid}@`))) {
      clones.add(image.volid);
      continue;
    }
    let parsed: ParsedVolume;
    try {
      parsed = parse(image.volname);
    } catch {
      continue;
    }
    if (parsed.baseName !== undefined && parsed.baseName === base.volume.name && parsed.baseVmid === base.volume.vmid) {
      clones.add(image.volid);
    }
  }
  return [...clones].sort();
}
