/**
 * Runs the benchmarks: every `bench/*.bench.ts`, or those named on the command line
 * (`pnpm bench lock` or `pnpm bench lock.bench.ts`). Each runs in its own Node process (so its
 * peak memory is its own) and prints its tables. Exits non-zero if any bench failed.
 */
import { spawn } from 'node:child_process';
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = dirname(here);

const all = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).sort();
const wanted = process.argv.slice(2).map((a) => a.replace(/^bench\//, '').replace(/(\.bench)?(\.ts)?$/, '.bench.ts'));
const unknown = wanted.filter((w) => !all.includes(w));
if (unknown.length > 0) {
  console.error(`no such bench: ${unknown.join(', ')} (have: ${all.join(', ')})`);
  process.exit(2);
}
const chosen = wanted.length > 0 ? wanted : all;

let failed = 0;
for (const file of chosen) {
  console.log(`\n=== ${file} ===`);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, file)], { cwd: root, stdio: 'inherit' });
    child.once('exit', (c, signal) => resolve(signal ? 1 : c));
  });
  if (code !== 0) {
    failed++;
    console.error(`${file} failed (exit ${code})`);
  }
}
process.exit(failed > 0 ? 1 : 0);
