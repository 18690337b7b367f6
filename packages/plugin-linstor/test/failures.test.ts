/**
 * The REST analogue of the kit's "failures leave nothing behind" group (which injects command
 * failures, and this plugin runs no commands): each request an operation makes is failed in
 * turn with a 500 at the stand-in, and the operation must then either fail leaving the
 * controller's state as it was, or succeed whole (a failed read is retried).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSizeHeader } from '@stowage/core/plugin';
import { LinstorPlugin } from '../src/index.js';
import { pluginContext } from './plugin-context.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';

const MiB = 1024 * 1024;
let cluster: Cluster;
const plugin = new LinstorPlugin();
const ctx = () => pluginContext(cluster.config(), cluster.node);
const vol = (n: string) => plugin.parseVolname(n);

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await plugin.deactivateStorage(ctx());
  expect(cluster.validator?.violations ?? []).toEqual([]);
  await cluster.close();
});

function snapshotState(): string {
  const out: string[] = [];
  for (const d of [...cluster.model.definitions.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const rs = [...d.resources.values()].map((r) => `${r.node}:${r.diskless ? 'diskless' : 'disk'}`).sort();
    out.push(`${d.name} ${JSON.stringify(d.props)} ${d.sizeKib} [${rs.join(',')}] snaps=${[...d.snapshots.keys()].sort().join(',')}`);
  }
  return out.join('\n');
}

interface Case {
  name: string;
  prepare: () => Promise<void>;
  run: () => Promise<unknown>;
  undo: () => Promise<void>;
}

const cases: Case[] = [
  {
    name: 'allocImage',
    prepare: async () => {},
    run: () => plugin.allocImage(ctx(), { vmid: 10, format: 'raw', name: 'vm-10-disk-0', size: MiB }),
    undo: () => plugin.freeImage(ctx(), { volume: vol('vm-10-disk-0') }),
  },
  {
    name: 'createBase',
    prepare: async () => void (await plugin.allocImage(ctx(), { vmid: 11, format: 'raw', name: 'vm-11-disk-0', size: MiB })),
    run: () => plugin.createBase(ctx(), { volume: vol('vm-11-disk-0') }),
    undo: async () => void (await plugin.renameVolume(ctx(), { volume: vol('base-11-disk-0'), targetVmid: 11, targetName: 'vm-11-disk-0' })),
  },
  {
    name: 'cloneImage',
    prepare: async () => void (await plugin.allocImage(ctx(), { vmid: 12, format: 'raw', name: 'base-12-disk-0', size: MiB })),
    run: () => plugin.cloneImage(ctx(), { volume: vol('base-12-disk-0'), vmid: 13, name: 'vm-13-disk-0' }),
    undo: () => plugin.freeImage(ctx(), { volume: vol('base-12-disk-0/vm-13-disk-0') }),
  },
  {
    name: 'volumeImport',
    prepare: async () => {},
    run: () => plugin.volumeImport(ctx(), { volume: vol('vm-14-disk-0'), format: 'raw+size', input: Readable.from([encodeSizeHeader(MiB), randomBytes(MiB)]) }),
    undo: () => plugin.freeImage(ctx(), { volume: vol('vm-14-disk-0') }),
  },
];

describe('a 500 on any one request of an operation leaves the controller as it was', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const ctrl = cluster.controllers[0]!;
      await c.prepare();
      const before = snapshotState();
      const start = ctrl.v1Count;
      await c.run();
      const requests = ctrl.v1Count - start;
      await c.undo();
      expect(snapshotState()).toBe(before);
      let failures = 0;
      for (let i = 1; i <= requests; i++) {
        ctrl.failAt(i);
        const outcome = await c.run().then(
          () => 'ok',
          (e: { code?: string }) => e.code ?? 'untyped',
        );
        ctrl.failAt(0);
        if (outcome === 'ok') await c.undo();
        else failures++;
        expect({ i, outcome, state: snapshotState() }).toEqual({ i, outcome, state: before });
      }
      expect(failures).toBeGreaterThan(0);
      for (const d of [...cluster.model.definitions.values()]) cluster.model.deleteDefinition(d);
    });
  }
});
