/**
 * Volume names and where they live. Pure.
 *
 * A volume `<vmid>/vm-<vmid>-disk-<n>.raw` is the file `disk.raw` inside the subvolume
 * `<path>/images/<vmid>/vm-<vmid>-disk-<n>`; its snapshot `s` is the read-only subvolume
 * `<path>/images/<vmid>/vm-<vmid>-disk-<n>@s`. Templates are `base-` instead of `vm-`.
 *
 * @module
 */
import { basename, dirname, join } from 'node:path';
import { assertSafeVolname, parseDiskName } from '@stowage/core/plugin';
import { StorageError, type ParsedVolume } from '@stowage/core';

const VOLNAME_RE = /^([1-9][0-9]{0,8})\/((?:vm|base)-[1-9][0-9]{0,8}-disk-(?:0|[1-9][0-9]{0,3}))\.raw$/;

/**
 * Parses a volume name of a `btrfs` storage.
 *
 * @param volname - e.g. `100/vm-100-disk-0.raw`
 * @throws {@link StorageError} `INVALID_VOLUME_ID` for anything else, or when the directory's vmid
 *   is not the disk name's
 * @see Proxmox `parse_volname` (BTRFSPlugin)
 */
export function parseBtrfsVolname(volname: string): ParsedVolume {
  assertSafeVolname(volname);
  const m = VOLNAME_RE.exec(volname);
  const disk = m ? parseDiskName(m[2] ?? '') : undefined;
  if (!m || !disk || disk.vmid !== Number(m[1])) {
    throw new StorageError('INVALID_VOLUME_ID', `'${volname}' is not a btrfs volume name (<vmid>/vm-<vmid>-disk-<n>.raw)`, { details: { volname } });
  }
  return {
    volname,
    vtype: 'images',
    name: `${m[2]}.raw`,
    vmid: disk.vmid,
    baseName: undefined,
    baseVmid: undefined,
    isBase: disk.isBase,
    format: 'raw',
  };
}

/** The directory of a guest's subvolumes. */
export function vmDir(storagePath: string, vmid: number): string {
  return join(storagePath, 'images', String(vmid));
}

/** The subvolume name of a volume: its disk name without `.raw`. */
export function subvolName(volume: ParsedVolume): string {
  return volume.name.replace(/\.raw$/, '');
}

/**
 * The subvolume of a volume, or of one of its snapshots.
 *
 * @param storagePath - the storage's path
 * @param volume - the parsed volume
 * @param snapshot - a snapshot name
 */
export function subvolPath(storagePath: string, volume: ParsedVolume, snapshot?: string): string {
  const name = subvolName(volume);
  return join(vmDir(storagePath, volume.vmid ?? 0), snapshot === undefined ? name : `${name}@${snapshot}`);
}

/** The raw image file inside a subvolume. */
export function diskFile(subvol: string): string {
  return join(subvol, 'disk.raw');
}

/**
 * Splits a directory entry of `images/<vmid>/` into a disk subvolume and a snapshot name.
 *
 * @param entry - e.g. `vm-100-disk-0` or `vm-100-disk-0@before`
 * @returns the subvolume name and the snapshot, or `undefined` for entries that are neither
 */
export function parseSubvolEntry(entry: string): { readonly name: string; readonly snapshot: string | undefined } | undefined {
  const at = entry.indexOf('@');
  const name = at < 0 ? entry : entry.slice(0, at);
  const snapshot = at < 0 ? undefined : entry.slice(at + 1);
  if (!parseDiskName(name) || snapshot === '') return undefined;
  return { name, snapshot };
}

/** Marks the hidden name of an unfinished volume's subvolume: `.<name>.tmp-<owner token>`. */
const UNFINISHED_RE = /^\.((?:vm|base)-[1-9][0-9]{0,8}-disk-(?:0|[1-9][0-9]{0,3}))\.tmp-([A-Za-z0-9._:-]+)$/;

/**
 * The hidden name a volume is made under until it is whole: it starts with a dot, so no listing
 * shows it, and it carries the owner token of the process making it.
 *
 * @param name - the subvolume name the volume will have, e.g. `vm-100-disk-0`
 * @param owner - the owner token (see `formatOwner`)
 * @returns e.g. `.vm-100-disk-0.tmp-pve1:3f9a1c07:4711:123456`
 */
export function unfinishedName(name: string, owner: string): string {
  return `.${name}.tmp-${owner}`;
}

/**
 * Reads a directory entry written by {@link unfinishedName}.
 *
 * @param entry - a directory entry of `images/<vmid>/`
 * @returns the subvolume name it will have and its owner token, or `undefined` for other entries
 */
export function parseUnfinishedName(entry: string): { readonly name: string; readonly owner: string } | undefined {
  const m = UNFINISHED_RE.exec(entry);
  return m ? { name: m[1] ?? '', owner: m[2] ?? '' } : undefined;
}

/** What a hidden entry of a flatten is (see ops-flatten.ts). */
export type SwapKind = 'flat' | 'old' | 'olds' | 'drop';

const DISK = '(?:vm|base)-[1-9][0-9]{0,8}-disk-(?:0|[1-9][0-9]{0,3})';
const SWAP_RE = new RegExp(`^\\.(${DISK})(?:@([^/]+))?\\.(flat|old|olds|drop)-([A-Za-z0-9._:-]+)$`);

/**
 * The hidden name of an entry of a flatten in progress: `.<name>.flat-<owner>` (the new
 * content), `.<name>.old-<owner>` or `.<name>.olds-<owner>` (the volume it replaced; `olds`: its
 * snapshots go too), `.<name>@<snapshot>.drop-<owner>` (a snapshot on its way out).
 *
 * @param name - the volume's subvolume name, e.g. `vm-100-disk-0`
 * @param kind - what the entry is
 * @param owner - the owner token (see `formatOwner`)
 * @param snapshot - for `drop`, the snapshot
 */
export function swapName(name: string, kind: SwapKind, owner: string, snapshot?: string): string {
  return `.${name}${snapshot === undefined ? '' : `@${snapshot}`}.${kind}-${owner}`;
}

/**
 * Reads a name written by {@link swapName}.
 *
 * @param entry - a directory entry of `images/<vmid>/`
 * @returns its parts, or `undefined` for other entries
 */
export function parseSwapName(entry: string): { readonly name: string; readonly snapshot: string | undefined; readonly kind: SwapKind; readonly owner: string } | undefined {
  const m = SWAP_RE.exec(entry);
  return m ? { name: m[1] ?? '', snapshot: m[2], kind: m[3] as SwapKind, owner: m[4] ?? '' } : undefined;
}

/**
 * The marker file of the `hidden` attribute, next to the volume's subvolume: `.<name>.hidden`
 * (a subvolume of a template is read-only, so the marker cannot live inside it).
 *
 * @param subvol - the volume's subvolume
 */
export function hiddenMarker(subvol: string): string {
  return join(dirname(subvol), `.${basename(subvol)}.hidden`);
}

/** The subvolume names whose `hidden` marker is among a directory's entries. */
export function hiddenAmong(entries: Iterable<string>): Set<string> {
  const out = new Set<string>();
  for (const e of entries) if (e.startsWith('.') && e.endsWith('.hidden')) out.add(e.slice(1, -'.hidden'.length));
  return out;
}

/**
 * The path of a temporary subvolume a rollback uses (never listed: its name starts with a dot).
 *
 * @param subvol - the volume's subvolume
 * @param tag - what it is for
 */
export function scratchPath(subvol: string, tag: string): string {
  return join(dirname(subvol), `.${basename(subvol)}.${tag}-${process.pid}`);
}
