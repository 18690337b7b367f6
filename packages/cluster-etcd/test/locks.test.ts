import { isStorageError, withLock, type StorageError } from '@stowage/core';
import { Etcd3 } from 'etcd3';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { connect, EtcdLocks, type EtcdCluster } from '../src/index.js';
import { Deletions } from '../src/deletions.js';
import { startEtcdCluster, type EtcdCluster as TestCluster } from './support/etcd-cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function codeOf(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    if (isStorageError(e)) return e;
    throw e;
  }
  throw new Error('expected a failure');
}

describe('etcd locks on a real 3-member cluster', () => {
  let etcd: TestCluster;
  const open: EtcdCluster[] = [];
  let n = 0;
  const node = async (name: string, extra: Partial<Parameters<typeof connect>[0]> = {}) => {
    const c = await connect({ endpoints: etcd.endpoints, prefix: `t${n}/`, node: name, leaseTtlSeconds: 2, acquireTimeoutMs: 5000, ...extra });
    open.push(c);
    return c;
  };
  beforeAll(async () => {
    etcd = await startEtcdCluster();
  });
  afterAll(async () => {
    await Promise.all(open.map((c) => c.close()));
    await etcd?.stop();
  });

  it('a lock excludes another node until released, and holders() says who holds it', async () => {
    n++;
    const [a, b] = [await node('a'), await node('b')];
    const held = await a.locks.acquire({ storeId: 'nfs', shared: true, operation: 'allocImage' });
    expect(await b.locks.holders()).toEqual([{ storeId: 'nfs', node: 'a', pid: process.pid, operation: 'allocImage', since: expect.any(Number) }]);
    let bGot = false;
    const waiting = b.locks.acquire({ storeId: 'nfs', shared: true }).then((h) => {
      bGot = true;
      return h;
    });
    await sleep(300);
    expect(bGot).toBe(false);
    await held.release();
    const bHeld = await waiting;
    expect((await a.locks.holders()).map((h) => h.node)).toEqual(['b']);
    await bHeld.release();
    expect(await a.locks.holders()).toEqual([]);
  });

  it('fails with LOCK_TIMEOUT naming the holder when it is held past the acquire timeout', async () => {
    n++;
    const [a, b] = [await node('a'), await node('b')];
    const held = await a.locks.acquire({ storeId: 'nfs', shared: true, operation: 'cloneImage' });
    const e = await codeOf(b.locks.acquire({ storeId: 'nfs', shared: true, timeoutMs: 400 }));
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.details['holder']).toMatchObject({ node: 'a', operation: 'cloneImage' });
    await held.release();
    expect(await b.locks.holders()).toEqual([]); // the waiter left nothing behind
  });

  it('a deadline that runs out during an etcd call is a LOCK_TIMEOUT naming the holder, not an unreachable etcd', async () => {
    n++;
    const [a, b] = [await node('a'), await node('b')];
    const held = await a.locks.acquire({ storeId: 'nfs', shared: true, operation: 'cloneImage' });
    for (const timeoutMs of [0, 1, 5, 20]) {
      const e = await codeOf(b.locks.acquire({ storeId: 'nfs', shared: true, timeoutMs }));
      expect({ timeoutMs, code: e.code }).toEqual({ timeoutMs, code: 'LOCK_TIMEOUT' });
      expect(e.details['holder']).toMatchObject({ node: 'a', operation: 'cloneImage' });
    }
    await held.release();
    // the waiters that were cut off leave nothing behind for longer than their lease (2 s): their
    // revoke may still be on its way when etcd answers slowly (a loaded machine)
    for (const until = Date.now() + 3 * 2000; (await b.locks.holders()).length > 0; ) {
      expect(Date.now(), 'a waiter that was cut off still holds a place in line after 3 lease TTLs').toBeLessThan(until);
      await sleep(100);
    }
    await (await b.locks.acquire({ storeId: 'nfs', shared: true, timeoutMs: 5000 })).release();
    expect(await b.locks.holders()).toEqual([]);
  });

  it('local storages lock per node; volume locks do not exclude the storage lock', async () => {
    n++;
    const [a, b] = [await node('a'), await node('b')];
    const la = await a.locks.acquire({ storeId: 'local' });
    const lb = await b.locks.acquire({ storeId: 'local', timeoutMs: 1000 });
    const va = await a.locks.acquire({ storeId: 'nfs', shared: true, volname: '100/vm-100-disk-0.qcow2', timeoutMs: 1000 });
    const sa = await b.locks.acquire({ storeId: 'nfs', shared: true, timeoutMs: 1000 });
    expect(await codeOf(b.locks.acquire({ storeId: 'nfs', shared: true, volname: '100/vm-100-disk-0.qcow2', timeoutMs: 300 }))).toMatchObject({ code: 'LOCK_TIMEOUT' });
    expect((await a.locks.holders()).map((h) => `${h.node}:${h.storeId}:${h.volname ?? ''}`).sort()).toEqual(['a:local:', 'a:nfs:100/vm-100-disk-0.qcow2', 'b:local:', 'b:nfs:']);
    await Promise.all([la, lb, va, sa].map((h) => h.release()));
  });

  it('waiters on different nodes get the lock in the order they came', async () => {
    n++;
    const [a, b, c] = [await node('a'), await node('b'), await node('c')];
    const raw = new Etcd3({ hosts: etcd.endpoints });
    const inLine = async () => (await raw.getAll().prefix(`t${n}/locks/cluster/storage/nfs/`).keys()).length;
    const until = async (count: number) => {
      while ((await inLine()) < count) await sleep(10);
    };
    try {
      const order: string[] = [];
      const held = await a.locks.acquire({ storeId: 'nfs', shared: true });
      const take = (who: EtcdCluster, name: string) =>
        who.locks.acquire({ storeId: 'nfs', shared: true }).then(async (h) => {
          order.push(name);
          await sleep(20);
          await h.release();
        });
      const second = take(c, 'c');
      await until(2);
      const third = take(b, 'b');
      await until(3);
      await held.release();
      await Promise.all([second, third]);
      expect(order).toEqual(['c', 'b']);
      expect(await inLine()).toBe(0);
    } finally {
      raw.close();
    }
  });

  it('hand-overs are heard through one lasting watch per service, not a watch per wait', async () => {
    // A watch made for each wait starts at the revision the waiter read its line at; etcd serves
    // such a watch from a catch-up loop that runs every 100 ms, so every hand-over waited for it.
    n++;
    const clients = [new Etcd3({ hosts: etcd.endpoints }), new Etcd3({ hosts: etcd.endpoints })];
    const watches = clients.map((c) => vi.spyOn(c, 'watch'));
    const services = clients.map((client, i) => new EtcdLocks({ client, prefix: `t${n}/`, node: `n${i}`, endpoints: etcd.endpoints, leaseTtlSeconds: 2 }));
    try {
      const order: string[] = [];
      await Promise.all(
        services.map(async (locks, i) => {
          for (let k = 0; k < 6; k++) {
            await withLock(locks, { storeId: 'nfs', shared: true }, async () => {
              order.push(`n${i}`);
              await sleep(5);
            });
          }
        }),
      );
      expect(order).toHaveLength(12);
      expect(order.slice(0, -1).some((who, k) => who !== order[k + 1])).toBe(true); // they did contend
      expect(watches.map((w) => w.mock.calls.length)).toEqual([1, 1]);
    } finally {
      await Promise.all(services.map((s) => s.close()));
      for (const c of clients) c.close();
    }
  });

  it('a waiter that registers after a deletion was heard still counts it', async () => {
    n++;
    const raw = new Etcd3({ hosts: etcd.endpoints });
    const deletions = new Deletions(raw, `t${n}/`);
    try {
      expect(await deletions.ready(Date.now() + 5000)).toBe(true);
      const put = await raw.put(`t${n}/a`).value('x').exec();
      await raw.delete().key(`t${n}/a`).exec();
      const heard = () => {
        const f = deletions.follow([`t${n}/a`], put.header.revision);
        f.close();
        return f.deletes > 0;
      };
      for (let i = 0; i < 200 && !heard(); i++) await sleep(10);
      const late = deletions.follow([`t${n}/a`, `t${n}/b`], put.header.revision);
      expect(late.take()).toEqual([`t${n}/a`]);
      late.close();
      // a deletion at or before the revision the keys were read at does not count
      expect(deletions.follow([`t${n}/a`], (BigInt(put.header.revision) + 1n).toString()).deletes).toBe(0);
    } finally {
      deletions.close();
      raw.close();
    }
  });

  it('a waiter whose watch etcd has not confirmed (its stream waiting out a reconnect back-off) still takes a free lock, and hears a release by reading its line', async () => {
    // after an outage, the client's watch stream reconnects on an exponential back-off: a node
    // whose first lock came during the outage had its acquires wait for that watch until their
    // deadline, although etcd answered everything else
    n++;
    const clients = [new Etcd3({ hosts: etcd.endpoints }), new Etcd3({ hosts: etcd.endpoints })];
    const neverConfirmed = { prefix: () => neverConfirmed, only: () => neverConfirmed, create: () => new Promise<never>(() => undefined) };
    vi.spyOn(clients[1]!, 'watch').mockImplementation(() => neverConfirmed as never);
    const [a, b] = clients.map((client, i) => new EtcdLocks({ client, prefix: `t${n}/`, node: `n${i}`, endpoints: etcd.endpoints, leaseTtlSeconds: 2, acquireTimeoutMs: 3000 }));
    try {
      const free = await b!.acquire({ storeId: 'nfs', shared: true });
      await free.release();
      const held = await a!.acquire({ storeId: 'nfs', shared: true });
      const waiting = b!.acquire({ storeId: 'nfs', shared: true });
      await sleep(100);
      await held.release();
      await (await waiting).release();
      expect(await a!.holders()).toEqual([]);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
      for (const c of clients) c.close();
    }
  });

  it('callers of one process take turns', async () => {
    n++;
    const a = await node('a');
    let inside = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 8 }, () =>
        withLock(a.locks, { storeId: 'nfs', shared: true }, async () => {
          most = Math.max(most, ++inside);
          await sleep(5);
          inside--;
        }),
      ),
    );
    expect(most).toBe(1);
  });

  it('the hold limit aborts the holder with LOCK_TIMEOUT (reason hold-limit)', async () => {
    n++;
    const a = await node('a');
    const held = await a.locks.acquire({ storeId: 'nfs', shared: true, holdMs: 200 });
    await new Promise((r) => held.signal.addEventListener('abort', r, { once: true }));
    expect(held.signal.reason).toMatchObject({ code: 'LOCK_TIMEOUT', details: { reason: 'hold-limit' } });
    await held.release();
  });

  it('a lease revoked behind the holder aborts it with LOCK_LOST, and another node gets the lock', async () => {
    n++;
    const [a, b] = [await node('a'), await node('b')];
    const held = await a.locks.acquire({ storeId: 'nfs', shared: true });
    const raw = new Etcd3({ hosts: etcd.endpoints });
    try {
      const kv = (await raw.getAll().prefix(`t${n}/locks/`).exec()).kvs[0]!;
      await raw.leaseClient.leaseRevoke({ ID: kv.lease });
    } finally {
      raw.close();
    }
    const other = await b.locks.acquire({ storeId: 'nfs', shared: true, timeoutMs: 3000 });
    await new Promise((r) => (held.signal.aborted ? r(undefined) : held.signal.addEventListener('abort', r, { once: true })));
    expect(held.signal.reason).toMatchObject({ code: 'LOCK_LOST', details: { reason: 'lease-revoked' } });
    await held.release(); // must not delete b's key
    expect((await b.locks.holders()).map((h) => h.node)).toEqual(['b']);
    await other.release();
  });

  it('close() gives held locks up with LOCK_LOST and later acquires fail with UNAVAILABLE', async () => {
    n++;
    const [a, b] = [await node('a'), await node('b')];
    const held = await a.locks.acquire({ storeId: 'nfs', shared: true });
    await a.close();
    expect(held.signal.reason).toMatchObject({ code: 'LOCK_LOST', details: { reason: 'closed' } });
    expect(await b.locks.holders()).toEqual([]);
    expect(await codeOf(a.locks.acquire({ storeId: 'nfs', shared: true }))).toMatchObject({ code: 'UNAVAILABLE' });
  });

  it('fails with UNAVAILABLE within the acquire timeout when no etcd answers', async () => {
    const dead = await connect({ endpoints: ['127.0.0.1:1'], node: 'x', acquireTimeoutMs: 800 });
    open.push(dead);
    expect(await codeOf(dead.locks.acquire({ storeId: 'nfs', shared: true }))).toMatchObject({ code: 'UNAVAILABLE' });
  });
});
