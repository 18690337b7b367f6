/**
 * Starting, stopping and inspecting the testbed guest. One guest per instance directory: `up`
 * on a running instance returns it, and `down` stops exactly the QEMU whose pid it recorded.
 *
 * @module
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { sshArgv } from '@stowage/core/plugin';
import { ensureImage, lastLines, type TestbedImage } from './build.js';
import { withPidLock } from './lock.js';
import { defaultInstanceDir, instancePaths, type InstancePaths } from './paths.js';
import { isAlive, processesMentioning, runProgram, sleep, waitForExit } from './proc.js';
import { qemuArgv } from './qemu.js';
import { probeSshArgv, testbedSshOptions } from './ssh.js';
import { isOurQemu, readState, removeState, writeState, type TestbedState } from './state.js';

/** Options of {@link up}. */
export interface UpOptions {
  /** The instance directory (default {@link defaultInstanceDir}). */
  readonly dir?: string;
  /** The image to boot (default: {@link ensureImage}, which builds it when missing). */
  readonly image?: TestbedImage;
  /** Give up when ssh does not answer within this time (default 300 000 ms). */
  readonly bootTimeoutMs?: number;
  /** Size of each sparse data disk in GiB (default 20). */
  readonly diskGiB?: number;
  /** Guest memory in MiB (default 2048). */
  readonly memoryMiB?: number;
  /** Guest CPUs (default 2). */
  readonly cpus?: number;
  /** Record this process as the guest's owner under this label (see {@link TestbedState.owner}). */
  readonly owner?: string;
}

/** What {@link up} did. */
export interface UpResult {
  /** The running guest. */
  readonly state: TestbedState;
  /** False when the guest was already up and was left as it was. */
  readonly started: boolean;
}

/**
 * Boots the guest (QEMU, software emulation) unless this instance already runs one, and waits
 * until ssh answers.
 *
 * @param options - instance directory, image, boot bound, sizes
 * @returns the guest's state and whether this call started it
 * @throws Error when QEMU is missing or fails to start, or when the guest does not answer on ssh
 *   within the bound (with the console's last lines); the QEMU it started is stopped then
 * @example
 * ```ts
 * const { state } = await up();
 * console.log(`ssh on 127.0.0.1:${state.sshPort}, booted in ${state.bootSeconds} s`);
 * ```
 */
export async function up(options: UpOptions = {}): Promise<UpResult> {
  const dir = options.dir ?? defaultInstanceDir();
  const paths = instancePaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return withPidLock(paths.lock, async () => {
    const existing = await readState(dir);
    if (existing && (await isOurQemu(existing.pid, dir))) return { state: existing, started: false };
    await stopAndClean(paths, existing);
    const image = options.image ?? (await ensureImage());
    await runProgram('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', join(image.dir, 'root.img'), '-F', 'raw', paths.rootOverlay]).then(
      (r) => {
        if (r.code !== 0) throw new Error(`testbed: qemu-img create failed: ${r.stderr.trim()}`);
      },
    );
    const diskBytes = (options.diskGiB ?? 20) * 1024 ** 3;
    for (const disk of [paths.lvmDisk, paths.zfsDisk]) {
      const handle = await open(disk, 'w');
      await handle.truncate(diskBytes);
      await handle.close();
    }
    const started = Date.now();
    const { pid, sshPort } = await startQemu(paths, image, options);
    const state: TestbedState = {
      pid,
      sshPort,
      dir,
      imageDir: image.dir,
      identityFile: join(image.dir, 'id_ed25519'),
      controlPath: paths.controlPath,
      startedAt: new Date(started).toISOString(),
      bootSeconds: 0,
      ...(options.owner !== undefined ? { owner: { label: options.owner, pid: process.pid } } : {}),
    };
    try {
      await waitForSsh(state, paths, options.bootTimeoutMs ?? 300_000);
    } catch (error) {
      await stopAndClean(paths, state);
      throw error;
    }
    const ready: TestbedState = { ...state, bootSeconds: Math.round((Date.now() - started) / 100) / 10 };
    await writeState(ready);
    return { state: ready, started: true };
  });
}

/** What {@link down} did. */
export interface DownResult {
  /** The pid of the QEMU that was stopped, if one was running. */
  readonly stoppedPid?: number;
}

/**
 * Stops the guest of an instance: closes the ssh master connection, sends QEMU (found by the
 * pid it recorded, checked to be our QEMU) SIGTERM and then, if needed, SIGKILL, waits for it
 * to exit, and removes the state, overlay and data disks. Does nothing when no guest runs.
 *
 * @param dir - the instance directory (default {@link defaultInstanceDir})
 * @returns which pid was stopped
 * @throws Error when the QEMU process does not exit even after SIGKILL
 */
export async function down(dir: string = defaultInstanceDir()): Promise<DownResult> {
  const paths = instancePaths(dir);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return withPidLock(paths.lock, async () => {
    const state = await readState(dir);
    const stoppedPid = await stopAndClean(paths, state);
    return stoppedPid === undefined ? {} : { stoppedPid };
  });
}

/**
 * Takes over a running guest whose owner (see {@link TestbedState.owner}) had this label and
 * is gone, recording this process as its owner.
 *
 * @param label - the owner label, e.g. `test:real`
 * @param dir - the instance directory (default {@link defaultInstanceDir})
 * @returns true when the guest was taken over (the caller should stop it when done)
 */
