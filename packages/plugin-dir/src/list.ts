/**
 * `listImages` without one `qemu-img` per file: read the guest directories, stat each image and
 * read its header natively, with bounded concurrency.
 *
 * @module
 */
import type { Dirent } from 'node:fs';
import { join } from 'node:path';
import { formatVolumeId, isStorageError, type ImageInfo, type Logger, type VolumeFormat } from '@stowage/core';
import { errnoOf, fsError, type ListImagesRequest } from '@stowage/core/plugin';
import { mapLimit } from './fs-util.js';
import { confine, type DirLayout } from './paths.js';
import type { FsOps } from './fs-ops.js';
import { HEAD_BYTES, probeImageSync, type ImageProbe } from './formats/probe.js';
import { backingTarget, backingTargetByText, type BackingTarget } from './backing-link.js';
import { hiddenAmong } from './attributes.js';
import { formatImageVolname, parseDirVolname, parseImageFileName, type ImageFileName } from './names.js';

/** How many files are inspected at once. */
export const LIST_CONCURRENCY = 64;
/** How many guest directories are read at once. */
const DIR_CONCURRENCY = 16;
const VMID_DIR_RE = /^[1-9][0-9]{0,8}$/;

/** What the listing functions need to know about the storage. */
export interface ListScope {
  /** The storage id, for volids. */
  readonly storeId: string;
  /** The layout. */
  readonly layout: DirLayout;
  /** The storage root with symlinks resolved. */
  readonly rootReal: string;
  /** Where skipped entries are reported. */
  readonly log: Logger;
  /**
   * The filesystem calls: synchronous ones ({@link SYNC_BATCH} files at a time between
   * event-loop turns; several times cheaper on a local disk) or through the thread pool
   * ({@link LIST_CONCURRENCY} at a time; a hung network filesystem then cannot stall the event loop).
   */
  readonly fs: FsOps;
}

/**
 * One image file found in a guest directory: one record per image, its probe and link filled in
 * later (by {@link probeAll} and {@link linkAll}; no copy of it is made on the way).
 */
interface Found {
  readonly vmid: number;
  readonly name: string;
  readonly path: string;
  readonly format: VolumeFormat;
  readonly isBase: boolean;
  /** Its directory entry is a regular file (not a symlink, whose target's type is not known yet). */
  readonly regular: boolean;
  /** A `<name>.hidden` marker is next to it. */
  readonly hidden: boolean;
  /** `<vmid>/<name>`: the image's key among the listed ones. */
  readonly key: string;
  /** What its header says; set by {@link probeAll}. */
  probe: ImageProbe | undefined;
  /** The image of this storage the backing file leads to. */
  target: BackingTarget | undefined;
  /** That image's key (`<baseVmid>/<baseName>`). */
  linkKey: string | undefined;
  /** Its volname, once {@link volnameOf} has made it. */
  volname: string | undefined;
  /** Its chain of bases comes back on itself; set by {@link markLoopingChains}. */
  loops: boolean | undefined;
  /** Its volid, once made (a base's is its clones' parent). */
  volid: string | undefined;
}

/** A probed image: {@link Found} with its probe. */
interface Linked extends Found {
  probe: ImageProbe;
}

/** The record of an image file, not probed yet. */
function found(vmid: number, name: string, path: string, parsed: ImageFileName, regular: boolean, hidden: boolean): Found {
  return { vmid, name, path, format: parsed.format, isBase: parsed.isBase, regular, hidden, key: `${vmid}/${name}`, probe: undefined, target: undefined, linkKey: undefined, volname: undefined, loops: undefined, volid: undefined };
}

async function readDirEntries(scope: ListScope, dir: string): Promise<Dirent[]> {
  try {
    return await scope.fs.readdir(dir);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR') return [];
    throw fsError(e, `cannot read directory '${dir}'`, { path: dir });
  }
}

/** Tells whether a path (a symlink, possibly) stays inside the storage; one that does not is skipped and reported. */
async function staysInside(scope: ListScope, path: string): Promise<boolean> {
  try {
    await confine(scope.rootReal, path, undefined, scope.fs);
    return true;
  } catch (e) {
    if (!isStorageError(e, 'INVALID_VOLUME_ID')) throw e;
    scope.log.warn(`skipping '${path}': it leads outside the storage`, { path });
    return false;
  }
}

/**
 * The image files of one guest directory.
 *
 * @param scope - the storage
 * @param vmid - the guest
 * @param onlyNames - only these file names
 * @param dirChecked - the directory is known to stay inside the storage (found by {@link guestDirs})
 */
