/**
 * The rows of `stowage list`: every volume with all the library knows of it. Disk images come
 * from `listImages` (with their lineage and usage), other content from `listVolumes`; every row
 * has every field, `null` where a fact does not apply or is not known, so that a script can
 * test `parent === null` or `isBase` without guessing.
 *
 * @module
 */
import type { ContentType, ImageInfo, VolumeListEntry } from '@stowage/core';

/** One row of `stowage list --json` (the shape is in `docs/json/list.schema.json`). */
export interface ListRow {
  /** `storage:volname`. */
  readonly volid: string;
  /** The volume name (the part after `storage:`). */
  readonly volname: string;
  /** The content type. */
  readonly content: ContentType;
  /** The format (`raw`, `qcow2`, ..., `invalid` for an image that cannot be read) or file kind. */
  readonly format: string;
  /** Size in bytes (an image's virtual size). */
  readonly size: number;
  /** Bytes the volume takes on the storage, when known. */
  readonly used: number | null;
  /** The owning guest, when there is one. */
  readonly vmid: number | null;
  /** `true` for a template (base image). */
  readonly isBase: boolean;
  /** For a linked clone: the volid of its base (or `volid@snapshot`); `null` otherwise. */
  readonly parent: string | null;
  /** Creation or modification time, seconds since the epoch, when known. */
  readonly ctime: number | null;
}

const byVolid = (a: { volid: string }, b: { volid: string }): number => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0);

/**
 * Merges image infos and other volumes into rows, sorted by volid in plain character order (the
 * same in every locale, and cheap).
 *
 * @param images - from `listImages`
 * @param others - from `listVolumes`, for content types other than images
 */
export function listRows(images: readonly ImageInfo[], others: readonly VolumeListEntry[]): ListRow[] {
  const rows: ListRow[] = images.map((i) => ({
    volid: i.volid,
    volname: i.volname,
    content: 'images',
    format: i.format,
    size: i.size,
    used: i.used ?? null,
    vmid: i.vmid,
    isBase: i.isBase,
    parent: i.parent ?? null,
    ctime: i.ctime ?? null,
  }));
  for (const v of others) {
    rows.push({
      volid: v.volid,
      volname: v.volid.slice(v.volid.indexOf(':') + 1),
      content: v.content,
      format: v.format,
      size: v.size,
      used: null,
      vmid: v.vmid ?? null,
      isBase: false,
      parent: null,
      ctime: v.ctime ?? null,
    });
  }
  return rows.sort(byVolid);
}
