/**
 * Flattening: a linked clone off its base (`flattenImage`) and a qcow2 image back to one of its
 * internal snapshots (`volumeSnapshotFlatten`).
 *
 * Both write the new content with one `qemu-img convert` into a `swap` temporary next to the
 * image (`.stowage-swap~<name>~<owner>~<nonce>`, see temp-name.ts), flush it to the disk, then
 * `rename` it over the image. Until the rename the image is untouched; the rename replaces it in
 * one step, and a power cut after it finds the new content whole. A process
 * killed at any point leaves the image as it was or as flattened, and at worst a temporary of a
 * dead owner, which `collectGarbage` removes. Right before the rename the image must still be
 * the file it was when the copy began (same inode, size, modification and change times):
 * anything that changed it meanwhile (a snapshot taken, a guest started and writing, another
 * flatten) makes the call fail with `BUSY` and leaves that change in place.
 *
 * Cost: the clone's whole content is read through its backing chain and written once (sparse:
 * zeroed areas are not written) and flushed: about what a bare `qemu-img convert -t writeback`
 * of the clone costs (`qemu-img`'s default for the target, `unsafe`, never flushes it); the
 * storage needs room for a second copy until the rename. `qemu-img rebase -b ''` in place would
 * write only what the base holds and the clone does not, but a kill part-way leaves leaked
 * clusters, and the clone's internal snapshots would read zeros where they read the base
 * (checked with qemu-img 7.2); `qemu-img convert` drops internal snapshots, so a clone with
 * snapshots is refused (`cloneKeepsSnapshots` is `false`).
 *
 * @module
 */
import { lstat } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { Writable } from 'node:stream';
import type { Stats } from 'node:fs';
import { StorageError, type ParsedVolume, type ProgressCallback, type VolumeFormat } from '@stowage/core';
import { errnoOf, fsError, reportProgress, type FlattenImageRequest, type SnapshotFlattenRequest } from '@stowage/core/plugin';
import { preallocationFor, qemuImgConvertArgs, qemuImgResizeArgs } from './commands.js';
import { flushNames } from './durable.js';
import type { Preallocation } from './config.js';
import { assertImage, runTool, type DirEnv } from './exec.js';
import { readQcow2Snapshots } from './formats/qcow2-snapshots.js';
import { admitFile, admitImage } from './gate.js';
import { formatImageVolname, parseImageFileName } from './names.js';
import { assertQcow2, snapshottable } from './ops-snapshot.js';
import { parseQemuImgProgress } from './parse.js';
import { isOwnTemp, makeTemp, ownerToken, removeOwnTemp, type OwnTemp } from './temp-file.js';

/** The new content of an image, on its way, and the image as it was when the copy began. */
interface Swap {
  readonly temp: OwnTemp;
  readonly path: string;
  readonly volname: string;
  readonly before: Stats;
}

function sameFile(a: Stats, b: Stats): boolean {
  return a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtimeMs === b.mtimeMs && a.ctimeMs === b.ctimeMs;
}

async function statImage(path: string, volname: string): Promise<Stats> {
  try {
    return await lstat(path);
  } catch (e) {
    if (errnoOf(e) === 'ENOENT') throw new StorageError('NOT_FOUND', `volume '${volname}' does not exist`, { details: { volname } });
    throw fsError(e, `cannot inspect '${path}'`, { path });
  }
}

/** Makes the `swap` temporary next to the image and notes what the image is now. */
async function startSwap(env: DirEnv, path: string, volname: string): Promise<Swap> {
  const before = await statImage(path, volname);
  const temp = await makeTemp(env.ctx.fs, path, 'swap', ownerToken(env.ctx.node));
  return { temp, path, volname, before };
}

/**
 * Renames the finished temporary over the image: not when the operation's signal was aborted,
 * not when the temporary is no longer this call's file, not when the image changed since the
 * copy began. The temporary gets the image's permission bits and is flushed to the disk first,
 * and the directory after (see durable.ts): a power cut leaves the old content or the new.
 */
