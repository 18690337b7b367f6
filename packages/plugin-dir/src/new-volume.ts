/**
 * A volume being made: its name reserved by a temporary in the guest directory (so that the
 * lock can go back while data flows), published under the final name when whole, or removed by
 * identity when anything fails.
 *
 * @module
 */
import { dirname, join } from 'node:path';
import type { DirEnv } from './exec.js';
import { inMadeDir, removeDirIfEmpty, removeMadeDirs, type MadeDirs } from './fs-util.js';
import { confine } from './paths.js';
import { assertNameFree } from './reserve.js';
import { makeTemp, ownerToken, publishTemp, removeOwnTemp, type OwnTemp } from './temp-file.js';

/** A volume being made, from {@link reserveVolume}. */
export interface NewVolume {
  /** The volume name it will have. */
  readonly volname: string;
  /** Its final path. */
  readonly path: string;
  /** The temporary the data goes to. */
  readonly temp: OwnTemp;
  /** The directories made for it. */
  readonly made: MadeDirs;
}

/**
 * Reserves a new image: checks the path stays inside the storage, makes the guest directory,
 * checks the name is neither held nor reserved, creates the temporary (`O_EXCL`), and tells the
 * manager the name is reserved (`ctx.nameReserved()`), which gives back the storage lock.
 *
 * @param env - the call's environment
 * @param vmid - the owner
 * @param name - the file name
 * @param volname - the volume name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID`, `ALREADY_EXISTS`, or mapped filesystem errors
 */
export async function reserveVolume(env: DirEnv, vmid: number, name: string, volname: string): Promise<NewVolume> {
  const dir = env.layout.imageDir(vmid);
  const path = join(dir, name);
  await confine(env.rootReal, path, volname, env.fs);
  const { value: temp, made } = await inMadeDir(dir, env.fs, async (fresh) => {
    // directories made just now: check again that nothing swapped a symlink in on the way
    if (fresh) await confine(env.rootReal, path, volname, env.fs);
    await assertNameFree(env, dir, name, volname);
    return makeTemp(env.ctx.fs, path, 'new', ownerToken(env.ctx.node));
  });
  env.ctx.nameReserved();
  return { volname, path, temp, made };
}

/**
 * Publishes a finished volume under its final name (see `publishTemp`): not when the
 * operation's signal was aborted, never over an existing file.
 *
 * @param env - the call's environment
 * @param volume - what {@link reserveVolume} returned
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED`, `NOT_FOUND` (the temporary vanished), `ALREADY_EXISTS`
 */
export async function publishVolume(env: DirEnv, volume: NewVolume): Promise<void> {
  await publishTemp(env.ctx.fs, volume.temp, volume.path, volume.volname, { signal: env.ctx.signal, log: env.log });
}

/**
 * Removes what {@link reserveVolume} made: the temporary (if it is still the same file), the
 * directories made for it, and the guest directory when it is left empty. Never throws.
 *
 * @param env - the call's environment
 * @param volume - what {@link reserveVolume} returned
 */
export async function undoNewVolume(env: DirEnv, volume: NewVolume): Promise<void> {
  await removeOwnTemp(env.ctx.fs, volume.temp, env.log);
  await removeMadeDirs(volume.made, env.fs);
  await removeDirIfEmpty(dirname(volume.path), env.fs);
}
