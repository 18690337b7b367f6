/**
 * Runs a Node program with a module hook that records every module it loads (ES modules and
 * CommonJS alike), to check what a start-up imports without timing anything.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const HOOK = `
import { getCompileCacheDir, registerHooks } from 'node:module';
import { writeFileSync } from 'node:fs';
const seen = [];
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
process.on('exit', () => writeFileSync(process.env.STOWAGE_TEST_LOADS, JSON.stringify({ urls: seen, compileCacheDir: getCompileCacheDir() ?? null })));
`;

/** What a run loaded, and how it ended. */
export interface LoadedRun {
  /** URLs of every module loaded, in order. */
  readonly urls: readonly string[];
  /** Package names of the modules loaded (`@stowage/core`, `zod`, ...), each once; `node:` builtins left out. */
  readonly packages: ReadonlySet<string>;
  /** Where Node's module compile cache was at the end, if the program enabled one. */
  readonly compileCacheDir: string | undefined;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * The package a module URL belongs to: a dependency in pnpm's store by its name, a workspace
 * package (`packages/<dir>/`) as `@stowage/<dir>`.
 */
export function packageOfUrl(url: string): string | undefined {
  if (url.startsWith('node:')) return undefined;
  const dep = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\/(?!.*\/node_modules\/)/.exec(url);
  if (dep) return dep[1];
  const ws = /\/packages\/([^/]+)\//.exec(url);
  return ws ? `@stowage/${ws[1]}` : url;
}

/**
 * Runs `node <args>` with the recording hook.
 *
 * @param args - Node's arguments (a script and its arguments, or `-e ...`)
 * @param options - working directory and extra environment
 */
export async function runRecordingLoads(args: readonly string[], options: { cwd?: string; env?: Record<string, string | undefined> } = {}): Promise<LoadedRun> {
  const dir = mkdtempSync(join(tmpdir(), 'stowage-loads-'));
  const file = join(dir, 'loads');
  try {
    const hook = `data:text/javascript,${encodeURIComponent(HOOK)}`;
    const child = spawn(process.execPath, ['--import', hook, ...args], {
      cwd: options.cwd,
      env: { ...process.env, STOWAGE_CONFIG: undefined, STOWAGE_PLUGINS: undefined, ...options.env, STOWAGE_TEST_LOADS: file } as NodeJS.ProcessEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
    child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    const seen = JSON.parse(readFileSync(file, 'utf8')) as { urls: string[]; compileCacheDir: string | null };
    const packages = new Set(seen.urls.map(packageOfUrl).filter((p): p is string => p !== undefined));
    return { urls: seen.urls, packages, compileCacheDir: seen.compileCacheDir ?? undefined, code, stdout, stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
