/**
 * A temporary directory with a storage.cfg holding two directory storages, for running the
 * binary against.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { runProgram, runStowage, type CliResult, type RunOptions } from './run-cli.js';

export interface Sandbox {
  dir: string;
  config: string;
  env: Record<string, string>;
  /** Runs the binary with this sandbox's config, lock dir and working directory. */
  run(args: readonly string[], options?: RunOptions): Promise<CliResult>;
  /** Runs and expects exit 0; returns stdout. */
  ok(args: readonly string[], options?: RunOptions): Promise<string>;
  /** Runs with --json and expects exit 0; returns the parsed output. */
  json<T = unknown>(args: readonly string[], options?: RunOptions): Promise<T>;
  /** Runs a real tool. */
  tool(program: string, args: readonly string[]): Promise<CliResult>;
  remove(): void;
}

export function makeSandbox(prefix: string): Sandbox {
  const dir = mkdtempSync(join(tmpdir(), `stowage-cli-${prefix}-`));
  mkdirSync(join(dir, 'locks'));
  const config = join(dir, 'storage.cfg');
  // the command's config memo in the sandbox too, not in the user's ~/.cache
  const env = { STOWAGE_CONFIG: config, STOWAGE_LOCK_DIR: join(dir, 'locks'), XDG_CACHE_HOME: join(dir, 'cache') };
  const run = (args: readonly string[], options: RunOptions = {}) => runStowage(args, { cwd: dir, ...options, env: { ...env, ...options.env } });
  const ok = async (args: readonly string[], options?: RunOptions) => {
    const r = await run(args, options);
    expect(r.code, `stowage ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  return {
    dir,
    config,
    env,
    run,
    ok,
    json: async <T>(args: readonly string[], options?: RunOptions) => JSON.parse(await ok([...args, '--json'], options)) as T,
    tool: (program, args) => runProgram(program, args, { cwd: dir }),
    remove: () => {
      // Templates on directory storage are immutable (chattr +i); a failed test may leave one.
      spawnSync('chattr', ['-R', '-i', dir], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Adds two directory storages, `local` and `other`. */
export async function addDirStorages(s: Sandbox): Promise<void> {
  await s.ok(['storage', 'add', 'dir', 'local', '--path', join(s.dir, 'local'), '--content', 'images']);
  await s.ok(['storage', 'add', 'dir', 'other', '--path', join(s.dir, 'other'), '--content', 'images,iso']);
}
