/**
 * Whether the storage's filesystem is there: the mount point, and a bounded wait for a path to
 * answer (a hung network filesystem must not stall activation or status).
 *
 * @module
 */
import { readFile, realpath, stat } from 'node:fs/promises';

/** How long a filesystem may take to answer before the storage counts as unreachable (Proxmox: 2 s). */
export const REACH_TIMEOUT_MS = 2000;

/**
 * Waits for `p` at most `ms` milliseconds.
 *
 * @param p - the promise
 * @param ms - the limit
 * @returns what `p` gave, or `'timeout'`
 */
export function withTimeout<T>(p: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
    timer.unref();
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

/**
 * Decodes the octal escapes (`\040` for a space) of a `/proc/mounts` field.
 *
 * @param field - the field as written by the kernel
 */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/**
 * Tells whether a directory is a mount point, from `/proc/mounts`.
 *
 * @param mountPoint - the directory (symlinks are resolved)
 * @param mounts - the text of `/proc/mounts` (read when omitted)
 * @see Proxmox `PVE::Storage::DirPlugin::path_is_mounted`
 */
export async function isMounted(mountPoint: string, mounts?: string): Promise<boolean> {
  let real: string;
  try {
    real = await realpath(mountPoint);
  } catch {
    return false;
  }
  const text = mounts ?? (await readFile('/proc/mounts', 'utf8'));
  return text.split('\n').some((line) => {
    const field = line.split(' ')[1];
    return field !== undefined && unescapeMountField(field) === real;
  });
}

/**
 * Tells whether a path is a directory that answers within {@link REACH_TIMEOUT_MS}.
 *
 * @param path - the directory
 */
export async function reachableDir(path: string): Promise<boolean> {
  const r = await withTimeout(
    stat(path).then(
      (s) => s.isDirectory(),
      () => false,
    ),
    REACH_TIMEOUT_MS,
  );
  return r === true;
}