async function finishSwap(env: DirEnv, swap: Swap): Promise<void> {
  const { temp, path, volname } = swap;
  const signal = env.ctx.signal;
  if (signal?.aborted) throw new StorageError('ABORTED', `flattening '${volname}' is no longer wanted: the image is left as it was`, { cause: signal.reason, details: { volname } });
  if (!(await isOwnTemp(temp))) {
    throw new StorageError('NOT_FOUND', `'${temp.path}' vanished (removed by another process?) before it could replace '${volname}'`, { details: { volname, path: temp.path, vanished: true } });
  }
  if (!sameFile(swap.before, await statImage(path, volname))) {
    throw new StorageError('BUSY', `'${volname}' changed while it was being flattened: it is left as it is now`, { details: { volname } });
  }
  try {
    await env.ctx.fs.chmod(temp.path, swap.before.mode & 0o7777);
    await env.ctx.fs.sync(temp.path);
    await env.ctx.fs.rename(temp.path, path);
  } catch (e) {
    throw fsError(e, `cannot replace '${volname}' with its flattened content`, { volname });
  }
  await flushNames(env.ctx.fs, dirname(path), env.log);
}

/** Runs `qemu-img convert -p`, turning its percentages into progress reports against `total` bytes. */
async function convertWithProgress(env: DirEnv, argv: readonly string[], total: number, onProgress: ProgressCallback | undefined): Promise<void> {
  let pending = '';
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      pending += chunk.toString('latin1');
      const cut = pending.lastIndexOf('\r');
      if (cut >= 0) {
        const pct = parseQemuImgProgress(pending.slice(0, cut));
        pending = pending.slice(cut + 1);
        if (pct !== undefined) reportProgress(onProgress, { done: Math.round((total * pct) / 100), total });
      }
      callback();
    },
  });
  await runTool(env, argv, { stdout });
  reportProgress(onProgress, { done: total, total });
}

/** Swaps new content in: the copy (and whatever `fill` does after it) goes to a temporary, removed on any failure. */
async function replaceWith(env: DirEnv, swap: Swap, fill: (target: string) => Promise<void>): Promise<void> {
  try {
    await fill(swap.temp.path);
    await finishSwap(env, swap);
  } catch (e) {
    await removeOwnTemp(env.ctx.fs, swap.temp, env.log);
    throw e;
  }
}

/**
 * The preallocation of a flattened image: the storage's `preallocation` when it sets one;
 * otherwise none, so that the copy costs what a bare `qemu-img convert` costs (qcow2's usual
 * default, `metadata`, makes `qemu-img` write every unallocated cluster's metadata as well:
 * about a fifth more time for a clone of a 1 GiB template, measured with qemu-img 7.2).
 */
function flattenPreallocation(env: DirEnv): Preallocation | undefined {
  const configured = env.ctx.config.preallocation;
  return configured === undefined ? undefined : preallocationFor(configured, 'qcow2');
}

function refuseState(volume: ParsedVolume, why: string, details: Record<string, unknown> = {}): never {
  throw new StorageError('INVALID_STATE', `cannot flatten '${volume.volname}': ${why}`, { details: { volname: volume.volname, ...details } });
}

/**
 * Detaches a qcow2 linked clone from its base: `qemu-img convert` of the clone (through its
 * backing chain) into a `swap` temporary in the clone's directory, then a `rename` over the
 * clone (see the module's description for the cost and what a kill leaves). The temporary is
 * made under the storage lock, which then goes back (`ctx.nameReserved()`) for the copy.
 * Progress comes from `qemu-img -p`. The file keeps its path and attribute files; the volname
 * loses the base prefix. An image that has no backing file (already flattened, e.g. a retry
 * after a kill right after the rename) is left alone and its volname returned.
 *
 * @param env - the call's environment
 * @param request - the clone, progress
 * @returns the volname afterwards: `<vmid>/<name>`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (not qcow2, or an external data file),
 *   `INVALID_STATE` (a base: immutable and read by its clones; a clone with internal snapshots,
 *   `details.snapshots`), `NOT_FOUND`, `CORRUPT` (refused by the gate), `BUSY` (the clone is
 *   held by another process, or changed during the copy), `NO_SPACE`, `ABORTED`, `COMMAND_FAILED`
 * @see Ceph RBD `flatten`, libvirt block-pull
 */
