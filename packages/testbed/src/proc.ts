/**
 * Small process helpers for the host side of the testbed: run a program to its end, and look at
 * a pid without trusting it blindly.
 *
 * @module
 */
import { spawn } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';

/** Options of {@link runProgram}. */
export interface RunProgramOptions {
  /** Text written to standard input (stdin is empty otherwise). */
  readonly input?: string;
  /** Kill the program (SIGKILL) after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Copy the program's standard error to ours as it arrives (it is captured as well). */
  readonly echoStderr?: boolean;
  /** Working directory. */
  readonly cwd?: string;
}

/** How a program ended. */
export interface ProgramResult {
  /** Exit code, or `null` when it was ended by a signal. */
  readonly code: number | null;
  /** The signal that ended it, if any. */
  readonly signal: NodeJS.Signals | null;
  /** Captured standard output. */
  readonly stdout: string;
  /** Captured standard error. */
  readonly stderr: string;
  /** Whether {@link RunProgramOptions.timeoutMs} expired. */
  readonly timedOut: boolean;
}

/**
 * Runs a program with an argv array (never through a shell) and resolves when it has ended.
 * Does not reject on a non-zero exit: callers look at {@link ProgramResult.code}.
 *
 * @param file - the program
 * @param args - its arguments
 * @param options - input, timeout, stderr echo
 * @returns how it ended and what it printed
 * @throws Error when the program cannot be started (for example, not installed)
 */
export function runProgram(file: string, args: readonly string[], options: RunProgramOptions = {}): Promise<ProgramResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
      cwd: options.cwd,
      env: { ...process.env, LC_ALL: 'C' },
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      if (options.echoStderr) process.stderr.write(chunk);
    });
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            child.kill('SIGKILL');
          }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, timedOut });
    });
    if (options.input !== undefined && child.stdin) {
      child.stdin.on('error', () => undefined);
      child.stdin.end(options.input);
    }
  });
}

/**
 * Whether a process with this pid exists (a zombie counts as gone).
 *
 * @param pid - the process id
 * @returns true while it runs
 */
export async function isAlive(pid: number): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The state letter follows the parenthesised command name.
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * The argv of a running process, from `/proc/<pid>/cmdline`.
 *
 * @param pid - the process id
 * @returns its arguments, or `undefined` when no such process exists
 */
export async function processArgv(pid: number): Promise<string[] | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((part, index, all) => index < all.length - 1 || part !== '');
  } catch {
    return undefined;
  }
}

/**
 * Waits until a process has ended.
 *
 * @param pid - the process id
 * @param timeoutMs - how long to wait
 * @returns true if it ended within the time
 */
export async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (await isAlive(pid)) {
    if (Date.now() >= deadline) return false;
    await sleep(100);
  }
  return true;
}

/**
 * Resolves after a while.
 *
 * @param ms - milliseconds
 * @returns nothing
 */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * The live processes whose command line contains `text` (for example a unique socket path that
 * an ssh master puts in its title), other than this process.
 *
 * @param text - the text to look for
 * @returns their pids
 */
export async function processesMentioning(text: string): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    const argv = await processArgv(pid);
    if (argv?.some((part) => part.includes(text)) && (await isAlive(pid))) pids.push(pid);
  }
  return pids;
}
