/**
 * Storage lock cost: acquire + release of a local storage's lock (in-process FIFO queue +
 * proper-lockfile), uncontended, with 4 callers in one process, and with 4 OS processes
 * contending; each next to a bare proper-lockfile lock/unlock measured in the same run.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import lockfile from 'proper-lockfile';
import { StorageLocks } from '@stowage/core';
import { iterations, now, printFooter, printTable, ratio, runContenders, sample, STATS_HEADER, statsRow, summarize, withTempDir, type Stats } from './lib.ts';

const worker = fileURLToPath(new URL('./workers/lock-contend.ts', import.meta.url));
const bareRetries = { retries: 20, forever: true, minTimeout: 1, maxTimeout: 25, factor: 2, randomize: true };

async function uncontended(dir: string, n: number): Promise<{ ours: Stats; bare: Stats }> {
  const locks = new StorageLocks({ lockDir: join(dir, 'ours') });
  const ours = await sample(n, () => locks.withLock({ storeId: 'bench' }, async () => undefined));
  const file = join(dir, 'bare-uncontended');
  const bare = await sample(n, async () => {
    const release = await lockfile.lock(file, { realpath: false });
    await release();
  });
  return { ours: summarize(ours), bare: summarize(bare) };
}

/** `callers` concurrent loops in this process, `n` acquire+release each. */
async function inProcess(dir: string, callers: number, n: number, mode: 'ours' | 'bare'): Promise<{ stats: Stats; opsPerSec: number }> {
  const locks = new StorageLocks({ lockDir: join(dir, 'inproc-ours'), acquireTimeoutMs: 120_000 });
  const file = join(dir, 'inproc-bare');
  const samples: number[] = [];
  const t0 = now();
  await Promise.all(
    Array.from({ length: callers }, async () => {
      for (let i = 0; i < n; i++) {
        const s = now();
        if (mode === 'ours') await locks.withLock({ storeId: 'bench' }, async () => undefined);
        else await (await lockfile.lock(file, { realpath: false, retries: bareRetries }))();
        samples.push(now() - s);
      }
    }),
  );
  return { stats: summarize(samples), opsPerSec: (callers * n) / ((now() - t0) / 1000) };
}

/** `procs` OS processes, started together, `n` acquire+release each. */
function multiProcess(dir: string, procs: number, n: number, mode: 'stowage' | 'bare'): Promise<{ stats: Stats; opsPerSec: number }> {
  return runContenders(worker, [mode, dir, String(n)], procs);
}

await withTempDir('lock', async (dir) => {
  const n = iterations(2000);
  const { ours, bare } = await uncontended(dir, n);
  const m = iterations(200);
  const ip = await inProcess(dir, 4, m, 'ours');
  const ipBare = await inProcess(dir, 4, m, 'bare');
  const mp = await multiProcess(join(dir), 4, m, 'stowage');
  const mpBare = await multiProcess(join(dir), 4, m, 'bare');

  printTable('Storage lock, acquire + release (local storage, no work inside)', [...STATS_HEADER, 'ops/s'], [
    [...statsRow('stowage, uncontended', ours), '-'],
    [...statsRow('bare proper-lockfile, uncontended', bare), '-'],
    [...statsRow('stowage, 4 callers in 1 process', ip.stats), ip.opsPerSec.toFixed(0)],
    [...statsRow('bare proper-lockfile, 4 callers in 1 process', ipBare.stats), ipBare.opsPerSec.toFixed(0)],
    [...statsRow('stowage, 4 OS processes', mp.stats), mp.opsPerSec.toFixed(0)],
    [...statsRow('bare proper-lockfile, 4 OS processes', mpBare.stats), mpBare.opsPerSec.toFixed(0)],
  ]);
  printTable('Ratios, stowage / bare proper-lockfile in the same run (p50, p99: lower is better; ops/s: higher is better)', ['case', 'p50', 'p99', 'ops/s'], [
    ['uncontended', ratio(ours.p50, bare.p50), ratio(ours.p99, bare.p99), '-'],
    ['4 callers in 1 process', ratio(ip.stats.p50, ipBare.stats.p50), ratio(ip.stats.p99, ipBare.stats.p99), ratio(ip.opsPerSec, ipBare.opsPerSec)],
    ['4 OS processes', ratio(mp.stats.p50, mpBare.stats.p50), ratio(mp.stats.p99, mpBare.stats.p99), ratio(mp.opsPerSec, mpBare.opsPerSec)],
  ]);
});
printFooter('lock.bench');
