/**
 * A contending process for bench/lock.bench.ts. Args: `stowage|bare <dir> <iterations>`.
 * Says `ready` over IPC, waits for `go`, takes and releases the lock <iterations> times as fast
 * as it can, and sends back one duration (ms) per acquire+release.
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import lockfile from 'proper-lockfile';
import { StorageLocks } from '@stowage/core';

const [mode, dir, count] = process.argv.slice(2);
const n = Number(count);

async function run(): Promise<number[]> {
  const samples: number[] = [];
  if (mode === 'stowage') {
    const locks = new StorageLocks({ lockDir: dir!, acquireTimeoutMs: 120_000 });
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      await locks.withLock({ storeId: 'bench' }, async () => undefined);
      samples.push(performance.now() - t0);
    }
  } else {
    const file = join(dir!, 'bare');
    const retries = { retries: 20, forever: true, minTimeout: 1, maxTimeout: 25, factor: 2, randomize: true };
    for (let i = 0; i < n; i++) {
      const t0 = performance.now();
      const release = await lockfile.lock(file, { realpath: false, retries });
      await release();
      samples.push(performance.now() - t0);
    }
  }
  return samples;
}

process.once('message', () => {
  void run().then((samples) => process.send!({ samples }, () => process.exit(0)));
});
process.send!({ ready: true });
