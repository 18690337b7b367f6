/**
 * Finding subvolumes on disk and asking `btrfs` about them; guests' directories.
 *
 * @module
 */
import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createDirs, errnoOf, fsError, removeCreatedDirs } from '@stowage/core/plugin';
import { StorageError, type ParsedVolume } from '@stowage/core';
import { subvolumeDeleteArgs, subvolumeShowArgs } from './commands.js';
import type { BtrfsContext } from './exec.js';
import { hiddenAmong, parseSubvolEntry, parseSwapName, parseUnfinishedName, subvolName, vmDir } from './names.js';
import { parseSubvolumeShow, type SubvolumeInfo } from './parse.js';

/**
 * Tells whether a path exists (any kind; a symbolic link is not followed).
 *
 * @param path - the path
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return false;
    throw fsError(e, `cannot stat '${path}'`, { path });
  }
}

/**
 * Makes a guest's directory and any missing parent, through `ctx.fs` (the core's `createDirs`);
 * returns the directories this call made, outermost first (none when it existed), to remove on
 * failure.
 *
 * @param ctx - the operation's context
 * @param vmid - the guest
 * @throws {@link StorageError} mapped from the filesystem error (nothing is left made then)
 */
export function ensureVmDir(ctx: BtrfsContext, vmid: number): Promise<string[]> {
  return createDirs(vmDir(ctx.config.path, vmid), { ops: ctx.fs });
}

/**
 * Removes directories made by {@link ensureVmDir}, innermost first, each only while empty.
 *
 * @param ctx - the operation's context
 * @param made - what {@link ensureVmDir} returned
 */
export function removeMadeDirs(ctx: BtrfsContext, made: readonly string[]): Promise<void> {
  return removeCreatedDirs(made, ctx.fs);
}

/** btrfs gives the root directory of every subvolume this inode number. */
const SUBVOLUME_ROOT_INODE = 256n;

/** One subvolume found in a guest's directory. */
export interface SubvolEntry {
  /** The disk name, e.g. `vm-100-disk-0`. */
  readonly name: string;
  /** The snapshot name, for `vm-100-disk-0@snap`. */
  readonly snapshot: string | undefined;
  /** Its path. */
  readonly path: string;
  /** Its `hidden` marker is among the directory's entries (volumes only). */
  readonly hidden: boolean;
}

/**
 * Tells whether a path is the root of a subvolume (a directory with btrfs's subvolume root
 * inode number), not following a symbolic link.
 *
 * @param path - the path
 */
export async function isSubvolume(path: string): Promise<boolean> {
  const st = await lstat(path, { bigint: true }).catch(() => undefined);
  return st !== undefined && st.isDirectory() && st.ino === SUBVOLUME_ROOT_INODE;
}

async function readEntries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw fsError(e, `cannot read '${dir}'`, { path: dir });
  }
}

/**
 * Lists the disk subvolumes and snapshots in `images/<vmid>/` (with their `hidden` markers, from
 * the same read); plain files, directories, symbolic links, and names that are not ours, are skipped.
 *
 * @param storagePath - the storage's path
 * @param vmid - the guest
 */
export async function readVmDir(storagePath: string, vmid: number): Promise<SubvolEntry[]> {
  const dir = vmDir(storagePath, vmid);
  const found: SubvolEntry[] = [];
  const entries = await readEntries(dir);
  const hidden = hiddenAmong(entries);
  for (const entry of entries) {
    const parsed = parseSubvolEntry(entry);
    if (!parsed) continue;
    const path = join(dir, entry);
    if (await isSubvolume(path)) found.push({ ...parsed, path, hidden: parsed.snapshot === undefined && hidden.has(parsed.name) });
  }
  return found;
}

/**
 * The disk names of a guest that are taken: by any entry named like a disk or a snapshot of one
 * (whatever its kind, even one the listing skips), by unfinished volumes, and by flattens in
 * progress (while one swaps the new content in, the name is briefly free).
 *
 * @param storagePath - the storage's path
 * @param vmid - the guest
 * @returns subvolume names, e.g. `vm-100-disk-0`
 */
