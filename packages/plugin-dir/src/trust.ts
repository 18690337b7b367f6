/**
 * Checks on images that come from outside (imported streams, files put into the directory by
 * hand), like Proxmox's untrusted mode: no qcow2 external data file, no backing file that leaves
 * the storage, no multi-extent vmdk, no vmdk whose data lives in another file.
 *
 * @module
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { isStorageError, StorageError, type VolumeFormat } from '@stowage/core';
import { confine } from './paths.js';
import { asyncFs, type FsOps } from './fs-ops.js';
import type { ImageProbe } from './probe.js';

/** The most backing files followed before the chain is judged unsafe (a loop, or absurd). */
const MAX_CHAIN = 32;

/**
 * What is wrong with an image taken as a single self-contained file (an imported stream).
 *
 * @param probe - the image, as {@link probeImage} read it
 * @param allowedBacking - backing file references accepted as they are (a linked clone's own
 *   `../<basevmid>/<basename>`); any other backing file is a problem
 * @returns the problems, empty when the image is acceptable
 * @see Proxmox `PVE::Storage::Plugin::file_size_info` with `$untrusted`
 */
export function selfContainedProblems(probe: ImageProbe, allowedBacking: readonly string[] = []): string[] {
  const problems: string[] = [];
  if (probe.format === 'invalid') problems.push(`not a valid image: ${probe.invalidReason ?? 'unknown'}`);
  if (probe.qcow2?.dataFile !== undefined) problems.push(`qcow2 external data file '${probe.qcow2.dataFile}'`);
  if (probe.vmdk) {
    if (probe.vmdk.extents.length > 1) problems.push(`vmdk with ${probe.vmdk.extents.length} extents`);
    if (probe.vmdk.kind === 'descriptor') problems.push('vmdk descriptor whose data lives in other files');
  }
  if (probe.backingFile !== undefined && !allowedBacking.includes(probe.backingFile)) problems.push(`backing file '${probe.backingFile}'`);
  return problems;
}

/**
 * Throws unless {@link selfContainedProblems} finds nothing.
 *
 * @param probe - the image
 * @param volname - for the error
 * @param allowedBacking - accepted backing references
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` with `details.problems`
 */
export function assertSelfContained(probe: ImageProbe, volname: string, allowedBacking: readonly string[] = []): void {
  const problems = selfContainedProblems(probe, allowedBacking);
  if (problems.length > 0) {
    throw new StorageError('INVALID_ARGUMENT', `untrusted image '${volname}' refused: ${problems.join('; ')}`, { details: { volname, problems } });
  }
}

function formatOfName(name: string, declared: string | undefined): VolumeFormat | undefined {
  const f = declared ?? /\.(raw|qcow2|vmdk)$/.exec(name)?.[1];
  return f === 'raw' || f === 'qcow2' || f === 'vmdk' ? f : undefined;
}

async function inside(rootReal: string, from: string, ref: string, fs: FsOps): Promise<string | undefined> {
  const target = isAbsolute(ref) ? resolve(ref) : resolve(dirname(from), ref);
  try {
    return await confine(rootReal, target, undefined, fs);
  } catch (e) {
    if (isStorageError(e, 'INVALID_VOLUME_ID')) return undefined;
    throw e;
  }
}

/**
 * What is wrong with an image file on the storage that a guest is about to use: no external
 * data file, no vmdk with several extents, and every file it refers to (backing chain, vmdk
 * extent files) must resolve inside the storage. Files outside are never opened.
 *
 * @param rootReal - the storage root, symlinks resolved
 * @param path - the image file
 * @param probe - the image as read by {@link probeImage}
 * @param fs - the filesystem calls to use
 * @returns the problems, empty when the image is acceptable
 */
export async function onStorageProblems(rootReal: string, path: string, probe: ImageProbe, fs: FsOps = asyncFs): Promise<string[]> {
  const problems: string[] = [];
  let cur = path;
  let p: ImageProbe | undefined = probe;
  for (let depth = 0; p && depth < MAX_CHAIN; depth++) {
    if (p.qcow2?.dataFile !== undefined) problems.push(`'${cur}': qcow2 external data file '${p.qcow2.dataFile}'`);
    if (p.vmdk && p.vmdk.extents.length > 1) problems.push(`'${cur}': vmdk with ${p.vmdk.extents.length} extents`);
    if (p.vmdk?.kind === 'descriptor') {
      for (const x of p.vmdk.extents) {
        if (x.file !== undefined && !(await inside(rootReal, cur, x.file, fs))) problems.push(`'${cur}': vmdk extent '${x.file}' outside the storage`);
      }
    }
    if (p.backingFile === undefined) return problems;
    const next = await inside(rootReal, cur, p.backingFile, fs);
    if (!next) {
      problems.push(`'${cur}': backing file '${p.backingFile}' outside the storage`);
      return problems;
    }
    const fmt = formatOfName(next, p.qcow2?.backingFormat);
    if (!fmt) return problems;
    cur = next;
    p = await fs.probe(next, fmt);
  }
  if (p) problems.push(`'${path}': backing chain longer than ${MAX_CHAIN}`);
  return problems;
}
