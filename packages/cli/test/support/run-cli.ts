/**
 * Runs the built `stowage` binary (packages/cli/dist/bin.js) as a child process.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: Buffer | string;
  /** A file descriptor to give the program as standard output (e.g. of /dev/full); then `stdout` is ''. */
  stdoutFd?: number;
  /** A safety limit for a run that may hang: its process group is killed (SIGKILL) and `code` is then 137. */
  killAfterMs?: number;
}

export function assertBuilt(): void {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run 'npx tsc -b' before these tests`);
}

export function runStowage(args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return runProgram(process.execPath, [BIN, ...args], options);
}

export function runProgram(program: string, args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, {
      cwd: options.cwd,
      env: { ...process.env, STOWAGE_CONFIG: undefined, STOWAGE_PLUGINS: undefined, ...options.env } as NodeJS.ProcessEnv,
      stdio: ['pipe', options.stdoutFd ?? 'pipe', 'pipe'],
      detached: options.killAfterMs !== undefined,
    });
    const limit = options.killAfterMs === undefined ? undefined : setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), options.killAfterMs);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(limit);
      resolve({ code: code ?? (signal === 'SIGKILL' ? 137 : signal ? 128 : -1), stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.end(options.input ?? '');
  });
}

/** Parses the `--json` error line a failing command writes to stderr. */
export function jsonError(stderr: string): { code: string; message: string; details: Record<string, unknown> } {
  const line = stderr.trim().split('\n').at(-1) ?? '';
  return (JSON.parse(line) as { error: { code: string; message: string; details: Record<string, unknown> } }).error;
}
