/**
 * Cluster lock cost on a 3-member etcd cluster on the loopback (Debian's etcd, data on tmpfs):
 * acquire + release of stowage's etcd lock, uncontended and with 3 contending OS processes,
 * next to the bare `etcd3` lock recipe (lease grant, compare-and-swap put, lease revoke; retried
 * on conflict) and stowage's file lock, all in the same run. Then the time another node needs to
 * take over the lock of a holder killed with SIGKILL, against the lease TTL.
 */
import { fork } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Etcd3 } from 'etcd3';
import { connect } from '@stowage/cluster-etcd';
import { StorageLocks } from '@stowage/core';
import { startEtcdCluster } from '../packages/cluster-etcd/test/support/etcd-cluster.ts';
import { iterations, ms, now, printFooter, printTable, ratio, runContenders, STATS_HEADER, statsRow, summarize, withTempDir, type Stats } from './lib.ts';

const worker = fileURLToPath(new URL('./workers/cluster-contend.ts', import.meta.url));
const TTL = 2;

/** Alternates blocks of the measured functions, so that a slow spell of the machine hits all of them alike. */
async function interleaved(blocks: number, perBlock: number, fns: Record<string, () => Promise<unknown>>): Promise<Record<string, Stats>> {
  const samples: Record<string, number[]> = Object.fromEntries(Object.keys(fns).map((k) => [k, []]));
  for (const fn of Object.values(fns)) for (let i = 0; i < 20; i++) await fn(); // warm-up
  for (let b = 0; b < blocks; b++) {
    for (const [name, fn] of Object.entries(fns)) {
      for (let i = 0; i < perBlock; i++) {
        const t0 = now();
        await fn();
        samples[name]!.push(now() - t0);
      }
    }
  }
  return Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
}

function contended(endpoints: string[], procs: number, n: number, mode: 'stowage' | 'bare'): Promise<{ stats: Stats; opsPerSec: number }> {
  return runContenders(worker, [mode, endpoints.join(','), String(n), String(TTL)], procs);
}

/** Kills a holder with SIGKILL and times how long until another node holds the lock. */
async function takeover(endpoints: string[]): Promise<number> {
  const holder = fork(worker, ['hold', endpoints.join(','), '0', String(TTL)], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => holder.once('message', resolve));
  const other = await connect({ endpoints, node: 'taker', leaseTtlSeconds: TTL, acquireTimeoutMs: 60_000 });
  const exited = new Promise((resolve) => holder.once('exit', resolve));
  const t0 = now();
  holder.kill('SIGKILL');
  const lock = await other.locks.acquire({ storeId: 'takeover', shared: true });
  const took = now() - t0;
  await lock.release();
  await exited;
  await other.close();
  return took;
}

const etcd = await startEtcdCluster();
try {
  await withTempDir('cluster', async (dir) => {
    const cluster = await connect({ endpoints: etcd.endpoints, node: 'bench', leaseTtlSeconds: TTL });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    const files = new StorageLocks({ lockDir: join(dir, 'locks') });
    const per = iterations(50, 5);
    const un = await interleaved(iterations(8, 2), per, {
      ours: async () => (await cluster.locks.acquire({ storeId: 'bench', shared: true })).release(),
      bare: async () => {
        const lock = raw.lock('bare-bench').ttl(TTL);
        await lock.acquire();
        await lock.release();
      },
      file: async () => (await files.acquire({ storeId: 'bench' })).release(),
    });
    await cluster.close();
    raw.close();

    const m = iterations(100, 10);
    const cOurs = await contended(etcd.endpoints, 3, m, 'stowage');
    const cBare = await contended(etcd.endpoints, 3, m, 'bare');

    printTable('Storage lock on a 3-member loopback etcd, acquire + release (no work inside)', [...STATS_HEADER, 'ops/s'], [
      [...statsRow('stowage etcd lock, uncontended', un['ours']!), '-'],
      [...statsRow('bare etcd3 lock recipe, uncontended', un['bare']!), '-'],
      [...statsRow('stowage file lock (local), uncontended', un['file']!), '-'],
      [...statsRow('stowage etcd lock, 3 OS processes', cOurs.stats), cOurs.opsPerSec.toFixed(0)],
      [...statsRow('bare etcd3 lock recipe, 3 OS processes', cBare.stats), cBare.opsPerSec.toFixed(0)],
    ]);
    printTable('Ratios, stowage etcd lock / bare etcd3 recipe in the same run (p50, p99: lower is better; ops/s: higher is better)', ['case', 'p50', 'p99', 'ops/s'], [
      ['uncontended', ratio(un['ours']!.p50, un['bare']!.p50), ratio(un['ours']!.p99, un['bare']!.p99), '-'],
      ['3 OS processes', ratio(cOurs.stats.p50, cBare.stats.p50), ratio(cOurs.stats.p99, cBare.stats.p99), ratio(cOurs.opsPerSec, cBare.opsPerSec)],
      ['uncontended, etcd lock / file lock', ratio(un['ours']!.p50, un['file']!.p50), ratio(un['ours']!.p99, un['file']!.p99), '-'],
    ]);

    const takes: number[] = [];
    for (let i = 0; i < iterations(3, 1); i++) takes.push(await takeover(etcd.endpoints));
    printTable(`Takeover: another node holds the lock after the holder was killed (SIGKILL), lease TTL ${TTL} s`, ['run', 'takeover ms', 'x TTL'], [
      ...takes.map((t, i) => [String(i + 1), ms(t), (t / (TTL * 1000)).toFixed(2)]),
    ]);
  });
} finally {
  await etcd.stop();
}
printFooter('cluster.bench');
