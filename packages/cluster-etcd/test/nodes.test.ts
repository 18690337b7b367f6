/**
 * Several stowage nodes, each its own OS process with its own StorageManager and node name, on
 * one `shared 1` directory storage, coordinated by a real 3-member etcd cluster.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configToSection, formatStorageCfg } from '@stowage/core';
import { connect } from '../src/index.js';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startCluster as startLinstor } from '../../plugin-linstor/test/stand-in/cluster.js';
import { startEtcdCluster, type EtcdCluster } from './support/etcd-cluster.js';
import { assertBuilt, startNode, stopAll, type NodeProcess, type NodeSpec } from './support/nodes.js';
import { failures, fileOf, makeSharedStorage, volids, type SharedStorage } from './support/shared-storage.js';
import type { Outcome } from './support/node-worker.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('nodes on one shared storage, coordinated by etcd', () => {
  let etcd: EtcdCluster;
  let storage: SharedStorage;
  let prefixes = 0;
  const nodes = (count: number, extra: Partial<NodeSpec> = {}): Promise<NodeProcess[]> => {
    const prefix = `nodes${prefixes++}/`;
    return Promise.all(
      Array.from({ length: count }, (_, i) =>
        startNode({ node: `node${i + 1}`, endpoints: etcd.endpoints, prefix, configFile: storage.configFile, lockDir: `${storage.lockDir}-${i}`, ...extra }),
      ),
    );
  };

  beforeAll(async () => {
    assertBuilt();
    etcd = await startEtcdCluster();
  });
  afterEach(async () => {
    await stopAll();
    storage?.remove();
  });
  afterAll(async () => {
    await stopAll();
    await etcd?.stop();
  });

  it('3 nodes x 30 concurrent allocations: 90 distinct names, no error, every file accounted for', async () => {
    storage = makeSharedStorage();
    const all = await nodes(3);
    const results = (await Promise.all(all.map((n) => n.alloc('shared1', 100, 30)))).flat();
    expect(failures(results)).toEqual([]);
    const names = volids(results);
    expect(new Set(names).size).toBe(90);
    expect(storage.files()).toEqual(names.map(fileOf).sort());
  });

  it('the same with a lock that does nothing gives duplicates or errors (so the test above can fail)', async () => {
    storage = makeSharedStorage();
    const all = await nodes(3, { locks: 'none' });
    const results = (await Promise.all(all.map((n) => n.alloc('shared1', 100, 30)))).flat();
    const names = volids(results);
    const duplicates = names.length - new Set(names).size;
    expect(duplicates + failures(results).length).toBeGreaterThan(0);
  });

  it('on the LINSTOR stand-in: 3 nodes x 5 concurrent allocations give 15 distinct resources; with a lock that does nothing they do not', async () => {
    storage = makeSharedStorage();
    const linstor = await startLinstor({ validate: false });
    try {
      // one storage.cfg per node: a LINSTOR storage names the node it runs on
      const start = (locks: 'etcd' | 'none', prefix: string) =>
        Promise.all(
          linstor.model.options.nodes.map((name, i) => {
            const configFile = join(storage.root, `storage-${locks}-${name}.cfg`);
            writeFileSync(configFile, formatStorageCfg([configToSection(linstor.config({ node: name }))]));
            return startNode({ node: name, endpoints: etcd.endpoints, prefix, configFile, lockDir: `${storage.lockDir}-l${i}`, locks });
          }),
        );
      const locked = await start('etcd', `linstor${prefixes++}/`);
      const results = (await Promise.all(locked.map((n) => n.alloc('drbd', 100, 5)))).flat();
      expect(failures(results)).toEqual([]);
      expect(new Set(volids(results)).size).toBe(15);
      await stopAll();
      const unlocked = await start('none', `linstor${prefixes++}/`);
      const racy = (await Promise.all(unlocked.map((n) => n.alloc('drbd', 200, 5)))).flat();
      const names = volids(racy);
      expect(names.length - new Set(names).size + failures(racy).length).toBeGreaterThan(0);
    } finally {
      await stopAll();
      await linstor.close();
    }
  });

  it('node B sees what node A allocated at once, through the change feed, despite a 60 s cache', async () => {
    storage = makeSharedStorage();
    const [a, b] = await nodes(2, { cacheTtlMs: 60_000 });
    // a node that does not listen to the feed: the control that shows the listing would be stale without it
    const silent = await startNode({ node: 'silent', endpoints: etcd.endpoints, prefix: `nodes${prefixes - 1}/`, configFile: storage.configFile, lockDir: `${storage.lockDir}-s`, feed: 'none' });
    expect(await b!.list('shared1')).toEqual({ ok: true, value: [] });
    expect(await silent.list('shared1')).toEqual({ ok: true, value: [] });
    const [made] = volids(await a!.alloc('shared1', 200, 1));
    let seen: unknown;
    for (let i = 0; i < 100; i++) {
      seen = (await b!.list('shared1')) as Outcome;
      if ((seen as { value: string[] }).value.length > 0) break;
      await sleep(20);
    }
    expect(seen).toEqual({ ok: true, value: [made] });
    expect(await silent.list('shared1')).toEqual({ ok: true, value: [] });
  });

  describe("the cluster's storage.cfg", () => {
    const dirConfig = (root: string, id: string) => ({ type: 'dir', storage: id, path: join(root, id), content: 'images' });
    const configNodes = (how: NonNullable<NodeSpec['clusterConfig']>, names: string[], prefix: string) =>
      Promise.all(names.map((node, i) => startNode({ node, endpoints: etcd.endpoints, prefix, lockDir: `${storage.lockDir}-c${i}`, clusterConfig: how })));
    const sectionsIn = async (prefix: string): Promise<string[]> => {
      const reader = await connect({ endpoints: etcd.endpoints, prefix, node: 'reader' });
      try {
        return [...(await reader.config.read()).text.matchAll(/^dir: (\S+)$/gm)].map((m) => m[1]!).sort();
      } finally {
        await reader.close();
      }
    };
    const eventually = async (get: () => Promise<string[]>, want: string[]): Promise<string[]> => {
      let got: string[] = [];
      for (let i = 0; i < 100; i++) {
        got = (await get()).sort();
        if (JSON.stringify(got) === JSON.stringify(want)) break;
        await sleep(20);
      }
      return got;
    };

    it("storage add on node A is seen by node B's running manager, through the config watch (not by a node without it)", async () => {
      storage = makeSharedStorage();
      const prefix = `cfg${prefixes++}/`;
      const [a, b] = await configNodes('cas', ['a', 'b'], prefix);
      const [blind] = await configNodes('unwatched', ['c'], prefix);
      expect(await b!.storageIds()).toEqual([]);
      expect(await a!.addStorages([dirConfig(storage.root, 'added')])).toMatchObject([{ ok: true }]);
      expect(await eventually(() => b!.storageIds(), ['added'])).toEqual(['added']);
      expect(await blind!.storageIds()).toEqual([]); // the control: without the watch it would take a restart
    });

    it('3 nodes x 10 concurrent storage adds: every section is there, on every node', async () => {
      storage = makeSharedStorage();
      const prefix = `cfg${prefixes++}/`;
      const all = await configNodes('cas', ['a', 'b', 'c'], prefix);
      const ids = (node: string) => Array.from({ length: 10 }, (_, i) => `${node}-${i}`);
      const results = (await Promise.all(all.map((n) => n.addStorages(ids(n.name).map((id) => dirConfig(storage.root, id)))))).flat();
      expect(failures(results)).toEqual([]);
      const want = all.flatMap((n) => ids(n.name)).sort();
      expect(await sectionsIn(prefix)).toEqual(want);
      for (const n of all) expect(await eventually(() => n.storageIds(), want)).toEqual(want);
    });

    it('the same with a store that does not compare-and-swap loses sections (so the test above can fail)', async () => {
      storage = makeSharedStorage();
      const prefix = `cfg${prefixes++}/`;
      const all = await configNodes('blind', ['a', 'b', 'c'], prefix);
      const results = (await Promise.all(all.map((n) => n.addStorages(Array.from({ length: 10 }, (_, i) => dirConfig(storage.root, `${n.name}-${i}`)))))).flat();
      expect(failures(results)).toEqual([]);
      expect((await sectionsIn(prefix)).length).toBeLessThan(30);
    });
  });
});
