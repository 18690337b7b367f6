/**
 * Where the testbed keeps its images, downloads and the state of a running guest.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The directory with the guest recipe: the build script, `/init`, package lists, pool script. */
export const GUEST_DIR = fileURLToPath(new URL('../guest/', import.meta.url));

/**
 * The testbed's cache root: `$STOWAGE_TESTBED_CACHE`, else `$XDG_CACHE_HOME/stowage/testbed`,
 * else `~/.cache/stowage/testbed`.
 *
 * @param env - the environment to read (default `process.env`)
 * @returns an absolute directory path (not created here)
 */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.STOWAGE_TESTBED_CACHE) return env.STOWAGE_TESTBED_CACHE;
  const xdg = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(homedir(), '.cache');
  return join(xdg, 'stowage', 'testbed');
}

/**
 * The directory of one guest instance (state file, pid file, console log, disks, ssh socket):
 * `$STOWAGE_TESTBED_DIR`, else `<cacheRoot>/instances/default`.
 *
 * @param env - the environment to read (default `process.env`)
 * @returns an absolute directory path (not created here)
 */
export function defaultInstanceDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.STOWAGE_TESTBED_DIR ?? join(cacheRoot(env), 'instances', 'default');
}

/** The files of one guest instance, all inside its directory. */
export interface InstancePaths {
  /** The instance directory. */
  readonly dir: string;
  /** JSON state of the running guest ({@link TestbedState}). */
  readonly state: string;
  /** QEMU's pid file. */
  readonly pid: string;
  /** The guest's serial console. */
  readonly console: string;
  /** Copy-on-write overlay over the cached root image, thrown away at `down`. */
  readonly rootOverlay: string;
  /** Sparse data disk for the LVM volume group. */
  readonly lvmDisk: string;
  /** Sparse data disk for the zpool. */
  readonly zfsDisk: string;
  /** Held while `up` or `down` runs, so two of them never race. */
  readonly lock: string;
  /** The ssh ControlMaster socket (kept short: unix socket paths are limited to ~100 bytes). */
  readonly controlPath: string;
}

/**
 * The files of the instance in `dir`.
 *
 * @param dir - the instance directory
 * @returns its paths
 */
export function instancePaths(dir: string): InstancePaths {
  const inDir = join(dir, 'ssh.sock');
  const controlPath =
    Buffer.byteLength(inDir) < 100
      ? inDir
      : join(tmpdir(), `stowage-testbed-${createHash('sha256').update(dir).digest('hex').slice(0, 12)}.sock`);
  return {
    dir,
    state: join(dir, 'state.json'),
    pid: join(dir, 'qemu.pid'),
    console: join(dir, 'console.log'),
    rootOverlay: join(dir, 'root.qcow2'),
    lvmDisk: join(dir, 'disk-lvm.img'),
    zfsDisk: join(dir, 'disk-zfs.img'),
    lock: join(dir, 'lock'),
    controlPath,
  };
}
