/**
 * Export and import in `raw+size` through the local DRBD device: the 8-byte size header, then
 * exactly that many bytes.
 *
 * @module
 */
import { open } from 'node:fs/promises';
import type { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  encodeSizeHeader,
  exactLength,
  readSizeHeader,
  reportProgress,
  writeAll,
  type VolumeExportRequest,
  type VolumeImportRequest,
} from '@stowage/core/plugin';
import { StorageError, type ProgressCallback } from '@stowage/core';
import { activate, deactivate } from './activation.js';
import { notSupported } from './errors.js';
import type { LinstorEnv } from './exec.js';
import { findFreeDiskname } from './ops-read.js';
import { dropSnapshotVolume, openSnapshotVolume } from './snapshot-volume.js';
import { createUnfinished, markWhole, undoOnFailure } from './unfinished.js';
import { localResource, loadAll, requireVolume, written, type LinstorVolume } from './view.js';

const CHUNK = 1 << 20;

/**
 * Runs `fn` with the volume's device available here; a diskless replica made for it is removed
 * again afterwards.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param fn - receives the device path
 */
async function withDevice<T>(env: LinstorEnv, v: LinstorVolume, fn: (path: string) => Promise<T>): Promise<T> {
  const hadLocal = localResource(env, v) !== undefined;
  const path = await activate(env, v);
  try {
    return await fn(path);
  } finally {
    if (!hadLocal) {
      const now = (await loadAll(env)).find((o) => o.rd === v.rd);
      if (now) await deactivate(env, now);
    }
  }
}

/**
 * Writes the header and the first `size` bytes of the device to `output` (not ended).
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param output - where the stream goes
 * @param onProgress - progress reports
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the device is shorter than the volume's size
 * @see Proxmox `volume_export` (`raw+size`)
 */
async function exportRaw(env: LinstorEnv, v: LinstorVolume, output: Writable, onProgress?: ProgressCallback): Promise<void> {
  await withDevice(env, v, (path) => copyOut(env, v, path, output, onProgress));
}

/**
 * Like {@link exportRaw}, for a snapshot: the snapshot is restored into its snapshot volume
 * (removed again afterwards when this export made it).
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param snapshot - the snapshot name
 * @param output - where the stream goes
 * @param onProgress - progress reports
 */
async function exportSnapshotRaw(env: LinstorEnv, v: LinstorVolume, snapshot: string, output: Writable, onProgress?: ProgressCallback): Promise<void> {
  const { volume, created } = await openSnapshotVolume(env, v, snapshot);
  try {
    await exportRaw(env, volume, output, onProgress);
  } finally {
    if (created) await dropSnapshotVolume(env, v.rd, snapshot);
  }
}

async function copyOut(env: LinstorEnv, v: LinstorVolume, path: string, output: Writable, onProgress?: ProgressCallback): Promise<void> {
  {
    const fh = await open(path, 'r');
    try {
      await writeAll(output, encodeSizeHeader(v.size));
      const buf = Buffer.alloc(Math.min(CHUNK, Math.max(1, v.size)));
      let done = 0;
      while (done < v.size) {
        if (env.ctx.signal?.aborted) throw new StorageError('ABORTED', 'export aborted');
        const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, v.size - done), done);
        if (bytesRead === 0) {
          throw new StorageError('CORRUPT', `device ${path} ended after ${done} of ${v.size} bytes`, { details: { path, done, size: v.size } });
        }
        await writeAll(output, Uint8Array.prototype.slice.call(buf, 0, bytesRead));
        done += bytesRead;
        reportProgress(onProgress, { done, total: v.size });
      }
    } finally {
      await fh.close();
    }
  }
}

/**
 * Reads exactly `size` bytes from `input` (after its header was read) onto the device.
 *
 * @param env - the call's environment
 * @param v - the (new) volume
 * @param input - the stream, positioned after the header
 * @param size - the payload size from the header
 * @param onProgress - progress reports
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when the stream ends early, carries more than its header announced, or the volume is too small
 * @see Proxmox `volume_import` (`raw+size`)
 */