async function filesOfGuest(scope: ListScope, vmid: number, onlyNames?: ReadonlySet<string>, dirChecked = false): Promise<Found[]> {
  const dir = join(scope.layout.subdir('images'), String(vmid));
  if (!dirChecked && !(await staysInside(scope, dir))) return [];
  const out: Found[] = [];
  const entries = await readDirEntries(scope, dir);
  const hidden = hiddenAmong(entries.map((e) => e.name));
  for (let i = 0; i < entries.length; i++) {
    const ent = entries[i] as Dirent;
    if (onlyNames && !onlyNames.has(ent.name)) continue;
    const parsed = parseImageFileName(ent.name);
    if (!parsed) continue;
    // not join(): the directory is already normal and an entry's name is one component (path.join
    // normalizes every character, which is a large share of a listing's time in a fresh process)
    const path = `${dir}/${ent.name}`;
    if (parsed.format === 'subvol') {
      // a container subvolume is a real directory (a symlink under its name is not followed)
      if (ent.isDirectory()) out.push(found(vmid, ent.name, path, parsed, false, hidden.has(ent.name)));
      continue;
    }
    if (ent.isSymbolicLink()) {
      if (!(await staysInside(scope, path))) continue;
    } else if (!ent.isFile()) continue;
    out.push(found(vmid, ent.name, path, parsed, ent.isFile(), hidden.has(ent.name)));
  }
  return out;
}

async function guestDirs(scope: ListScope): Promise<number[]> {
  const images = scope.layout.subdir('images');
  const vmids: number[] = [];
  for (const ent of await readDirEntries(scope, images)) {
    if (!VMID_DIR_RE.test(ent.name)) continue;
    if (ent.isSymbolicLink()) {
      if (!(await staysInside(scope, join(images, ent.name)))) continue;
    } else if (!ent.isDirectory()) continue;
    vmids.push(Number(ent.name));
  }
  return vmids;
}

/** Files probed per synchronous batch before the event loop gets a turn. */
export const SYNC_BATCH = 128;

const yieldToLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** A probed image, its backing file not followed yet. */
function unlinked(f: Found, probe: ImageProbe): Linked {
  f.probe = probe;
  return f as Linked;
}

/**
 * Keeps a file's probe; a file under an image name that is not a regular file (a FIFO behind a
 * symlink, ...) is skipped with a warning: the probes refuse it without opening it.
 */
function keep(scope: ListScope, out: Linked[], f: Found, probe: ImageProbe | Error | undefined): void {
  try {
    if (probe instanceof Error) throw probe;
    if (probe) out.push(unlinked(f, probe));
  } catch (e) {
    if (!isStorageError(e, 'CORRUPT')) throw e;
    scope.log.warn(`skipping '${f.path}': ${e.message}`, { path: f.path });
  }
}

/**
 * What a container subvolume (a directory) is listed with: size and usage 0, as Proxmox's
 * `file_size_info` reports a directory, and the directory's ctime.
 */
async function probeSubvols(scope: ListScope, dirs: readonly Found[]): Promise<Linked[]> {
  const probed = await mapLimit(dirs, LIST_CONCURRENCY, async (f): Promise<Linked | undefined> => {
    try {
      const st = await scope.fs.lstat(f.path);
      if (!st.isDirectory()) return undefined;
      return unlinked(f, { format: 'subvol', size: 0, used: 0, ctime: Math.floor(st.ctimeMs / 1000), backingFile: undefined });
    } catch (e) {
      if (errnoOf(e) === 'ENOENT') return undefined;
      throw fsError(e, `cannot inspect '${f.path}'`, { path: f.path });
    }
  });
  return probed.filter((p): p is Linked => p !== undefined);
}

async function probeAll(scope: ListScope, found: readonly Found[]): Promise<Linked[]> {
  const files = found.filter((f) => f.format !== 'subvol');
  const out = files.length === found.length ? [] : await probeSubvols(scope, found.filter((f) => f.format === 'subvol'));
  if (scope.fs.kind === 'sync') {
    const scratch = Buffer.allocUnsafe(HEAD_BYTES);
    for (let i = 0; i < files.length; i++) {
      if (i > 0 && i % SYNC_BATCH === 0) await yieldToLoop();
      const f = files[i] as Found;
      try {
        const probe = probeImageSync(f.path, f.format, scratch, f.regular);
        if (probe) out.push(unlinked(f, probe));
      } catch (e) {
        keep(scope, out, f, e as Error);
      }
    }
    return out;
  }
  let next = 0;
  const worker = async (): Promise<void> => {
    const scratch = Buffer.allocUnsafe(HEAD_BYTES);
    while (next < files.length) {
      const f = files[next++] as Found;
      keep(scope, out, f, await scope.fs.probe(f.path, f.format, scratch).catch((e: unknown) => e as Error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, files.length) }, worker));
  return out;
}

