/**
 * Where a backing file leads inside the storage. A linked clone made by Proxmox or stowage names
 * its base `../<vmid>/<image>`; an image made by other tools may name it otherwise (an absolute
 * path, `../../images/<vmid>/<image>`, ...). Either way, when the file QEMU would open is an
 * image of this storage, the clone depends on it.
 *
 * @module
 */
import { relative, sep } from 'node:path';
import type { FsOps } from './fs-ops.js';
import { hasProtocol, isPlainName, qemuRelativeTo } from './qemu-names.js';
import { parseBackingReference, parseImageFileName } from './names.js';

/** The image a backing file leads to: its owner and file name. */
export interface BackingTarget {
  /** The base's owner. */
  readonly baseVmid: number;
  /** The base's file name. */
  readonly baseName: string;
  /** `true` when the reference has the `../<vmid>/<image>` form (the base is then part of the volname). */
  readonly canonical: boolean;
}

const VMID_DIR_RE = /^[1-9][0-9]{0,8}$/;

/**
 * What the text of a backing file name alone tells of {@link backingTarget}: the base of a
 * `../<vmid>/<image>` reference; `undefined` for a name that can lead to no file of this storage
 * (a protocol, characters outside printable ASCII); `resolve` for any other name, which only
 * resolving it tells. Pure: a listing takes most references this way, with no promise per image.
 *
 * @param backingFile - the name stored in an image header
 */
export function backingTargetByText(backingFile: string): BackingTarget | 'resolve' | undefined {
  const ref = parseBackingReference(backingFile);
  if (ref) return { baseVmid: ref.baseVmid, baseName: ref.baseName, canonical: true };
  return !isPlainName(backingFile) || hasProtocol(backingFile) ? undefined : 'resolve';
}

/**
 * Finds the image of this storage a backing file leads to. A `../<vmid>/<image>` reference is
 * read by its text, as Proxmox reads it; any other plain file name is resolved as QEMU resolves
 * it (relative to the image's directory, symlinks followed by the kernel) and kept when the file
 * is `<images>/<vmid>/<image>` of this storage.
 *
 * @param fs - the filesystem calls
 * @param imagesReal - the storage's images directory, symlinks resolved
 * @param imagePath - the referring image's path
 * @param backingFile - the name stored in its header
 * @returns the base, or `undefined` when the reference leads to no image of this storage
 *   (elsewhere, nowhere, a protocol, a file that is not named like an image)
 */
export async function backingTarget(fs: FsOps, imagesReal: string, imagePath: string, backingFile: string): Promise<BackingTarget | undefined> {
  const byText = backingTargetByText(backingFile);
  if (byText !== 'resolve') return byText;
  let real: string;
  try {
    real = await fs.realpath(qemuRelativeTo(imagePath, backingFile));
  } catch {
    return undefined;
  }
  const parts = relative(imagesReal, real).split(sep);
  if (parts.length !== 2) return undefined;
  const [vmid = '', name = ''] = parts;
  if (!VMID_DIR_RE.test(vmid) || !parseImageFileName(name)) return undefined;
  return { baseVmid: Number(vmid), baseName: name, canonical: false };
}
