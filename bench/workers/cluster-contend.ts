/**
 * A process for bench/cluster.bench.ts. Args: `<mode> <endpoints,comma-separated> <iterations> <ttl>`.
 *
 * - `stowage` / `bare`: says `ready` over IPC, waits for `go`, takes and releases one lock
 *   <iterations> times (stowage's etcd lock service, or the bare `etcd3` lock recipe retried
 *   on conflict), and sends back one duration (ms) per acquire+release.
 * - `hold`: takes stowage's lock, says `held`, and waits to be killed.
 */
import { performance } from 'node:perf_hooks';
import { connect } from '@stowage/cluster-etcd';
import { Etcd3, EtcdLockFailedError } from 'etcd3';

const [mode, hosts, count, ttlText] = process.argv.slice(2);
const endpoints = hosts!.split(',');
const n = Number(count);
const ttl = Number(ttlText);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function stowage(): Promise<number[]> {
  const cluster = await connect({ endpoints, node: `bench-${process.pid}`, leaseTtlSeconds: ttl, acquireTimeoutMs: 120_000 });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    const lock = await cluster.locks.acquire({ storeId: 'contended', shared: true });
    await lock.release();
    samples.push(performance.now() - t0);
  }
  await cluster.close();
  return samples;
}

async function bare(): Promise<number[]> {
  const client = new Etcd3({ hosts: endpoints });
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    for (;;) {
      const lock = client.lock('bare-contended').ttl(ttl);
      try {
        await lock.acquire();
        await lock.release();
        break;
      } catch (e) {
        if (!(e instanceof EtcdLockFailedError)) throw e;
        await sleep(1 + Math.random() * 4);
      }
    }
    samples.push(performance.now() - t0);
  }
  client.close();
  return samples;
}

if (mode === 'hold') {
  const cluster = await connect({ endpoints, node: `holder-${process.pid}`, leaseTtlSeconds: ttl });
  await cluster.locks.acquire({ storeId: 'takeover', shared: true });
  process.send!({ held: true });
  setInterval(() => undefined, 60_000);
} else {
  process.once('message', () => {
    void (mode === 'stowage' ? stowage() : bare()).then((samples) => process.send!({ samples }, () => process.exit(0)));
  });
  process.send!({ ready: true });
}
