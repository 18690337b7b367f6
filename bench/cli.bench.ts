/**
 * Start-up of the `stowage` command, against a bare `node -e 0` measured in the same run (runs
 * interleaved, so that the machine's load falls on all alike):
 *
 * 1. `stowage --help` (no core, no plugin);
 * 2. `stowage status` on a storage.cfg with one dir storage;
 * 3. `stowage list` over 1,000 qcow2 images (plain, bases and linked clones);
 * 4. importing `@stowage/core` alone, with and without Node's module compile cache.
 *
 * The command turns on the compile cache itself (in a directory of this run, through
 * `NODE_COMPILE_CACHE`), and keeps a memo of the storage configs it validated (in this run's
 * `XDG_CACHE_HOME`); the warm-up runs fill both, as a script's first call would. `list` is also
 * measured with the memo off (`STOWAGE_CONFIG_MEMO=0`): what a run that validates costs.
 * Targets (issue 15): help within x1.5 of bare Node, list within x2.5, the core import under
 * 100 ms over bare Node.
 */
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { iterations, ms, now, printFooter, printTable, ratio, summarize, withTempDir, type Stats } from './lib.ts';
import { makeImageSet } from './workers/dir-images.ts';

const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const CORE = pathToFileURL(fileURLToPath(new URL('../packages/core/dist/index.js', import.meta.url))).href;

interface Case {
  readonly name: string;
  readonly argv: readonly string[];
  readonly env?: Readonly<Record<string, string>>;
  /** The number of lines standard output must have, as a check that the run did its work. */
  readonly lines?: number;
}

/** Runs one process to its end; returns its wall time (ms). Fails on a non-zero exit or a wrong output. */
function timeRun(c: Case, env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = now();
    const child = spawn(process.execPath, [...c.argv], { env: { ...env, ...c.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      const took = now() - t0;
      if (code !== 0) return reject(new Error(`${c.name} exited ${code}: ${err}`));
      const lines = out.split('\n').filter((l) => l !== '').length;
      if (c.lines !== undefined && lines !== c.lines) return reject(new Error(`${c.name} printed ${lines} lines, not ${c.lines}`));
      resolve(took);
    });
  });
}

await withTempDir('cli', async (dir) => {
  const root = join(dir, 'local');
  const set = await makeImageSet(root, 50, 20);
  const config = join(dir, 'storage.cfg');
  await writeFile(config, `dir: local\n\tpath ${root}\n\tcontent images\n`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    STOWAGE_CONFIG: config,
    STOWAGE_LOCK_DIR: join(dir, 'locks'),
    NODE_COMPILE_CACHE: join(dir, 'compile-cache'),
    XDG_CACHE_HOME: join(dir, 'cache'),
    STOWAGE_PLUGINS: undefined,
  };
  delete env['STOWAGE_PLUGINS'];
  delete env['NODE_DISABLE_COMPILE_CACHE'];
  console.log(`storage.cfg with one dir storage holding ${set.images} qcow2 images (${set.plain} plain, ${set.bases} bases, ${set.clones} linked clones)`);

  const bare: Case = { name: 'node -e 0', argv: ['-e', '0'] };
  const cases: Case[] = [
    bare,
    { name: 'stowage --help', argv: [BIN, '--help'] },
    { name: 'stowage status (one dir storage)', argv: [BIN, 'status'], lines: 2 },
    { name: `stowage list (${set.images} qcow2)`, argv: [BIN, 'list', 'local'], lines: set.images + 1 },
    { name: `stowage list (${set.images} qcow2, memo off: validates)`, argv: [BIN, 'list', 'local'], lines: set.images + 1, env: { STOWAGE_CONFIG_MEMO: '0' } },
    { name: 'import @stowage/core', argv: ['--input-type=module', '-e', `await import(${JSON.stringify(CORE)})`], env: { NODE_DISABLE_COMPILE_CACHE: '1' } },
    {
      name: 'import @stowage/core (compile cache)',
      argv: ['--input-type=module', '-e', `(await import('node:module')).enableCompileCache(); await import(${JSON.stringify(CORE)})`],
    },
  ];
  const targets: Record<string, string> = {
    'stowage --help': 'x1.5',
    [`stowage list (${set.images} qcow2)`]: 'x2.5',
    'import @stowage/core': '< +100 ms',
    'import @stowage/core (compile cache)': '< +100 ms',
  };

  const warmup = 3;
  const runs = iterations(21, 5);
  const samples = new Map<string, number[]>(cases.map((c) => [c.name, []]));
  for (let i = 0; i < warmup + runs; i++) {
    for (const c of cases) {
      const took = await timeRun(c, env);
      if (i >= warmup) samples.get(c.name)!.push(took);
    }
  }
  const stats = new Map<string, Stats>([...samples].map(([k, v]) => [k, summarize(v)]));
  const base = stats.get(bare.name)!;
  printTable(
    `start-up, ${runs} interleaved runs of each after ${warmup} warm-up (wall time of the whole process)`,
    ['measurement', 'p50 ms', 'mean ms', 'min ms', 'p50 over bare ms', 'vs bare p50', 'target'],
    cases.map((c) => {
      const s = stats.get(c.name)!;
      return [c.name, s.p50, s.mean, s.min, c === bare ? '-' : ms(s.p50 - base.p50), c === bare ? '-' : ratio(s.p50, base.p50), targets[c.name] ?? '-'];
    }),
  );
});
printFooter('cli.bench');
