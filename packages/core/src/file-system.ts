/**
 * The file-system calls a plugin makes on its storage, behind one interface on the plugin
 * context (`ctx.fs`), so that a test can fail any one of them on purpose, as it fails commands.
 *
 * @module
 */
import { chmod, link, lstat, mkdir, open, readdir, rename, rmdir, stat, truncate, unlink, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';

/**
 * The file-system calls of a plugin that works on files, as `node:fs/promises` makes them:
 * those that change the storage, and the few lookups that go with them. A plugin that works on
 * a local directory makes its changes through `ctx.fs`, so that the conformance kit's fault cases
 * can fail each of them (see `FaultInjectingRunner`); it may read through `node:fs` directly.
 * Errors are Node's (`code: 'ENOENT'`, ...): turn them into stable codes with `fsError`.
 *
 * @example
 * ```ts
 * await ctx.fs.mkdir(dir, 0o755);
 * const handle = await ctx.fs.open(join(dir, 'disk.raw'), 'wx', 0o640);
 * ```
 */
export interface FileSystem {
  /** `open(2)`: a file handle (`flags` as `node:fs`: `'r'`, `'wx'`, or `constants.O_*` bits). */
  open(path: string, flags: string | number, mode?: number): Promise<FileHandle>;
  /** `rename(2)`: replaces `to` if it exists. */
  rename(from: string, to: string): Promise<void>;
  /** `link(2)`: a second name; fails with `EEXIST` when `to` exists. */
  link(from: string, to: string): Promise<void>;
  /** `unlink(2)`. */
  unlink(path: string): Promise<void>;
  /** `mkdir(2)` of one directory (never recursive: see `createDirs` for that). */
  mkdir(path: string, mode?: number): Promise<void>;
  /** `rmdir(2)`: removes an empty directory. */
  rmdir(path: string): Promise<void>;
  /** `chmod(2)`. */
  chmod(path: string, mode: number): Promise<void>;
  /** `truncate(2)`: sets a file's length. */
  truncate(path: string, length: number): Promise<void>;
  /**
   * `fsync(2)` of a file or a directory, opened read-only: what was written to the file, or the
   * names made and removed in the directory, is on the disk when it resolves. A plugin flushes
   * a volume's data before the volume takes its final name, and the directory after, so that a
   * power cut leaves the volume as it was or whole, never named but half-written.
   */
  sync(path: string): Promise<void>;
  /** `stat(2)`, following a symbolic link. */
  stat(path: string): Promise<Stats>;
  /** `lstat(2)`, not following one. */
  lstat(path: string): Promise<Stats>;
  /** The names in a directory. */
  readdir(path: string): Promise<string[]>;
}

/** The calls of `node:fs/promises` on this machine: what `ctx.fs` is unless a test replaces it. */
export const localFileSystem: FileSystem = {
  open: (path, flags, mode) => open(path, flags, mode),
  rename,
  link,
  unlink,
  mkdir: async (path, mode) => {
    await mkdir(path, { mode });
  },
  rmdir: (path) => rmdir(path),
  chmod,
  truncate: (path, length) => truncate(path, length),
  sync: async (path) => {
    const handle = await open(path, 'r');
    try {
      await handle.sync();
    } finally {
      await handle.close();
    }
  },
  stat: (path) => stat(path),
  lstat: (path) => lstat(path),
  readdir: (path) => readdir(path),
};
