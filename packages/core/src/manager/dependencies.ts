/**
 * What depends on what on one storage, from one listing: the volume each image depends on (its
 * base, or the volume whose snapshot it was cloned from) and everything reached from a set of
 * volumes through those links. Behind lazy free, flatten and prune.
 *
 * @module
 */
import type { ImageInfo, ParsedVolume } from '../plugin-types.js';

/** One listing of a storage, indexed for dependency questions. */
export interface ImageGraph {
  /** The images by volid. */
  readonly byVolid: ReadonlyMap<string, ImageInfo>;
  /** The volid of the volume `image` depends on, or `undefined` for an image that depends on none. */
  dependsOn(image: ImageInfo): string | undefined;
}

/** The volid part of a `parent` (`volid` or `volid@snapshot`). */
export function parentVolid(parent: string): string {
  const at = parent.lastIndexOf('@');
  return at > parent.indexOf(':') ? parent.slice(0, at) : parent;
}

/**
 * Indexes a listing. An image depends on its listed `parent` (without the snapshot), or, for
 * storages whose volnames name the base (`base-100-disk-0/vm-101-disk-0`), on the base its
 * volname names, when that base is listed.
 *
 * @param images - every image of the storage, hidden ones included
 * @param parse - the storage plugin's `parseVolname`; names it rejects depend on nothing
 */
export function imageGraph(images: readonly ImageInfo[], parse: (volname: string) => ParsedVolume): ImageGraph {
  const byVolid = new Map(images.map((i) => [i.volid, i]));
  const bases = new Map<string, string>();
  const parsed = new Map<string, ParsedVolume | undefined>();
  const parseSafe = (i: ImageInfo): ParsedVolume | undefined => {
    if (!parsed.has(i.volid)) {
      let p: ParsedVolume | undefined;
      try {
        p = parse(i.volname);
      } catch {
        p = undefined;
      }
      parsed.set(i.volid, p);
    }
    return parsed.get(i.volid);
  };
  for (const i of images) {
    const p = i.isBase ? parseSafe(i) : undefined;
    if (p) bases.set(`${p.vmid}/${p.name}`, i.volid);
  }
  return {
    byVolid,
    dependsOn(image) {
      if (image.parent !== undefined) return parentVolid(image.parent);
      const p = parseSafe(image);
      if (p?.baseName === undefined || p.baseVmid === undefined) return undefined;
      const base = bases.get(`${p.baseVmid}/${p.baseName}`);
      return base === image.volid ? undefined : base;
    },
  };
}

/**
 * Everything reached from `roots` through dependency links (the roots included), each with the
 * root that first reached it.
 *
 * @param graph - the storage's listing
 * @param roots - volids the caller counts as used
 * @returns volid -> the root it is used by
 */
export function reachedFrom(graph: ImageGraph, roots: Iterable<string>): Map<string, string> {
  const reached = new Map<string, string>();
  for (const root of roots) {
    let at: string | undefined = root;
    while (at !== undefined && !reached.has(at)) {
      reached.set(at, root);
      const image = graph.byVolid.get(at);
      at = image ? graph.dependsOn(image) : undefined;
    }
  }
  return reached;
}