function setTarget(p: Linked, target: BackingTarget | undefined): void {
  p.target = target;
  p.linkKey = target ? `${target.baseVmid}/${target.baseName}` : undefined;
}

/**
 * Finds where each image's backing file leads (see {@link backingTarget}): by its text where
 * that tells ({@link backingTargetByText}, every reference a linked clone of this storage
 * has), by resolving it otherwise.
 */
async function linkAll(scope: ListScope, imagesReal: string, probed: Linked[]): Promise<Linked[]> {
  const resolving: Linked[] = [];
  // the clones of one base share its reference: each distinct text is read once
  const byText = new Map<string, { readonly target: BackingTarget | 'resolve' | undefined; readonly key: string | undefined }>();
  for (let i = 0; i < probed.length; i++) {
    const p = probed[i] as Linked;
    const backingFile = p.probe.backingFile;
    if (backingFile === undefined) continue;
    let read = byText.get(backingFile);
    if (read === undefined) {
      const target = backingTargetByText(backingFile);
      read = { target, key: target !== undefined && target !== 'resolve' ? `${target.baseVmid}/${target.baseName}` : undefined };
      byText.set(backingFile, read);
    }
    if (read.target === 'resolve') {
      resolving.push(p);
    } else {
      p.target = read.target;
      p.linkKey = read.key;
    }
  }
  await mapLimit(resolving, LIST_CONCURRENCY, async (p) => setTarget(p, await backingTarget(scope.fs, imagesReal, p.path, p.probe.backingFile as string)));
  return probed;
}

/** The base a linked clone names in its volname: when its backing file is `../<vmid>/<image>`. */
function baseOf(p: Linked): BackingTarget | undefined {
  return p.target?.canonical ? p.target : undefined;
}

/** How many generations of bases outside a filtered listing are read. */
const MAX_BASE_DEPTH = 32;

/**
 * The listed images plus, by `<vmid>/<name>`, the bases of their chains that are not among them
 * (a filtered listing): those headers are read too, generation by generation (a base may itself
 * be a linked clone).
 */
async function withBases(scope: ListScope, imagesReal: string, probed: readonly Linked[]): Promise<Map<string, Linked>> {
  const known = new Map(probed.map((p) => [p.key, p] as const));
  const tried = new Set<string>();
  let wave: readonly Linked[] = probed;
  for (let depth = 0; wave.length > 0 && depth < MAX_BASE_DEPTH; depth++) {
    const missing = new Set<string>();
    for (let i = 0; i < wave.length; i++) {
      const key = (wave[i] as Linked).linkKey;
      if (key !== undefined && !known.has(key) && !tried.has(key)) missing.add(key);
    }
    for (const key of missing) tried.add(key);
    const found = await mapLimit([...missing], DIR_CONCURRENCY, async (key) => {
      const [vmid = '', name = ''] = key.split('/');
      return linkAll(scope, imagesReal, await probeAll(scope, await filesOfGuest(scope, Number(vmid), new Set([name]))));
    });
    wave = found.flat();
    for (const p of wave) known.set(p.key, p);
  }
  return known;
}

/**
 * Marks the images whose chain of bases, as far as `known` tells, comes back on itself (templates
 * whose backing files point at each other, and the clones of those): `loops` is set on every
 * record of `known`. Such a chain never ends: the images are corrupt, and none of them makes
 * another one a base in use.
 */
function markLoopingChains(known: ReadonlyMap<string, Linked>): void {
  const path: Linked[] = [];
  // forEach and index loops: no iterator result per step in a fresh process
  known.forEach((start) => {
    path.length = 0;
    let loops = false;
    for (let p: Linked | undefined = start; p !== undefined; ) {
      if (p.loops !== undefined) {
        loops = p.loops;
        break;
      }
      if (path.includes(p)) {
        loops = true;
        break;
      }
      path.push(p);
      p = p.linkKey !== undefined ? known.get(p.linkKey) : undefined;
    }
    for (let i = 0; i < path.length; i++) (path[i] as Linked).loops = loops;
  });
}

/** The volname of an image: with its base's prefix, unless its chain loops (made once per image). */
function volnameOf(p: Linked): string {
  if (p.volname !== undefined) return p.volname;
  const base = p.loops === true ? undefined : baseOf(p);
  return (p.volname = formatImageVolname({ vmid: p.vmid, name: p.name, baseVmid: base?.baseVmid, baseName: base?.baseName }));
}

/**
 * Sorts by volid in plain character order (UTF-16 code units, as `<` compares strings), with the
 * engine's own comparison of strings rather than a comparator called once per comparison. Equal
 * volids keep their order.
 */
