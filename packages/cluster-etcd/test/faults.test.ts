/**
 * Faults with several stowage nodes (separate OS processes) on one `shared 1` directory
 * storage and a real 3-member etcd cluster: the etcd leader killed mid-burst, a lock holder
 * killed or stopped past its lease, quorum lost and regained, etcd down entirely and back. Lease
 * TTL 2 s.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from './support/etcd-cluster.js';
import { assertBuilt, startNode, stopAll, type NodeProcess, type NodeSpec } from './support/nodes.js';
import { fileOf, makeSharedStorage, volids, type SharedStorage } from './support/shared-storage.js';

/** The codes docs/errors.md documents as "retry". */
const RETRYABLE = ['LOCK_TIMEOUT', 'LOCK_LOST', 'UNAVAILABLE'];
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('faults, with nodes on one shared storage and a real etcd cluster', () => {
  let etcd: EtcdCluster;
  let storage: SharedStorage;
  let prefixes = 0;
  let prefix = '';
  const node = (name: string, extra: Partial<NodeSpec> = {}): Promise<NodeProcess> =>
    startNode({ node: name, endpoints: etcd.endpoints, prefix, configFile: storage.configFile, lockDir: `${storage.lockDir}-${name}`, ...extra });

  beforeAll(async () => {
    assertBuilt();
    etcd = await startEtcdCluster();
  });
  afterEach(async () => {
    await stopAll();
    storage?.remove();
    for (let i = 0; i < etcd.members.length; i++) await etcd.restart(i);
    await etcd.waitHealthy();
  });
  afterAll(async () => {
    await stopAll();
    await etcd?.stop();
  });
  const fresh = () => {
    storage = makeSharedStorage();
    prefix = `faults${prefixes++}/`;
  };

  it('SIGKILL of the etcd leader during a burst: each allocation succeeds or fails retryably, no duplicates, nothing half-made', async () => {
    fresh();
    const nodes = await Promise.all(['n1', 'n2', 'n3'].map((n) => node(n)));
    const burst = Promise.all(nodes.map((n) => n.alloc('shared1', 100, 10)));
    await sleep(150);
    await etcd.kill(await etcd.leader());
    const results = (await burst).flat();
    for (const r of results) if (!r.ok) expect(RETRYABLE).toContain(r.code);
    const ids = volids(results);
    expect(ids.length).toBeGreaterThan(0);
    expect(new Set(ids).size).toBe(ids.length);
    expect(storage.files()).toEqual(ids.map(fileOf).sort());
  });

  it('SIGKILL of a lock holder: another node proceeds once its lease expires', async () => {
    fresh();
    const a = await node('a', { slowCreateMs: 60_000 });
    const b = await node('b');
    const stuck = a.alloc('shared1', 100, 1, 'qcow2').catch(() => undefined);
    await a.inLockedSection();
    a.proc.kill('SIGKILL');
    await stuck;
    const [r] = await b.alloc('shared1', 100, 1, 'qcow2');
    expect(r).toMatchObject({ ok: true });
    expect(storage.files()).toContain(fileOf((r as { value: string }).value));
  });

  it('SIGSTOP of a holder past its lease, then SIGCONT: it fails with LOCK_LOST and leaves nothing; the other node completes', async () => {
    fresh();
    const a = await node('a', { slowCreateMs: 60_000 });
    const b = await node('b');
    const stalled = a.alloc('shared1', 100, 1, 'qcow2');
    stalled.catch(() => undefined); // a failed assertion below must not leave it unhandled when the node is stopped
    await a.inLockedSection();
    // a's name is reserved by its hidden temporary, which carries a's owner token
    const [reserved, ...others] = storage.files();
    expect(others).toEqual([]);
    expect(reserved).toMatch(/^images\/100\/\.stowage-new~vm-100-disk-0\.qcow2~/);
    a.proc.kill('SIGSTOP');
    const [rb] = await b.alloc('shared1', 100, 1, 'qcow2'); // waits until a's lease expires
    a.proc.kill('SIGCONT');
    const [ra] = await stalled;
    expect(rb).toEqual({ ok: true, value: 'shared1:100/vm-100-disk-1.qcow2' });
    expect(ra).toMatchObject({ ok: false, code: 'LOCK_LOST' });
    expect(storage.files()).toEqual(['images/100/vm-100-disk-1.qcow2']);
  });

  it('quorum lost: operations fail with UNAVAILABLE within the acquire timeout, nothing half-made; work goes on after the members return', async () => {
    fresh();
    const [a, b] = await Promise.all([node('a', { acquireTimeoutMs: 3000 }), node('b', { acquireTimeoutMs: 3000 })]);
    expect(volids(await a.alloc('shared1', 100, 1))).toHaveLength(1);
    await etcd.kill(1);
    await etcd.kill(2);
    const results = (await Promise.all([a.alloc('shared1', 100, 3), b.alloc('shared1', 100, 3)])).flat();
    expect(results.map((r) => (r.ok ? 'ok' : r.code))).toEqual(Array(6).fill('UNAVAILABLE'));
    expect(storage.files()).toEqual(['images/100/vm-100-disk-0.raw']);
    await etcd.restart(1);
    await etcd.restart(2);
    await etcd.waitHealthy();
    const after = (await Promise.all([a.alloc('shared1', 100, 2), b.alloc('shared1', 100, 2)])).flat();
    expect(after.filter((r) => !r.ok)).toEqual([]);
    expect(storage.files()).toHaveLength(5);
  });

  it('etcd down entirely, then back: a node whose first lock came during the outage takes locks again once etcd answers', async () => {
    fresh();
    const b = await node('b', { acquireTimeoutMs: 3000 });
    for (let i = 0; i < etcd.members.length; i++) await etcd.kill(i);
    // b's first acquire sets up its deletion watch, whose stream then retries on a back-off
    const during = await b.alloc('shared1', 100, 1);
    expect(during.map((r) => (r.ok ? 'ok' : r.code))).toEqual(['UNAVAILABLE']);
    await sleep(2000);
    for (let i = 0; i < etcd.members.length; i++) await etcd.restart(i);
    await etcd.waitHealthy();
    const after = await b.alloc('shared1', 100, 2);
    expect(after.filter((r) => !r.ok)).toEqual([]);
    expect(storage.files()).toEqual(volids(after).map(fileOf).sort());
  });
});
