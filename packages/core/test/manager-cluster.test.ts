import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { StorageLocks, StorageManager, type ClusterServices, type ConfigStore, type LockRequest } from '@stowage/core';
import { FilePlugin } from './support/file-plugin.js';

let root: string;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

function fakeCluster(lockDir: string): ClusterServices & { requests: LockRequest[]; published: string[]; listeners: ((id: string) => void)[] } {
  const real = new StorageLocks({ lockDir, sharedLockDir: root }); // stands in for the cluster's locks
  const requests: LockRequest[] = [];
  const published: string[] = [];
  const listeners: ((id: string) => void)[] = [];
  const config: ConfigStore = { location: 'nowhere', read: async () => ({ text: '', revision: '0' }), write: async () => undefined };
  return {
    node: 'from-cluster',
    requests,
    published,
    listeners,
    locks: { acquire: (r) => (requests.push(r), real.acquire(r)) },
    changes: { publish: async (id) => void published.push(id), subscribe: (fn) => (listeners.push(fn), () => listeners.splice(listeners.indexOf(fn), 1)) },
    config,
    close: async () => undefined,
  };
}

describe('StorageManager.open({ cluster })', () => {
  it("takes the cluster's locks, change feed and node name", async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-cluster-'));
    const cluster = fakeCluster(join(root, 'locks'));
    await mkdir(join(root, 'nfs'));
    const manager = await StorageManager.open({
      plugins: [FilePlugin],
      // a shared storage needs no sharedLockDir with a cluster; `nodes` matches the cluster's node
      config: [{ type: 'testfile', storage: 'nfs', path: join(root, 'nfs'), shared: true, nodes: ['from-cluster'] }],
      cluster,
    });
    expect(await manager.allocImage('nfs', { vmid: 100, size: 4096 })).toBe('nfs:vm-100-disk-0');
    expect(cluster.requests).toMatchObject([{ storeId: 'nfs', shared: true, operation: 'allocImage' }]);
    expect(cluster.published).toEqual(['nfs']);
    expect(cluster.listeners).toHaveLength(1);
    await manager.close();
    expect(cluster.listeners).toHaveLength(0);
  });

  it('explicit locks, changes and node win over the cluster', async () => {
    root = await mkdtemp(join(tmpdir(), 'stowage-cluster-'));
    const cluster = fakeCluster(join(root, 'locks'));
    const own = fakeCluster(join(root, 'locks'));
    await mkdir(join(root, 'st'));
    const manager = await StorageManager.open({
      plugins: [FilePlugin],
      config: [{ type: 'testfile', storage: 'st', path: join(root, 'st'), nodes: ['mine'] }],
      cluster,
      locks: own.locks,
      changes: own.changes,
      node: 'mine',
    });
    await manager.allocImage('st', { vmid: 1, size: 4096 });
    expect(cluster.requests).toEqual([]);
    expect(cluster.published).toEqual([]);
    expect(own.published).toEqual(['st']);
    await manager.close();
  });

  it('a change its config store reports while the manager closes is ignored', async () => {
    let report: (() => void) | undefined;
    const store: ConfigStore = {
      location: 'nowhere',
      read: async () => ({ text: '', revision: '1' }),
      write: async () => '2',
      watch: (onChange) => {
        report = () => onChange({ text: '', revision: '3' });
        return () => undefined; // as an etcd watch, whose cancel takes a round trip
      },
    };
    const manager = await StorageManager.open({ plugins: [FilePlugin], configStore: store });
    await manager.close();
    expect(() => report!()).not.toThrow();
  });
});
