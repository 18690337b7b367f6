/**
 * The rows of `stowage list`: every volume with all the library knows of it, from `listVolumes`
 * (which volumes there are, their content types, and each image's lineage and usage); a plugin
 * whose listing leaves the image facts out has them filled in from `listImages`. Every row has
 * every field, `null` where a fact does not apply or is not known, so that a script can test
 * `parent === null` or `isBase` without guessing.
 *
 * @module
 */
import type { BackupSubtype, ContentType, ImageInfo, VolumeListEntry } from '@stowage/core';

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
  /** The backing file as the image header stores it, when the image has one. */
  readonly backingFile: string | null;
  /** Creation or modification time, seconds since the epoch, when known. */
  readonly ctime: number | null;
  /** For a backup: the kind of guest it is of. */
  readonly subtype: BackupSubtype | null;
  /** `true` for a hidden template (freed with `whenUnused`); absent otherwise. */
  readonly hidden?: true;
}

/** Whether a listed volume is a disk image whose listing left out what `listImages` knows of it. */
export const lacksImageFacts = (v: VolumeListEntry): boolean => (v.content === 'images' || v.content === 'rootdir') && v.image === undefined;

/**
 * Sorts rows by volid in plain character order: the volids sorted by the engine's own string
 * order and the rows looked up by them (no comparator call per comparison); a stable
 * comparator sort when volids repeat.
 */
function byVolid(rows: ListRow[]): ListRow[] {
  const byId = new Map<string, ListRow>();
  for (const r of rows) byId.set(r.volid, r);
  if (byId.size !== rows.length) return rows.sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
  return [...byId.keys()].sort().map((volid) => byId.get(volid) as ListRow);
}

/**
 * The rows for listed volumes, each image with its facts (from the listing, else from its
 * `listImages` info), sorted by volid in plain character order (as Perl's `cmp` in `pvesm
 * list`: the same in every locale, and cheap).
 *
 * @param volumes - from `listVolumes`
 * @param images - from `listImages`, for images listed without their facts (none needed otherwise)
 */
export function listRows(volumes: readonly VolumeListEntry[], images: readonly ImageInfo[]): ListRow[] {
  const infos = new Map(images.map((i) => [i.volid, i]));
  const rows = volumes.map((v): ListRow => {
    const i = v.image ?? infos.get(v.volid);
    const row: { -readonly [K in keyof ListRow]: ListRow[K] } = {
      volid: v.volid,
      volname: v.volid.slice(v.volid.indexOf(':') + 1),
      content: v.content,
      format: v.format,
      size: v.size,
      used: i?.used ?? null,
      vmid: v.vmid ?? null,
      isBase: i?.isBase ?? false,
      parent: i?.parent ?? null,
      backingFile: i?.backingFile ?? null,
      ctime: v.ctime ?? null,
      subtype: v.subtype ?? null,
    };
    // last, and only when set (no spread of a fresh object per row)
    if (i?.hidden === true) row.hidden = true;
    return row;
  });
  return byVolid(rows);
}
