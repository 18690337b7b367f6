import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PassThrough, Readable } from 'node:stream';
import { encodeSizeHeader } from '@stowage/core/plugin';
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
    await expect(plugin.freeImage(ctx(), { volume: vol(renamed) }), 'freeing it again').rejects.toMatchObject({ code: 'NOT_FOUND' });
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

  it('imports and exports raw+size through the local device, also from a snapshot', async () => {
    const data = randomBytes(2 * MiB);
    const input = Readable.from([encodeSizeHeader(data.length), data.subarray(0, 12345), data.subarray(12345)]);
    const name = await plugin.volumeImport(ctx(), { volume: vol('vm-400-disk-0'), format: 'raw+size', input });
    expect(name).toBe('vm-400-disk-0');
    const exportOf = async (snapshot?: string) => {
      const out = new PassThrough();
      const chunks: Buffer[] = [];
      out.on('data', (c: Buffer) => chunks.push(c));
      await plugin.volumeExport(ctx(), { volume: vol(name), format: 'raw+size', output: out, snapshot });
      return Buffer.concat(chunks);
    };
    expect((await exportOf()).equals(Buffer.concat([encodeSizeHeader(data.length), data]))).toBe(true);
    await plugin.volumeSnapshot(ctx(), { volume: vol(name), snapshot: 'before' });
    const later = randomBytes(2 * MiB);
    const rd = [...cluster.model.definitions.values()][0]!;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(rd.dataFile, later);
    expect((await exportOf()).subarray(8).equals(later)).toBe(true);
    expect((await exportOf('before')).subarray(8).equals(data)).toBe(true);
    expect(cluster.model.definitions.size).toBe(1); // the restored snapshot volume is gone again
    const p = await plugin.path(ctx(), { volume: vol(name), snapshot: 'before' });
    await plugin.activateVolume(ctx(), { volume: vol(name), snapshot: 'before' });
    expect(existsSync(p.path)).toBe(true);
    await plugin.deactivateVolume(ctx(), { volume: vol(name), snapshot: 'before' });
    expect(existsSync(p.path)).toBe(false);
    await plugin.volumeSnapshotRollback(ctx(), { volume: vol(name), snapshot: 'before' });
    expect((await exportOf()).subarray(8).equals(data)).toBe(true);
    await plugin.freeImage(ctx(), { volume: vol(name) });
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('a truncated import leaves nothing behind', async () => {
    const input = Readable.from([encodeSizeHeader(MiB), randomBytes(1000)]);
    await expect(plugin.volumeImport(ctx(), { volume: vol('vm-401-disk-0'), format: 'raw+size', input })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('an import longer than its size header is refused and leaves nothing behind', async () => {
    const input = Readable.from([encodeSizeHeader(MiB), randomBytes(MiB), randomBytes(1)]);
    await expect(plugin.volumeImport(ctx(), { volume: vol('vm-402-disk-0'), format: 'raw+size', input })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { size: MiB, received: MiB + 1 },
    });
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('activation on a node without a replica makes a diskless one, and deactivation removes only that', async () => {
    await plugin.allocImage(ctx(), { vmid: 500, format: 'raw', name: 'vm-500-disk-0', size: MiB });
    const elsewhere = ctx({ node: 'node-c' });
    const rd = [...cluster.model.definitions.values()][0]!;
    const hadC = rd.resources.has('node-c');
    await plugin.activateVolume(elsewhere, { volume: vol('vm-500-disk-0') });
    expect(rd.resources.has('node-c')).toBe(true);
    await plugin.deactivateVolume(elsewhere, { volume: vol('vm-500-disk-0') });
    expect(rd.resources.has('node-c')).toBe(hadC);
    // the diskful local replica stays
    await plugin.activateVolume(ctx(), { volume: vol('vm-500-disk-0') });
    await plugin.deactivateVolume(ctx(), { volume: vol('vm-500-disk-0') });
    expect(rd.resources.get(cluster.node)?.diskless).toBe(false);
    await plugin.freeImage(ctx(), { volume: vol('vm-500-disk-0') });
  });

  it('refuses to free a volume still in use after the bounded wait', async () => {
    await plugin.allocImage(ctx(), { vmid: 600, format: 'raw', name: 'vm-600-disk-0', size: MiB });
    const rd = [...cluster.model.definitions.values()][0]!;
    [...rd.resources.values()][0]!.inUse = true;
    await expect(plugin.freeImage(ctx(), { volume: vol('vm-600-disk-0') })).rejects.toMatchObject({ code: 'IN_USE' });
    expect(cluster.model.definitions.size).toBe(1);
    [...rd.resources.values()][0]!.inUse = false;
    await plugin.freeImage(ctx(), { volume: vol('vm-600-disk-0') });
  });

  it('NO_SPACE when the pools cannot hold the volume, with nothing left behind', async () => {
    await expect(plugin.allocImage(ctx(), { vmid: 700, format: 'raw', name: 'vm-700-disk-0', size: 128 * 1024 * MiB })).rejects.toMatchObject({ code: 'NO_SPACE' });
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('lists with one view (two GETs) per operation, and allocates in parallel without name races', async () => {
    const c = cluster.controllers[0]!;
    const op = ctx();
    const before = [c.count('GET', '/v1/view/resources'), c.count('GET', '/v1/resource-definitions')];
    await plugin.listImages(op, {});
    await plugin.listImages(op, { vmid: 5 });
    await plugin.findFreeDiskname(op, { vmid: 5 });
    expect([c.count('GET', '/v1/view/resources'), c.count('GET', '/v1/resource-definitions')]).toEqual([before[0]! + 1, before[1]! + 1]);
    const names = Array.from({ length: 6 }, (_, i) => `vm-800-disk-${i}`);
    await Promise.all(names.map((name) => plugin.allocImage(ctx(), { vmid: 800, format: 'raw', name, size: MiB })));
    expect((await plugin.listImages(ctx(), { vmid: 800 })).map((i) => i.volname)).toEqual(names);
    expect(new Set([...cluster.model.definitions.values()].map((d) => d.name)).size).toBe(6);
    await Promise.all(names.map((name) => plugin.freeImage(ctx(), { volume: vol(name) })));
    expect(cluster.model.definitions.size).toBe(0);
  });

  it('checked every exchange against the OpenAPI spec (when present)', () => {
    if (!cluster.validator) return console.warn('LINSTOR OpenAPI spec absent: exchanges were not validated');
    expect(cluster.validator.checked).toBeGreaterThan(100);
    expect(cluster.validator.violations).toEqual([]);
  });
});