function byVolid(images: ImageInfo[]): ImageInfo[] {
  const byId = new Map<string, ImageInfo>();
  const volids = new Array<string>(images.length);
  for (let i = 0; i < images.length; i++) {
    const image = images[i] as ImageInfo;
    volids[i] = image.volid;
    byId.set(image.volid, image);
  }
  // two images under one volid (not made by a listing, but cheap to keep right): a stable sort
  if (byId.size !== images.length) return images.sort((a, b) => (a.volid < b.volid ? -1 : a.volid > b.volid ? 1 : 0));
  volids.sort();
  const out = new Array<ImageInfo>(volids.length);
  for (let i = 0; i < volids.length; i++) out[i] = byId.get(volids[i] as string) as ImageInfo;
  return out;
}

/**
 * Lists the images of a directory storage: for each, the volid, format (`invalid` when the
 * content does not match the extension or is truncated, or when its chain of bases loops),
 * virtual size, bytes used, owner, base flag, parent (the volid of the image of this storage its
 * backing file leads to, whatever form the reference has; only a `../<vmid>/<image>` reference
 * puts the base into the volname, as in Proxmox), the backing file as stored, ctime, and
 * `hidden: true` when a `<file>.hidden` marker is among the same directory's entries. Container subvolumes (`subvol-<vmid>-….subvol` directories) are listed with format
 * `subvol` and size 0. Symlinks that lead outside the storage and entries that are not regular files (a FIFO
 * behind a symlink) are skipped with a warning; nothing outside is read, nothing blocks.
 *
 * @param scope - storage id, layout, resolved root, logger
 * @param request - only one guest's images, or only some volnames (then the guest filter is ignored)
 * @returns the images, sorted by volid
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the images directory itself leads
 *   outside the storage; filesystem errors other than a missing directory
 * @see Proxmox `PVE::Storage::Plugin::list_images`
 */
export async function listImageInfos(scope: ListScope, request: ListImagesRequest): Promise<ImageInfo[]> {
  const imagesDir = scope.layout.subdir('images');
  const imagesReal = await confine(scope.rootReal, imagesDir, undefined, scope.fs);
  let files: Found[];
  let wanted: Set<string> | undefined;
  if (request.volnames) {
    wanted = new Set(request.volnames);
    const byGuest = new Map<number, Set<string>>();
    for (const v of request.volnames) {
      let parsed;
      try {
        parsed = parseDirVolname(v);
      } catch {
        continue;
      }
      if (parsed.vtype !== 'images' || parsed.vmid === undefined) continue;
      const names = byGuest.get(parsed.vmid) ?? new Set<string>();
      names.add(parsed.name);
      byGuest.set(parsed.vmid, names);
    }
    files = (await mapLimit([...byGuest], DIR_CONCURRENCY, ([vmid, names]) => filesOfGuest(scope, vmid, names))).flat();
  } else if (request.vmid !== undefined) {
    files = await filesOfGuest(scope, request.vmid);
  } else {
    files = (await mapLimit(await guestDirs(scope), DIR_CONCURRENCY, async (vmid, i) => {
      if (i % DIR_CONCURRENCY === 0) await yieldToLoop();
      return filesOfGuest(scope, vmid, undefined, true);
    })).flat();
  }
  const probed = await linkAll(scope, imagesReal, await probeAll(scope, files));
  const known = await withBases(scope, imagesReal, probed);
  markLoopingChains(known);
  const out: ImageInfo[] = [];
  for (let i = 0; i < probed.length; i++) {
    const p = probed[i] as Linked;
    const volname = volnameOf(p);
    if (wanted && !wanted.has(volname)) continue;
    const loops = p.loops === true;
    const baseKey = loops ? undefined : p.linkKey;
    const baseProbed = baseKey !== undefined ? known.get(baseKey) : undefined;
    const info: { -readonly [K in keyof ImageInfo]: ImageInfo[K] } = {
      volid: (p.volid ??= formatVolumeId(scope.storeId, volname)),
      volname,
      format: loops ? 'invalid' : p.probe.format,
      size: p.probe.size,
      used: p.probe.used,
      vmid: p.vmid,
      isBase: p.isBase,
      parent: baseProbed ? (baseProbed.volid ??= formatVolumeId(scope.storeId, volnameOf(baseProbed))) : baseKey !== undefined ? formatVolumeId(scope.storeId, baseKey) : undefined,
      backingFile: p.probe.backingFile,
      ctime: p.probe.ctime,
    };
    // last, as it always was (no spread of a fresh object per image)
    if (p.hidden) info.hidden = true;
    out.push(info);
  }
  return byVolid(out);
}