export async function takenNames(storagePath: string, vmid: number): Promise<string[]> {
  const names = (await readEntries(vmDir(storagePath, vmid))).map((e) => parseSubvolEntry(e)?.name ?? parseUnfinishedName(e)?.name ?? parseSwapName(e)?.name);
  return names.filter((n): n is string => n !== undefined);
}

/**
 * Refuses a disk name that is taken (see {@link takenNames}).
 *
 * @param storagePath - the storage's path
 * @param vmid - the guest
 * @param name - the subvolume name, e.g. `vm-100-disk-0`
 * @throws {@link StorageError} `ALREADY_EXISTS`
 */
export async function assertNameFree(storagePath: string, vmid: number, name: string): Promise<void> {
  if ((await takenNames(storagePath, vmid)).includes(name)) {
    throw new StorageError('ALREADY_EXISTS', `volume '${vmid}/${name}.raw' already exists`, { details: { vmid, name } });
  }
}

/**
 * The guests that have a directory under `images/`.
 *
 * @param storagePath - the storage's path
 */
export async function listVmids(storagePath: string): Promise<number[]> {
  const dir = join(storagePath, 'images');
  try {
    return (await readdir(dir)).filter((d) => /^[1-9][0-9]{0,8}$/.test(d)).map(Number).sort((a, b) => a - b);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') return [];
    throw fsError(e, `cannot read '${dir}'`, { path: dir });
  }
}

/**
 * The snapshot subvolumes of a volume, in name order (no command run).
 *
 * @param storagePath - the storage's path
 * @param volume - the volume
 */
export async function snapshotEntries(storagePath: string, volume: ParsedVolume): Promise<SubvolEntry[]> {
  const name = subvolName(volume);
  return (await readVmDir(storagePath, volume.vmid ?? 0)).filter((e) => e.name === name && e.snapshot !== undefined);
}

/**
 * The snapshots of a volume with what btrfs knows of them, oldest first (by subvolume id:
 * a snapshot's root directory keeps its origin's birth time, so times cannot order them).
 *
 * @param ctx - the operation's context
 * @param volume - the volume
 */
export async function listSnapshots(ctx: BtrfsContext, volume: ParsedVolume): Promise<Array<SubvolEntry & { readonly info: SubvolumeInfo }>> {
  const entries = await snapshotEntries(ctx.config.path, volume);
  const withInfo = await Promise.all(entries.map(async (e) => ({ ...e, info: await subvolumeInfo(ctx, e.path) })));
  return withInfo.sort((a, b) => a.info.id - b.info.id);
}

/**
 * Asks `btrfs subvolume show` for a subvolume's UUIDs, once per operation.
 *
 * @param ctx - the operation's context
 * @param path - the subvolume
 */
export function subvolumeInfo(ctx: BtrfsContext, path: string): Promise<SubvolumeInfo> {
  return ctx.cache.get(`btrfs:show:${path}`, async () => parseSubvolumeShow((await ctx.run(subvolumeShowArgs(path))).stdout));
}

/**
 * Asks `btrfs subvolume show` for a subvolume's id now, bypassing the operation's cache: for
 * checking a subvolume's identity right before removing it.
 *
 * @param ctx - the operation's context
 * @param path - the subvolume
 */
export async function currentSubvolumeId(ctx: BtrfsContext, path: string): Promise<number> {
  return parseSubvolumeShow((await ctx.run(subvolumeShowArgs(path))).stdout).id;
}

/**
 * Deletes subvolumes with one `btrfs subvolume delete`, then the guest's directory if that left
 * it empty.
 *
 * @param ctx - the operation's context
 * @param paths - the subvolumes, snapshots before the volume they belong to
 * @param dir - the guest's directory
 */
export async function deleteSubvolumes(ctx: BtrfsContext, paths: readonly string[], dir: string): Promise<void> {
  if (paths.length > 0) await ctx.run(subvolumeDeleteArgs(paths));
  await ctx.fs.rmdir(dir).catch(() => undefined);
}
