/**
 * The gate in front of every image the plugin opens or hands to `qemu-img`: the file must be a
 * regular file inside the storage, and every other file QEMU would open on its behalf (the
 * backing chain, a qcow2 data file, vmdk extents and parents) must be one too, found the way
 * QEMU finds it. The argv builders of the commands that open an existing image take only an
 * {@link AdmittedPath}, which nothing but {@link admitFile} makes.
 *
 * What is refused, and why:
 * - a FIFO, socket, device or directory under an image's name (opening one would block);
 * - a name QEMU would read as a protocol, JSON or options (`file:`, `json:{...}`, `nbd:`, ...,
 *   see {@link hasProtocol}), or with characters QEMU and we could read differently;
 * - a file that, resolved as the kernel resolves it for QEMU (symlinks first, then `..`),
 *   lies outside the storage, or does not exist;
 * - a backing format with a driver that reads other things (anything but raw, qcow2, vmdk), and
 *   a backing file without a recorded format that QEMU would probe as another format;
 * - a qcow2 data file named relative to nothing (QEMU takes it from its working directory);
 * - a vmdk extent that is itself a descriptor; a chain that loops or is longer than 32;
 * - an image whose header this plugin cannot read (what it refers to is unknown).
 *
 * @module
 */
import { isStorageError, StorageError, type ParsedVolume, type VolumeFormat } from '@stowage/core';
import { errnoOf, fsError } from '@stowage/core/plugin';
import { assertImage, type DirEnv } from './exec.js';
import { confine, isWithin } from './paths.js';
import type { ImageProbe, ProbeFormat } from './formats/probe.js';
import { hasProtocol, isPlainName, qemuRelativeTo } from './qemu-names.js';

declare const admitted: unique symbol;

/** The path of an image that passed the gate: absolute, a regular file, every reference checked. */
export type AdmittedPath = string & { readonly [admitted]: true };

/** What the gate hands back. */
export interface AdmittedImage {
  /** The image's path, as laid out (not symlink-resolved): what QEMU is given. */
  readonly path: AdmittedPath;
  /** The image's header. */
  readonly probe: ImageProbe;
}

/** How an image is judged. */
export interface AdmitRules {
  /** The volume name, for messages and `details`. */
  readonly volname: string;
  /**
   * `stored` (an image on the storage; refusals are `CORRUPT`) or `imported` (an image just
   * received from a stream; it must also be self-contained: one file, no data file, no backing
   * file but `allowedBacking`; refusals are `INVALID_ARGUMENT`).
   */
  readonly origin?: 'stored' | 'imported';
  /** For `imported`: the one backing reference accepted (a linked clone's own base). */
  readonly allowedBacking?: string | undefined;
  /** Return an image whose header cannot be read (`format: 'invalid'`) instead of refusing it. */
  readonly acceptInvalid?: boolean;
}

/** The most images in a backing chain. */
const MAX_CHAIN = 32;
/** Backing formats QEMU opens with a driver whose references this plugin reads. */
const BACKING_FORMATS: ReadonlySet<string> = new Set(['raw', 'qcow2', 'vmdk']);
/** vmdk extent types whose file holds raw data (others are read as vmdk sparse files). */
const RAW_EXTENTS: ReadonlySet<string> = new Set(['FLAT', 'VMFS', 'SESPARSE']);

/** One walk over the files an image refers to. */
interface Walk {
  readonly env: DirEnv;
  readonly problems: string[];
  /** Real paths of the images of the backing chain so far. */
  readonly chain: Set<string>;
}

/**
 * Resolves a name stored in `from` to the real path of the file QEMU would open, or records why
 * it is refused.
 */
async function locate(w: Walk, from: string, name: string, what: string): Promise<string | undefined> {
  const refuse = (why: string): undefined => {
    w.problems.push(`'${from}': ${what} '${name}' ${why}`);
    return undefined;
  };
  if (!isPlainName(name)) return refuse('has characters outside printable ASCII');
  if (hasProtocol(name)) return refuse('is a protocol or options, not a file name');
  const target = qemuRelativeTo(from, name);
  let real: string;
  try {
    real = await w.env.fs.realpath(target);
  } catch (e) {
    const errno = errnoOf(e);
    if (errno === 'ENOENT' || errno === 'ENOTDIR' || errno === 'ELOOP') return refuse('does not exist');
    throw fsError(e, `cannot resolve '${target}'`, { path: target });
  }
  if (!isWithin(w.env.rootReal, real)) return refuse(`is outside the storage ('${real}')`);
  const st = await w.env.fs.stat(real);
  if (!st.isFile()) return refuse('is not a regular file');
  return real;
}

async function probeOf(w: Walk, real: string, format: ProbeFormat): Promise<ImageProbe | undefined> {
  try {
    return await w.env.fs.probe(real, format);
  } catch (e) {
    if (!isStorageError(e, 'CORRUPT')) throw e;
    w.problems.push(e.message);
    return undefined;
  }
}

/** Checks the vmdk extents of a descriptor `name`. */
async function checkExtents(w: Walk, name: string, probe: ImageProbe): Promise<void> {
  for (const extent of probe.vmdk?.extents ?? []) {
    if (extent.file === undefined) continue;
    const real = await locate(w, name, extent.file, 'vmdk extent');
    if (real === undefined || RAW_EXTENTS.has(extent.type)) continue;
    const inner = await probeOf(w, real, 'vmdk');
    if (inner?.format === 'invalid') w.problems.push(`'${name}': vmdk extent '${extent.file}': ${inner.invalidReason ?? 'unreadable'}`);
    else if (inner?.vmdk?.kind !== 'sparse') w.problems.push(`'${name}': vmdk extent '${extent.file}' is itself a descriptor`);
  }
}

