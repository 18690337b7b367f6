import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { LinstorPlugin } from '../src/index.js';
import { pluginContext, type LogLine } from './plugin-context.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';

const MiB = 1024 * 1024;
let cluster: Cluster;
const plugin = new LinstorPlugin();
const ctx = (overrides: Record<string, unknown> = {}, logs: LogLine[] = []) => pluginContext(cluster.config(overrides), cluster.node, logs);
const vol = (volname: string) => plugin.parseVolname(volname);

beforeAll(async () => {
  cluster = await startCluster();
});
afterAll(async () => {
  await plugin.deactivateStorage(ctx());
  await cluster.close();
});
afterEach(() => {
  expect(cluster.validator?.violations ?? []).toEqual([]);
});

describe('linstor plugin against the stand-in', () => {
  it('allocates with a random LINSTOR name, the stowage name in Aux/, a local replica first', async () => {
    const name = await plugin.allocImage(ctx(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 4 * MiB });
    expect(name).toBe('vm-100-disk-0');
    const [rd] = [...cluster.model.definitions.values()].filter((d) => d.props['Aux/stowage/name'] === 'vm-100-disk-0');
    expect(rd?.name).toMatch(/^stowage-[0-9a-f]{8}$/);
    expect(rd?.props['Aux/stowage/vmid']).toBe('100');
    expect([...rd!.resources.values()].map((r) => [r.node, r.diskless])).toContainEqual([cluster.node, false]);
    expect(rd!.resources.size).toBe(2);
    const images = await plugin.listImages(ctx(), {});
    expect(images).toMatchObject([{ volid: 'drbd:vm-100-disk-0', size: 4 * MiB, vmid: 100, format: 'raw', isBase: false }]);
    await expect(plugin.allocImage(ctx(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
  });

  it('snapshots, rolls back (newest only), resizes, renames, frees', async () => {
    const v = vol('vm-100-disk-0');
    await plugin.volumeSnapshot(ctx(), { volume: v, snapshot: 'a' });
    await plugin.volumeSnapshot(ctx(), { volume: v, snapshot: 'b' });
    expect((await plugin.volumeSnapshotInfo(ctx(), { volume: v })).map((s) => s.name)).toEqual(['a', 'b']);
    await expect(plugin.volumeSnapshotRollback(ctx(), { volume: v, snapshot: 'a' })).rejects.toMatchObject({ code: 'SNAPSHOT_BLOCKERS', details: { blockers: ['b'] } });
    await plugin.volumeSnapshotRollback(ctx(), { volume: v, snapshot: 'a', destroyBlockers: true });
    expect((await plugin.volumeSnapshotInfo(ctx(), { volume: v })).map((s) => s.name)).toEqual(['a']);
    await plugin.volumeResize(ctx(), { volume: v, size: 8 * MiB });
    await expect(plugin.volumeResize(ctx(), { volume: v, size: 2 * MiB })).rejects.toMatchObject({ code: 'CANNOT_SHRINK' });
    expect((await plugin.volumeSizeInfo(ctx(), { volume: v })).size).toBe(8 * MiB);
    const renamed = await plugin.renameVolume(ctx(), { volume: v, targetVmid: 101, targetName: 'vm-101-disk-3' });
    expect(renamed).toBe('vm-101-disk-3');
    await plugin.freeImage(ctx(), { volume: vol(renamed) });
    expect(await plugin.listImages(ctx(), {})).toEqual([]);
    expect(cluster.model.definitions.size).toBe(0);
    await plugin.freeImage(ctx(), { volume: vol(renamed) }); // already gone: not an error
  });

  it('reports status from the group size query, cached until a write', async () => {
    const before = cluster.controllers[0]!.count('POST', '/v1/resource-groups/stowage_test/query-size-info');
    const s1 = await plugin.status(ctx());
    expect(s1.active).toBe(true);
    expect(s1.total).toBe(64 * 1024 * MiB);
    await plugin.status(ctx());
    expect(cluster.controllers[0]!.count('POST', '/v1/resource-groups/stowage_test/query-size-info')).toBe(before + 1);
    await plugin.allocImage(ctx(), { vmid: 7, format: 'raw', name: 'vm-7-disk-0', size: MiB });
    await plugin.status(ctx());
    expect(cluster.controllers[0]!.count('POST', '/v1/resource-groups/stowage_test/query-size-info')).toBe(before + 2);
    const missing = await plugin.status(ctx({ resourceGroup: 'nope' }));
    expect(missing).toMatchObject({ active: false, total: 0 });
    await plugin.freeImage(ctx(), { volume: vol('vm-7-disk-0') });
  });

  it('makes templates and clones; a base with clones cannot be freed', async () => {
    cluster.controllers[0]!.clone.polls = 3;
    await plugin.allocImage(ctx(), { vmid: 200, format: 'raw', name: 'vm-200-disk-0', size: MiB });
    const base = await plugin.createBase(ctx(), { volume: vol('vm-200-disk-0') });
    expect(base).toBe('base-200-disk-0');
    const clone = await plugin.cloneImage(ctx(), { volume: vol(base), vmid: 201, name: 'vm-201-disk-0' });
    expect(clone).toBe('base-200-disk-0/vm-201-disk-0');
    const info = await plugin.listImages(ctx(), { vmid: 201 });
    expect(info).toMatchObject([{ volid: 'drbd:base-200-disk-0/vm-201-disk-0', parent: 'drbd:base-200-disk-0' }]);
    await expect(plugin.freeImage(ctx(), { volume: vol(base) })).rejects.toMatchObject({ code: 'IN_USE', details: { clones: ['drbd:base-200-disk-0/vm-201-disk-0'] } });
    await plugin.freeImage(ctx(), { volume: vol(clone) });
    await plugin.freeImage(ctx(), { volume: vol(base) });
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('a clone that ends FAILED is removed and reported', async () => {
    cluster.controllers[0]!.clone.outcome = 'FAILED';
    try {
      await plugin.allocImage(ctx(), { vmid: 300, format: 'raw', name: 'base-300-disk-0', size: MiB });
      const err = await plugin.cloneImage(ctx(), { volume: vol('base-300-disk-0'), vmid: 301, name: 'vm-301-disk-0' }).catch((e: unknown) => e);
      expect(isStorageError(err, 'COMMAND_FAILED')).toBe(true);
      expect((await plugin.listImages(ctx(), {})).map((i) => i.volname)).toEqual(['base-300-disk-0']);
      expect(cluster.model.definitions.size).toBe(1);
    } finally {
      cluster.controllers[0]!.clone.outcome = 'COMPLETE';
      await plugin.freeImage(ctx(), { volume: vol('base-300-disk-0') });
    }
  });
});
