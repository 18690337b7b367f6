import type { ConfigSnapshot } from '@stowage/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type EtcdCluster } from '../src/index.js';
import { startEtcdCluster, type EtcdCluster as TestCluster } from './support/etcd-cluster.js';

function until<T>(get: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const tick = () => {
      const v = get();
      if (v !== undefined) return resolve(v);
      if (Date.now() > deadline) return reject(new Error('timed out waiting'));
      setTimeout(tick, 20);
    };
    tick();
  });
}

describe('storage.cfg and change signals on a real etcd', () => {
  let etcd: TestCluster;
  let a: EtcdCluster;
  let b: EtcdCluster;
  beforeAll(async () => {
    etcd = await startEtcdCluster();
    a = await connect({ endpoints: etcd.endpoints, node: 'a', prefix: 'cf/' });
    b = await connect({ endpoints: etcd.endpoints, node: 'b', prefix: 'cf/' });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
    await etcd?.stop();
  });

  it('a missing storage.cfg reads as empty text at revision 0; writes are compare-and-swap on the revision', async () => {
    expect(await a.config.read()).toEqual({ text: '', revision: '0' });
    const r1 = await a.config.write('dir: local\n\tpath /a\n', '0');
    expect(r1).toMatch(/^[1-9][0-9]*$/);
    expect(await b.config.write('dir: other\n\tpath /b\n', '0')).toBeUndefined(); // it exists now
    expect(await b.config.read()).toEqual({ text: 'dir: local\n\tpath /a\n', revision: r1 });
    const r2 = await b.config.write('dir: local\n\tpath /c\n', r1!);
    expect(await a.config.write('stale\n', r1!)).toBeUndefined();
    expect(await a.config.read()).toEqual({ text: 'dir: local\n\tpath /c\n', revision: r2 });
    expect(await a.config.write('x', 'not-a-revision')).toBeUndefined();
  });

  it("concurrent read-modify-write loops of two nodes lose no one's change", async () => {
    const add = async (store: EtcdCluster['config'], line: string) => {
      for (;;) {
        const s = await store.read();
        if ((await store.write(`${s.text}${line}\n`, s.revision)) !== undefined) return;
      }
    };
    await Promise.all(Array.from({ length: 10 }, (_, i) => [add(a.config, `a${i}`), add(b.config, `b${i}`)]).flat());
    const lines = (await a.config.read()).text.split('\n');
    for (let i = 0; i < 10; i++) expect(lines).toEqual(expect.arrayContaining([`a${i}`, `b${i}`]));
  });

  it("a node's watch hears another node's write", async () => {
    const seen: ConfigSnapshot[] = [];
    const stop = b.config.watch((s) => seen.push(s));
    await new Promise((r) => setTimeout(r, 200)); // the watch is set up asynchronously
    const before = await a.config.read();
    const rev = await a.config.write('dir: watched\n\tpath /w\n', before.revision);
    const got = await until(() => seen.find((s) => s.revision === rev));
    expect(got.text).toBe('dir: watched\n\tpath /w\n');
    stop();
  });

  it('a watch hears a write made between its store\'s latest read and the watch (the manager reads, then watches)', async () => {
    const read = await b.config.read();
    const rev = await a.config.write('dir: between\n\tpath /b\n', read.revision);
    const seen: ConfigSnapshot[] = [];
    const stop = b.config.watch((s) => seen.push(s));
    try {
      expect((await until(() => seen.find((s) => s.revision === rev))).text).toBe('dir: between\n\tpath /b\n');
    } finally {
      stop();
    }
  });

  it('without quorum, storage.cfg still reads (a member\'s own copy) but cannot be written; with quorum back, it can', async () => {
    const before = await a.config.read();
    await etcd.kill(1);
    await etcd.kill(2);
    try {
      expect(await a.config.read()).toEqual(before);
      await expect(a.config.write('dir: lost\n\tpath /l\n', before.revision)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    } finally {
      await etcd.restart(1);
      await etcd.restart(2);
      await etcd.waitHealthy();
    }
    expect(await a.config.write('dir: back\n\tpath /b\n', before.revision)).toMatch(/^[1-9][0-9]*$/);
  });

  it('a change published by one node reaches the subscribers of every node', async () => {
    const heard: string[] = [];
    const stop = b.changes.subscribe((id) => heard.push(id));
    // the watch is made asynchronously, and hears only what is published once it exists (after
    // the members' restart above that took over 200 ms under load): wait until it hears a probe
    for (let tries = 0; !heard.includes('probe'); tries++) {
      expect(tries, 'the watch never heard a probe').toBeLessThan(50);
      await a.changes.publish('probe');
      await new Promise((r) => setTimeout(r, 100));
    }
    await a.changes.publish('nfs');
    await a.changes.publish('weird/id:1');
    const real = (): string[] => heard.filter((id) => id !== 'probe');
    await until(() => (real().length >= 2 ? true : undefined));
    expect(real()).toEqual(['nfs', 'weird/id:1']);
    stop();
  });
});