/**
 * Checks one image of a chain and follows its backing file. `name` is the image's path as QEMU
 * knows it (relative names in it resolve against that text).
 */
async function checkImage(w: Walk, name: string, probe: ImageProbe): Promise<void> {
  for (let cur = name, p: ImageProbe | undefined = probe, depth = 0; p; depth++) {
    if (p.format === 'invalid') {
      w.problems.push(`'${cur}': ${p.invalidReason ?? 'not a readable image'}`);
      return;
    }
    const dataFile = p.qcow2?.dataFile;
    if (dataFile === '') w.problems.push(`'${cur}': external data file without a name`);
    else if (dataFile !== undefined && !dataFile.startsWith('/') && !hasProtocol(dataFile)) w.problems.push(`'${cur}': data file '${dataFile}' is relative (QEMU takes it from its working directory)`);
    else if (dataFile !== undefined) await locate(w, cur, dataFile, 'data file');
    if (p.vmdk?.kind === 'descriptor') await checkExtents(w, cur, p);
    if (p.backingFile === undefined) return;
    const declared = p.format === 'vmdk' ? 'vmdk' : p.qcow2?.backingFormat;
    if (declared !== undefined && !BACKING_FORMATS.has(declared)) {
      w.problems.push(`'${cur}': backing format '${declared}' (QEMU would open the backing file with that driver)`);
      return;
    }
    const real = await locate(w, cur, p.backingFile, 'backing file');
    if (real === undefined) return;
    if (w.chain.has(real)) {
      w.problems.push(`'${cur}': backing chain loops back to '${real}'`);
      return;
    }
    if (depth + 1 >= MAX_CHAIN) {
      w.problems.push(`'${name}': backing chain longer than ${MAX_CHAIN}`);
      return;
    }
    w.chain.add(real);
    cur = qemuRelativeTo(cur, p.backingFile);
    p = await probeOf(w, real, (declared as VolumeFormat | undefined) ?? 'detect');
  }
}

/** What makes an image from a stream more than one self-contained file. */
function importProblems(probe: ImageProbe, allowedBacking: string | undefined): string[] {
  const problems: string[] = [];
  if (probe.qcow2?.dataFile !== undefined) problems.push(`qcow2 external data file '${probe.qcow2.dataFile}'`);
  if (probe.vmdk?.kind === 'descriptor') problems.push('vmdk descriptor whose data lives in other files');
  if (probe.backingFile !== undefined && probe.backingFile !== allowedBacking) problems.push(`backing file '${probe.backingFile}'`);
  return problems;
}

/**
 * The gate: checks an image file and every file QEMU would open on its behalf (see the module's
 * description), without opening anything that is not a regular file inside the storage.
 *
 * @param env - the call's environment
 * @param path - the image file (absolute, as laid out in the storage)
 * @param format - the format its name says
 * @param rules - volname, origin, accepted backing, whether an unreadable header is returned
 * @returns the admitted path and the image's header
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (no such file), `INVALID_VOLUME_ID` (the path
 *   itself leads outside), `CORRUPT` (a stored image refused, with `details.problems`),
 *   `INVALID_ARGUMENT` (an imported image refused, with `details.problems`)
 */
export async function admitFile(env: DirEnv, path: string, format: VolumeFormat, rules: AdmitRules): Promise<AdmittedImage> {
  const { volname } = rules;
  await confine(env.rootReal, path, volname, env.fs);
  const probe = await env.fs.probe(path, format);
  if (!probe) throw new StorageError('NOT_FOUND', `volume '${volname}' does not exist`, { details: { volname } });
  const w: Walk = { env, problems: [], chain: new Set([await env.fs.realpath(path)]) };
  if (rules.origin === 'imported') w.problems.push(...importProblems(probe, rules.allowedBacking));
  if (!(rules.acceptInvalid && probe.format === 'invalid')) await checkImage(w, path, probe);
  if (w.problems.length > 0) {
    const imported = rules.origin === 'imported';
    throw new StorageError(imported ? 'INVALID_ARGUMENT' : 'CORRUPT', `${imported ? 'untrusted' : 'unsafe'} image '${volname}' refused: ${w.problems.join('; ')}`, {
      details: { volname, path, problems: w.problems },
    });
  }
  return { path: path as AdmittedPath, probe };
}

/**
 * {@link admitFile} for a volume of the storage: the one way to an image that is opened or
 * handed to `qemu-img`.
 *
 * @param env - the call's environment
 * @param volume - the parsed image
 * @param options - `acceptInvalid`: return an image whose header cannot be read instead of refusing it
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not an image), `NOT_FOUND`,
 *   `INVALID_VOLUME_ID`, `CORRUPT` (see {@link admitFile})
 */
export async function admitImage(env: DirEnv, volume: ParsedVolume, options: { readonly acceptInvalid?: boolean } = {}): Promise<AdmittedImage> {
  assertImage(volume, 'this operation');
  return admitFile(env, env.layout.volumePath(volume), volume.format as VolumeFormat, { volname: volume.volname, acceptInvalid: options.acceptInvalid });
}