async function importRaw(env: LinstorEnv, v: LinstorVolume, input: Readable, size: number, onProgress?: ProgressCallback): Promise<void> {
  if (size > v.size) {
    throw new StorageError('INVALID_ARGUMENT', `stream of ${size} bytes does not fit volume of ${v.size} bytes`, { details: { size, volumeSize: v.size } });
  }
  await withDevice(env, v, async (path) => {
    const fh = await open(path, 'r+');
    try {
      let done = 0;
      const sink = async (source: AsyncIterable<Buffer>): Promise<void> => {
        for await (const bytes of source) {
          if (env.ctx.signal?.aborted) throw new StorageError('ABORTED', 'import aborted');
          await fh.write(bytes, 0, bytes.length, done);
          done += bytes.length;
        }
      };
      await pipeline(input, exactLength(size, { onProgress }), sink);
      await fh.sync();
    } finally {
      await fh.close();
    }
  });
}

/**
 * Writes a volume (or one of its snapshots, restored into a volume of its own for the copy) as
 * `raw+size`, through the local DRBD device.
 *
 * @param env - the call's environment
 * @param request - the volume, the format (`raw+size` only), an optional snapshot, the output
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED` (other formats, snapshots in the stream), `NOT_FOUND`, `CORRUPT`
 * @see Proxmox `volume_export`
 */
export async function volumeExport(env: LinstorEnv, request: VolumeExportRequest): Promise<void> {
  if (request.format !== 'raw+size') notSupported(`export format ${request.format}`);
  if (request.baseSnapshot || request.withSnapshots) notSupported('exporting snapshots in the stream');
  const v = await requireVolume(env, request.volume);
  if (request.snapshot) await exportSnapshotRaw(env, v, request.snapshot, request.output, request.onProgress);
  else await exportRaw(env, v, request.output, request.onProgress);
}

/**
 * Makes a new volume from a `raw+size` stream: checks the name (a taken one is
 * `ALREADY_EXISTS`, or with `allowRename` the next free name), reads the header, creates the
 * volume marked unfinished (the name is reserved then), writes the bytes through the local
 * device, and marks it whole. On failure the definition is deleted, checked by uuid; a killed
 * import leaves a marked definition that no listing shows and `collectGarbage` removes.
 *
 * @param env - the call's environment
 * @param request - the import request (`raw+size` only)
 * @returns the volume's own name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_SUPPORTED`, `ALREADY_EXISTS`, `INVALID_ARGUMENT` (truncated stream, a linked clone's name), `NO_SPACE`
 * @see Proxmox `volume_import`
 */
export async function volumeImport(env: LinstorEnv, request: VolumeImportRequest): Promise<string> {
  if (request.format !== 'raw+size') notSupported(`import format ${request.format}`);
  if (request.snapshot || request.baseSnapshot || request.withSnapshots) notSupported('importing snapshots');
  if (request.volume.baseName) throw new StorageError('INVALID_ARGUMENT', `cannot import into a linked clone name '${request.volume.volname}'`);
  try {
    return await importVolume(env, request);
  } finally {
    written(env);
  }
}

async function importVolume(env: LinstorEnv, request: VolumeImportRequest): Promise<string> {
  let name = request.volume.name;
  if ((await loadAll(env)).some((o) => o.name === name)) {
    if (!request.allowRename) throw new StorageError('ALREADY_EXISTS', `volume '${name}' already exists`, { details: { name } });
    name = await findFreeDiskname(env, { vmid: request.volume.vmid as number, base: request.volume.isBase });
  }
  const size = await readSizeHeader(request.input, env.ctx.signal ?? undefined);
  const made = await createUnfinished(env, { name, vmid: request.volume.vmid as number, size: Math.max(size, 1) });
  await undoOnFailure(env, made, async () => {
    const v = (await loadAll(env)).find((o) => o.rd === made.rd);
    if (!v) throw new StorageError('NOT_FOUND', `new volume ${made.rd} is not listed`);
    await importRaw(env, v, request.input, size, request.onProgress);
    await markWhole(env, made);
  });
  return name;
}