export async function adoptOrphan(label: string, dir: string = defaultInstanceDir()): Promise<boolean> {
  return withPidLock(instancePaths(dir).lock, async () => {
    const state = await readState(dir);
    if (!state || state.owner?.label !== label || (await isAlive(state.owner.pid))) return false;
    if (!(await isOurQemu(state.pid, dir))) return false;
    await writeState({ ...state, owner: { label, pid: process.pid } });
    return true;
  });
}

/** What {@link status} reports. */
export interface StatusResult {
  /** Whether the instance's QEMU is running. */
  readonly running: boolean;
  /** Its state when running. */
  readonly state?: TestbedState;
}

/**
 * Reports whether the guest of an instance is running.
 *
 * @param dir - the instance directory (default {@link defaultInstanceDir})
 * @returns running, and the state when it is
 */
export async function status(dir: string = defaultInstanceDir()): Promise<StatusResult> {
  const state = await readState(dir);
  if (state && (await isOurQemu(state.pid, dir))) return { running: true, state };
  return { running: false };
}

/** Starts QEMU on a free port (retrying when another process takes the port first). */
async function startQemu(paths: InstancePaths, image: TestbedImage, options: UpOptions): Promise<{ pid: number; sshPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const sshPort = await freePort();
    await rm(paths.pid, { force: true });
    const [program, ...args] = qemuArgv({
      kernel: join(image.dir, 'vmlinuz'),
      initrd: join(image.dir, 'initrd.img'),
      rootDisk: paths.rootOverlay,
      lvmDisk: paths.lvmDisk,
      zfsDisk: paths.zfsDisk,
      sshPort,
      pidFile: paths.pid,
      consoleLog: paths.console,
      ...(options.memoryMiB !== undefined ? { memoryMiB: options.memoryMiB } : {}),
      ...(options.cpus !== undefined ? { cpus: options.cpus } : {}),
    });
    let result;
    try {
      result = await runProgram(program!, args, { timeoutMs: 60_000 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new Error('testbed: qemu-system-x86_64 is not installed (apt-get install qemu-system-x86 qemu-utils)');
      }
      throw error;
    }
    if (result.code === 0) {
      const pid = Number((await readFile(paths.pid, 'utf8')).trim());
      return { pid, sshPort };
    }
    if (attempt < 3 && /host forwarding|Address already in use/i.test(result.stderr)) continue;
    throw new Error(`testbed: QEMU did not start (exit ${result.code ?? result.signal}): ${result.stderr.trim()}`);
  }
}

/** Polls ssh until a command runs in the guest, failing early when QEMU has exited. */
async function waitForSsh(state: TestbedState, paths: InstancePaths, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const probe = [...probeSshArgv(state), 'true'];
  for (;;) {
    if (!(await isOurQemu(state.pid, paths.dir))) {
      throw new Error(`testbed: the guest stopped while booting; console (${paths.console}) ends with:\n${await consoleTail(paths)}`);
    }
    const result = await runProgram(probe[0]!, probe.slice(1), { timeoutMs: 20_000 });
    if (result.code === 0) return;
    if (Date.now() >= deadline) {
      throw new Error(
        `testbed: no ssh answer from the guest within ${Math.round(timeoutMs / 1000)} s (last: ${result.stderr.trim() || `exit ${result.code}`}); console (${paths.console}) ends with:\n${await consoleTail(paths)}`,
      );
    }
    await sleep(1000);
  }
}

/** Stops whatever QEMU and ssh master this instance has and removes its run files. */
async function stopAndClean(paths: InstancePaths, state: TestbedState | undefined): Promise<number | undefined> {
  const candidates = new Set<number>();
  if (state) candidates.add(state.pid);
  const fromPidFile = Number((await readFile(paths.pid, 'utf8').catch(() => '')).trim());
  if (fromPidFile) candidates.add(fromPidFile);
  if (state) {
    const ssh = sshArgv(testbedSshOptions(state));
    await runProgram(ssh[0]!, [...ssh.slice(1, -2), '-O', 'exit', ...ssh.slice(-2)], { timeoutMs: 10_000 }).catch(() => undefined);
  }
  let stopped: number | undefined;
  for (const pid of candidates) {
    if (!(await isOurQemu(pid, paths.dir))) continue;
    process.kill(pid, 'SIGTERM');
    if (!(await waitForExit(pid, 10_000))) {
      process.kill(pid, 'SIGKILL');
      if (!(await waitForExit(pid, 10_000))) throw new Error(`testbed: QEMU pid ${pid} did not exit after SIGKILL`);
    }
    stopped = pid;
  }
  // A master connection whose guest vanished ends by itself; one that has not within a few
  // seconds is ours (its title names our socket) and is stopped by its pid.
  for (const pid of await processesMentioning(paths.controlPath)) {
    if (!(await waitForExit(pid, 5000))) {
      process.kill(pid, 'SIGTERM');
      await waitForExit(pid, 5000);
    }
  }
  await removeState(paths.dir);
  for (const file of [paths.pid, paths.rootOverlay, paths.lvmDisk, paths.zfsDisk, paths.controlPath]) {
    await rm(file, { force: true });
  }
  return stopped;
}

/** The last lines of the guest console. */
async function consoleTail(paths: InstancePaths): Promise<string> {
  return lastLines(await readFile(paths.console, 'utf8').catch(() => '(no console output)'), 25);
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('testbed: no free port');
  return address.port;
}
