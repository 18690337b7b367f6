/**
 * What every operation of the `dir` plugin works with: the call's context, the storage layout,
 * the resolved storage root, and a way to run tools that classifies their failures.
 *
 * @module
 */
import { createDirs, type CommandResult, type PluginContext, type RunOptions } from '@stowage/core/plugin';
import { StorageError, type ParsedVolume } from '@stowage/core';
import { dirname } from 'node:path';
import { mountPointOf, type DirConfig } from './config.js';
import { toolFailures } from './errors.js';
import type { ListScope } from './list.js';
import { asyncFs, syncFs, type FsOps } from './fs-ops.js';
import { confine, DirLayout, realRoot } from './paths.js';

/** The per-call environment of the plugin's operations. */
export interface DirEnv extends ListScope {
  /** The call's context. */
  readonly ctx: PluginContext<DirConfig>;
}

const layouts = new WeakMap<object, DirLayout>();

/**
 * Makes the environment of one call: the layout (kept per config object), the storage root
 * resolved once per operation (through the operation cache), and the filesystem calls of the hot
 * paths ({@link dirFsOps}).
 *
 * @param ctx - the call's context
 * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE` when the storage path does not exist
 */
export async function dirEnv(ctx: PluginContext<DirConfig>): Promise<DirEnv> {
  let layout = layouts.get(ctx.config);
  if (!layout) {
    layout = new DirLayout(ctx.config);
    layouts.set(ctx.config, layout);
  }
  const fs = dirFsOps(ctx);
  const rootReal = await ctx.cache.get(`dir:root:${layout.root}`, () => realRoot(layout.root, fs));
  return { ctx, storeId: ctx.storeId, layout, rootReal, log: ctx.log, fs };
}

/**
 * The filesystem calls of one operation: the lookups synchronous for a local directory, through
 * the thread pool for a shared storage or an external mount point (`shared`, `is_mountpoint`),
 * where a hung server must not stall the event loop; making and removing directories through
 * `ctx.fs`, like every other change the plugin makes to the storage.
 *
 * @param ctx - the call's context
 */
export function dirFsOps(ctx: PluginContext<DirConfig>): FsOps {
  const lookups = ctx.config.shared || mountPointOf(ctx.config) !== undefined ? asyncFs : syncFs;
  return { ...lookups, mkdirs: (p, mode) => createDirs(p, { mode, ops: ctx.fs }), rmdir: (p) => ctx.fs.rmdir(p) };
}

/**
 * The path of a volume, checked to stay inside the storage with symlinks followed.
 *
 * @param env - the call's environment
 * @param volume - the parsed volume
 * @returns the path as laid out (not symlink-resolved), safe to use
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the name or a symlink leads outside
 */
export async function volumePath(env: DirEnv, volume: ParsedVolume): Promise<string> {
  const path = env.layout.volumePath(volume);
  // a disk inside an OVA is named by a path below the archive: when the archive is a file (not
  // an unpacked directory), the archive is what must stay inside
  const ovaMember = typeof volume.format === 'string' && volume.format.startsWith('ova+');
  if (ovaMember) {
    const archive = await confine(env.rootReal, dirname(path), volume.volname, env.fs);
    if (!(await env.fs.stat(archive).then((st) => st.isDirectory(), () => false))) return path;
  }
  await confine(env.rootReal, path, volume.volname, env.fs);
  return path;
}

/**
 * The path of a volume's directory entry: its directory is checked to stay inside the storage
 * (symlinks followed), the entry itself is not followed. For what concerns the entry and not
 * what it points to: removing it, its attribute files next to it.
 *
 * @param env - the call's environment
 * @param volume - the parsed volume
 * @returns the path as laid out
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the name or its directory leads outside
 */
export async function entryPath(env: DirEnv, volume: ParsedVolume): Promise<string> {
  const path = env.layout.volumePath(volume);
  await confine(env.rootReal, dirname(path), volume.volname, env.fs);
  return path;
}

/**
 * Runs a tool through the context's runner. A failure with a telling standard error gets the
 * code {@link toolFailures} gives it (`NO_SPACE`, `BUSY`, `INVALID_ARGUMENT`); others stay
 * `COMMAND_FAILED` (or `TIMEOUT`/`ABORTED` from the runner).
 *
 * @param env - the call's environment
 * @param argv - the command
 * @param options - runner options
 * @throws {@link @stowage/core!index.StorageError | StorageError} `COMMAND_FAILED`, `NO_SPACE`, `BUSY` or `INVALID_ARGUMENT` (a
 *   `CommandError`), `TIMEOUT`, `ABORTED`
 */
export async function runTool(env: DirEnv, argv: readonly string[], options?: RunOptions): Promise<CommandResult> {
  try {
    return await env.ctx.run(argv, options);
  } catch (e) {
    throw toolFailures.classify(e);
  }
}

/**
 * Throws `INVALID_ARGUMENT` unless the volume is a disk image.
 *
 * @param volume - the parsed volume
 * @param what - the operation, for the message
 */
export function assertImage(volume: ParsedVolume, what: string): asserts volume is ParsedVolume & { vmid: number } {
  if (volume.vtype !== 'images' || volume.vmid === undefined) {
    throw new StorageError('INVALID_ARGUMENT', `${what} needs a disk image, '${volume.volname}' is ${volume.vtype}`, {
      details: { volname: volume.volname, vtype: volume.vtype },
    });
  }
}
