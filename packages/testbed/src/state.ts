/**
 * The state file of a running guest, and the check that its QEMU is still the one we started.
 *
 * @module
 */
import { readFile, rm, writeFile, rename } from 'node:fs/promises';
import { instancePaths } from './paths.js';
import { isAlive, processArgv } from './proc.js';

/** What `up` records about a running guest (`state.json` in the instance directory). */
export interface TestbedState {
  /** QEMU's pid. */
  readonly pid: number;
  /** The host port on 127.0.0.1 forwarded to the guest's ssh. */
  readonly sshPort: number;
  /** The instance directory. */
  readonly dir: string;
  /** The image directory the guest booted from. */
  readonly imageDir: string;
  /** The testbed's private ssh key. */
  readonly identityFile: string;
  /** The ssh ControlMaster socket. */
  readonly controlPath: string;
  /** When QEMU was started (ISO 8601). */
  readonly startedAt: string;
  /** Seconds from starting QEMU to the first successful ssh command. */
  readonly bootSeconds: number;
  /**
   * Who brought the guest up for a limited time (`test:real`), with that process's pid: a later
   * run finding the owner gone (killed half-way) takes the guest over and stops it at its end.
   * Absent for a guest started by hand, which is never stopped automatically.
   */
  readonly owner?: { readonly label: string; readonly pid: number };
}

/**
 * Reads the state file of an instance.
 *
 * @param dir - the instance directory
 * @returns the state, or `undefined` when there is none (or it is unreadable)
 */
export async function readState(dir: string): Promise<TestbedState | undefined> {
  try {
    return JSON.parse(await readFile(instancePaths(dir).state, 'utf8')) as TestbedState;
  } catch {
    return undefined;
  }
}

/**
 * Writes the state file atomically.
 *
 * @param state - the state
 */
export async function writeState(state: TestbedState): Promise<void> {
  const path = instancePaths(state.dir).state;
  await writeFile(`${path}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  await rename(`${path}.tmp`, path);
}

/**
 * Removes the state file.
 *
 * @param dir - the instance directory
 */
export async function removeState(dir: string): Promise<void> {
  await rm(instancePaths(dir).state, { force: true });
}

/**
 * Whether `pid` is a live QEMU started for the instance in `dir`: alive, a `qemu-system-*`
 * program, and holding that instance's pid file on its command line. A pid reused by some
 * other process after QEMU died is therefore never taken for ours.
 *
 * @param pid - the pid from the state or pid file
 * @param dir - the instance directory
 * @returns true when it is our QEMU
 */
export async function isOurQemu(pid: number, dir: string): Promise<boolean> {
  if (!(await isAlive(pid))) return false;
  const argv = await processArgv(pid);
  if (!argv || !/qemu-system-/.test(argv[0] ?? '')) return false;
  return argv.includes(instancePaths(dir).pid);
}