export async function flattenImage(env: DirEnv, request: FlattenImageRequest): Promise<string> {
  const { volume } = request;
  assertImage(volume, 'flattenImage');
  assertQcow2(volume, 'flatten');
  if (volume.isBase) refuseState(volume, 'a base is immutable, and its clones read it');
  const { path, probe } = await admitImage(env, volume);
  const flatVolname = formatImageVolname({ vmid: volume.vmid, name: volume.name });
  if (probe.backingFile === undefined) return flatVolname;
  const header = probe.qcow2;
  if (header?.dataFile !== undefined) {
    throw new StorageError('NOT_SUPPORTED', `'${volume.volname}' keeps its data in an external data file: not flattened`, { details: { volname: volume.volname } });
  }
  if (header !== undefined && header.snapshotCount > 0) {
    const snapshots = (await readQcow2Snapshots(path, { offset: header.snapshotsOffset, count: header.snapshotCount })).map((s) => s.name);
    refuseState(volume, 'qemu-img convert does not keep internal snapshots; delete them first', { snapshots });
  }
  const swap = await startSwap(env, path, volume.volname);
  env.ctx.nameReserved();
  const preallocation = flattenPreallocation(env);
  await replaceWith(env, swap, (target) =>
    convertWithProgress(env, qemuImgConvertArgs({ source: path, sourceFormat: 'qcow2', target, targetFormat: 'qcow2', preallocation, progress: true }), probe.size, request.onProgress),
  );
  return flatVolname;
}

/**
 * Takes a qcow2 image back to one of its internal snapshots and drops every snapshot:
 * `qemu-img convert -l snapshot.name=<snapshot>` into a `swap` temporary (a linked clone stays
 * one: `-B`/`-F` with the clone's own relative backing reference, and only what the snapshot
 * holds above the base is copied), shrunk with `qemu-img resize --shrink` to the size the
 * snapshot had when the image grew after it (read from the qcow2 snapshot table: `convert -l`
 * writes the current size), then a `rename` over the image. Runs under the volume's lock, which
 * it keeps (no `ctx.nameReserved()`). Cost: one copy of the snapshot's data.
 *
 * @param env - the call's environment
 * @param request - the image, the snapshot, progress
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (image or snapshot), `NOT_SUPPORTED` (not
 *   qcow2, an external data file, a backing file of unknown format), `INVALID_STATE` (a base: its
 *   clones read its current content), `CORRUPT`, `BUSY`, `NO_SPACE`, `ABORTED`, `COMMAND_FAILED`
 * @see OpenNebula `snap_flatten`
 */
export async function volumeSnapshotFlatten(env: DirEnv, request: SnapshotFlattenRequest): Promise<void> {
  const { volume, snapshot } = request;
  assertQcow2(volume, 'flatten');
  if (volume.isBase) refuseState(volume, 'its linked clones read its current content');
  const { path, probe } = await snapshottable(env, volume);
  const header = probe.qcow2;
  const table = header ? await readQcow2Snapshots(path, { offset: header.snapshotsOffset, count: header.snapshotCount }) : [];
  const entry = table.find((s) => s.name === snapshot);
  if (!entry) throw new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${volume.volname}' does not exist`, { details: { volname: volume.volname, snapshot } });
  const size = entry.diskSize ?? probe.size;
  if (size > probe.size) {
    // shrunk by another program since: qemu-img would read the snapshot only up to the current size
    throw new StorageError('NOT_SUPPORTED', `snapshot '${snapshot}' of '${volume.volname}' is larger than the image now`, { details: { volname: volume.volname, snapshot } });
  }
  let backing: { file: string; format: VolumeFormat } | undefined;
  if (probe.backingFile !== undefined) {
    const format = (header?.backingFormat as VolumeFormat | undefined) ?? parseImageFileName(basename(probe.backingFile))?.format;
    if (format === undefined) {
      throw new StorageError('NOT_SUPPORTED', `the backing file of '${volume.volname}' has no recorded format`, { details: { volname: volume.volname, backingFile: probe.backingFile } });
    }
    backing = { file: probe.backingFile, format };
  }
  const swap = await startSwap(env, path, volume.volname);
  const preallocation = flattenPreallocation(env);
  await replaceWith(env, swap, async (target) => {
    const argv = qemuImgConvertArgs({ source: path, sourceFormat: 'qcow2', target, targetFormat: 'qcow2', preallocation, snapshot, backing, progress: true });
    await convertWithProgress(env, argv, size, request.onProgress);
    if (size === probe.size) return;
    const admitted = await admitFile(env, target, 'qcow2', { volname: volume.volname });
    await runTool(env, qemuImgResizeArgs({ path: admitted.path, format: 'qcow2', size, shrink: true }));
  });
}
