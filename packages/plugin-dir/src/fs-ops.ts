/**
 * The metadata calls of the hot paths (path checks, guest directories, image headers) behind one
 * interface, in two flavours: through the libuv thread pool, or as synchronous system calls
 * wrapped in settled promises. In an operation, its calls that change the storage (making and
 * removing directories) go through the context's `ctx.fs` instead (see `dirFsOps` in exec.ts). On a local directory each such call takes microseconds, and the
 * thread-pool round trip costs several times that; on a network filesystem a call may hang, and
 * must not stall the event loop.
 *
 * @module
 */
import { lstatSync, mkdirSync, readdirSync, realpathSync, rmdirSync, statSync, type Dirent, type Stats } from 'node:fs';
import { lstat, readdir, realpath, rmdir, stat } from 'node:fs/promises';
import { createDirs } from '@stowage/core/plugin';
import { HEAD_BYTES, probeImage, probeImageSync, type ImageProbe, type ProbeFormat } from './formats/probe.js';

/** The filesystem calls the plugin's hot paths make. */
export interface FsOps {
  /** `synchronous` or `thread pool`, for messages. */
  readonly kind: 'sync' | 'async';
  /** `lstat(2)`. */
  lstat(path: string): Promise<Stats>;
  /** `stat(2)`. */
  stat(path: string): Promise<Stats>;
  /** `realpath(3)`. */
  realpath(path: string): Promise<string>;
  /** `mkdir -p` that stops at the first error (the core's `createDirs`); resolves to the directories it made, outermost first. */
  mkdirs(path: string, mode: number): Promise<string[]>;
  /** `rmdir(2)`: removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** Directory entries with their types. */
  readdir(path: string): Promise<Dirent[]>;
  /** Reads an image header ({@link probeImage}); never blocks on a non-regular file. */
  probe(path: string, format: ProbeFormat, scratch?: Buffer): Promise<ImageProbe | undefined>;
}

function settle<T>(fn: () => T): Promise<T> {
  try {
    return Promise.resolve(fn());
  } catch (e) {
    return Promise.reject(e as Error);
  }
}

/** Every call through the thread pool. */
export const asyncFs: FsOps = {
  kind: 'async',
  lstat: (p) => lstat(p),
  stat: (p) => stat(p),
  realpath: (p) => realpath(p),
  mkdirs: (p, mode) => createDirs(p, { mode }),
  rmdir: (p) => rmdir(p),
  readdir: (p) => readdir(p, { withFileTypes: true }),
  probe: (p, format, scratch) => probeImage(p, format, scratch),
};

/** Every call synchronous, wrapped in a settled promise. */
export const syncFs: FsOps = {
  kind: 'sync',
  lstat: (p) => settle(() => lstatSync(p)),
  stat: (p) => settle(() => statSync(p)),
  realpath: (p) => settle(() => realpathSync(p)),
  mkdirs: (p, mode) =>
    createDirs(p, {
      mode,
      ops: {
        stat: (d) => settle(() => statSync(d)),
        mkdir: (d, m) => settle(() => mkdirSync(d, { mode: m })),
        rmdir: (d) => settle(() => rmdirSync(d)),
      },
    }),
  rmdir: (p) => settle(() => rmdirSync(p)),
  readdir: (p) => settle(() => readdirSync(p, { withFileTypes: true })),
  probe: (p, format, scratch) => settle(() => probeImageSync(p, format, scratch ?? Buffer.allocUnsafe(HEAD_BYTES))),
};
