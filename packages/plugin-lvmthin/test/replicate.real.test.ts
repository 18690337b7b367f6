/**
 * Replication between two nodes on real ZFS and real LVM-thin in the testbed guest: two
 * managers, each a node of its own (`LocalNode`), over the testbed's runner. Node `a` keeps its
 * volumes in dataset `stowage/repa` and thin pool `stowage/data`; node `b` in dataset
 * `stowage/repb` and thin pool `stowrepb/pool` (a volume group of its own on a loop device, as
 * LV names are per volume group). The first run sends the whole volume, the next only what
 * changed (bytes counted and printed), a run cut off mid-stream leaves both sides at their last
 * replication, and the replica ends byte-identical to the source.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform, Writable } from 'node:stream';
import { isStorageError, LocalNode, StorageManager, type NodeImportOptions, type ReplicateResult } from '@stowage/core';
import { ZfsPoolPlugin } from '@stowage/plugin-zfs';
import { TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lvsArgs } from '../src/commands.js';
import { metadataSnapArgs, readRangesArgs, readRangesInput, thinDumpArgs } from '../src/delta-commands.js';
import type { DeltaRange } from '../src/delta-frame.js';
import { fullRanges, parseThinDump } from '../src/delta-parse.js';
import { LvmThinPlugin } from '../src/lvmthin-plugin.js';
import { parseLvsReport } from '../src/parse.js';
import { expectShape } from '../../cli/test/support/json-shape.js';
import { dropLoopVg, loopVg } from './support/scenarios.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const runner = testbedRunner();
const vmid = 870_000_000 + Math.floor(Math.random() * 1_000_000);
const zfsA = `${TESTBED_POOLS.zpool}/repa`;
const zfsB = `${TESTBED_POOLS.zpool}/repb`;
const vgB = 'stowrepb';
const loopFile = '/var/tmp/stowrepb.img';

const sh = (script: string) => runner.run(['sh', '-c', script], { timeoutMs: 600_000 });

/** Writes `count` 64 KiB blocks of random bytes at block `seek` of a device in the guest. */
const scribble = (device: string, seek: number, count: number) => sh(`dd if=/dev/urandom of=${device} bs=64k seek=${seek} count=${count} conv=notrunc,fsync status=none`);

/**
 * A node whose imports lose their input after `after` bytes, as when the network goes: the
 * node's import sees its stream fail.
 */
class CuttingNode extends LocalNode {
  constructor(
    manager: StorageManager,
    private readonly after: number,
  ) {
    super('b', manager);
  }

  override importVolume(volid: string, options: NodeImportOptions): Promise<string> {
    let seen = 0;
    const after = this.after;
    const cut = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        seen += chunk.length;
        cb(seen > after ? new Error('the connection to the node broke') : null, chunk);
      },
    });
    options.input.once('error', (e) => cut.destroy(e));
    return super.importVolume(volid, { ...options, input: options.input.pipe(cut) });
  }
}

/** The message of an error and of its causes, for checking why a run failed. */
function messages(e: unknown): string {
  const out: string[] = [];
  for (let x = e; x instanceof Error; x = x.cause) out.push(x.message);
  return out.join(' <- ');
}

function replicationSnapshots(names: readonly string[]): string[] {
  return names.filter((n) => n.startsWith('__replicate_'));
}

describe('replication between two nodes in the testbed', () => {
  let a: StorageManager;
  let b: StorageManager;
  let nodeB: LocalNode;
  const lockDirs: string[] = [];

  beforeAll(async () => {
    await sh(`set -e
for d in ${zfsA} ${zfsB}; do zfs destroy -r $d >/dev/null 2>&1 || true; zfs create $d; done
modprobe loop 2>/dev/null || true
${loopVg(vgB, loopFile, '2G')}
lvcreate -q -y --type thin-pool -L 1G --chunksize 64k -n pool ${vgB} >/dev/null
udevadm settle --timeout=30`);
    const open = async (zfsPool: string, vg: string, thinpool: string, node: string): Promise<StorageManager> => {
      const lockDir = await mkdtemp(join(tmpdir(), `stowage-repl-${node}-`));
      lockDirs.push(lockDir);
      return StorageManager.open({
        plugins: [ZfsPoolPlugin, LvmThinPlugin],
        config: [
          { type: 'zfspool', storage: 'zr', pool: zfsPool, sparse: true },
          { type: 'lvmthin', storage: 'lr', vgname: vg, thinpool },
        ],
        runner,
        lockDir,
        node,
      });
    };
    a = await open(zfsA, TESTBED_POOLS.vgname, TESTBED_POOLS.thinpool, 'a');
    b = await open(zfsB, vgB, 'pool', 'b');
    nodeB = new LocalNode('b', b);
  });

  afterAll(async () => {
    for (const m of [a, b]) {
      for (const image of await m?.listImages('lr', { vmid }).catch(() => []) ?? []) await m.freeImage(image.volid).catch(() => undefined);
      await m?.close();
    }
    for (const dir of lockDirs) await rm(dir, { recursive: true, force: true });
    await sh(`zfs destroy -r ${zfsA} >/dev/null 2>&1; zfs destroy -r ${zfsB} >/dev/null 2>&1; ${dropLoopVg(vgB, loopFile)}`).catch(() => undefined);
  });

  it('ZFS: the first run sends the whole zvol, the next only the increment; a cut run leaves both sides as they were', async () => {
    const volid = `zr:vm-${vmid}-disk-0`;
    await a.allocImage('zr', { vmid, name: `vm-${vmid}-disk-0`, size: 16 * MiB });
    const device = `/dev/zvol/${zfsA}/vm-${vmid}-disk-0`;
    await sh(`udevadm settle --timeout=30; dd if=/dev/urandom of=${device} bs=1M count=16 conv=notrunc,fsync status=none`);
    const sums = async (): Promise<[string, string]> => {
      const out = (await sh(`udevadm settle --timeout=30; sha256sum ${device} /dev/zvol/${zfsB}/vm-${vmid}-disk-0`)).stdout.trim().split('\n');
      return [out[0]!.split(' ')[0]!, out[1]!.split(' ')[0]!];
    };

    const progress: number[] = [];
    const full = await a.replicateVolume(volid, { toNode: nodeB, onProgress: (p) => progress.push(p.done) });
    expect(full).toMatchObject({ volid, from: volid, node: 'b', format: 'zfs', mode: 'full', dropped: [] });
    expectShape('replicate', full);
    expect(full.bytes).toBeGreaterThan(16 * MiB);
    expect(progress.at(-1)).toBe(full.bytes);
    const [src1, dst1] = await sums();
    expect(dst1).toBe(src1);
    expect(replicationSnapshots(await nodeB.snapshots(volid))).toEqual([full.snapshot]);

    await scribble(device, 100, 16); // 1 MiB at 6.25 MiB
    const next = await a.replicateVolume(volid, { toNode: nodeB });
    console.log(`ZFS replication of a 16 MiB zvol: full ${full.bytes} bytes, increment after a 1 MiB change ${next.bytes} bytes`);
    expect(next).toMatchObject({ mode: 'incremental', format: 'zfs', baseSnapshot: full.snapshot, dropped: [full.snapshot] });
    expect(next.bytes).toBeGreaterThan(MiB);
    expect(next.bytes).toBeLessThan(full.bytes / 4);
    const [src2, dst2] = await sums();
    expect(dst2).toBe(src2);
    expect(replicationSnapshots((await a.volumeSnapshotInfo(volid)).map((s) => s.name))).toEqual([next.snapshot]);
    expect(replicationSnapshots(await nodeB.snapshots(volid))).toEqual([next.snapshot]);

    await scribble(device, 10, 16);
    const e = await a.replicateVolume(volid, { toNode: new CuttingNode(b, 256 * 1024) }).catch((x: unknown) => x);
    expect(isStorageError(e), messages(e)).toBe(true);
    expect(messages(e)).toContain('the connection to the node broke');
    expect(replicationSnapshots((await a.volumeSnapshotInfo(volid)).map((s) => s.name)), 'source after the cut run').toEqual([next.snapshot]);
    expect(replicationSnapshots(await nodeB.snapshots(volid)), 'replica after the cut run').toEqual([next.snapshot]);
    expect((await sums())[1], 'the replica still holds the last replication').toBe(dst2);

    const after = await a.replicateVolume(volid, { toNode: nodeB });
    expect(after).toMatchObject({ mode: 'incremental', baseSnapshot: next.snapshot });
    const [src3, dst3] = await sums();
    expect(dst3).toBe(src3);
  });

  /** The mapped ranges of a thin LV, from a metadata snapshot of its pool (the LV is active, so the pool's -tpool is there). */
  async function mapped(vg: string, pool: string, lv: string): Promise<DeltaRange[]> {
    const [record] = parseLvsReport((await runner.run(lvsArgs(vg, lv))).stdout);
    const id = record!.thinId!;
    await runner.run(metadataSnapArgs(vg, pool, 'reserve_metadata_snap'));
    try {
      const dump = parseThinDump((await runner.run(thinDumpArgs(vg, pool, id))).stdout, id);
      return fullRanges({ ...dump, mapped: dump.mapped! }, record!.size);
    } finally {
      await runner.run(metadataSnapArgs(vg, pool, 'release_metadata_snap'));
    }
  }

  /** SHA-256 of a device's bytes in these ranges, one after the other. */
  async function sha(device: string, ranges: readonly DeltaRange[]): Promise<string> {
    const hash = createHash('sha256');
    await runner.run(readRangesArgs(device), { stdin: readRangesInput(ranges), stdout: new Writable({ write: (c: Buffer, _e, cb) => (hash.update(c), cb()) }) });
    return hash.digest('hex');
  }

  /**
   * Whether two thin LVs hold the same bytes: equal over every range either one has mapped;
   * outside those ranges both read zeros (nothing is mapped there). Reading 4 GiB twice would
   * take minutes in the emulated guest.
   */
  async function sameThinData(lvA: string, lvB: string): Promise<{ same: boolean; mappedBytes: number }> {
    const union = [...(await mapped(TESTBED_POOLS.vgname, TESTBED_POOLS.thinpool, lvA)), ...(await mapped(vgB, 'pool', lvB))]
      .map((r) => ({ ...r, kind: 'data' as const }))
      .sort((x, y) => x.offset - y.offset)
      .reduce<DeltaRange[]>((out, r) => {
        const last = out.at(-1);
        if (last && r.offset <= last.offset + last.length) out[out.length - 1] = { ...last, length: Math.max(last.length, r.offset + r.length - last.offset) };
        else out.push(r);
        return out;
      }, []);
    const [x, y] = await Promise.all([sha(`/dev/${TESTBED_POOLS.vgname}/${lvA}`, union), sha(`/dev/${vgB}/${lvB}`, union)]);
    return { same: x === y, mappedBytes: union.reduce((n, r) => n + r.length, 0) };
  }

  it('LVM-thin: after 1 MiB of a 4 GiB volume changes, the increment is under 2 MiB and the replica is byte-identical', async () => {
    const name = `vm-${vmid}-disk-0`;
    const volid = `lr:${name}`;
    await a.allocImage('lr', { vmid, name, size: 4 * GiB });
    const device = `/dev/${TESTBED_POOLS.vgname}/${name}`;
    await scribble(device, 0, 64); // 4 MiB at the start
    await scribble(device, (3 * GiB) / (64 * 1024), 64); // 4 MiB at 3 GiB

    const full = await a.replicateVolume(volid, { toNode: nodeB });
    expect(full).toMatchObject({ volid, node: 'b', format: 'lvmthin-delta', mode: 'full' });
    expect(full.bytes, 'a full copy sends the mapped 8 MiB, not 4 GiB').toBeLessThan(9 * MiB);
    expect(full.bytes).toBeGreaterThan(8 * MiB);
    expect(replicationSnapshots(await nodeB.snapshots(volid))).toEqual([full.snapshot]);
    expect((await sameThinData(name, name)).same).toBe(true);

    // 1 MiB changes: 512 KiB rewritten at the start, 512 KiB new at 1 GiB; and 64 KiB discarded
    await scribble(device, 8, 8);
    await scribble(device, GiB / (64 * 1024), 8);
    await sh(`blkdiscard -o ${3 * GiB} -l 65536 ${device}`);
    const next = await a.replicateVolume(volid, { toNode: nodeB });
    console.log(`LVM-thin replication of a 4 GiB volume: full ${full.bytes} bytes (8 MiB mapped), increment after a 1 MiB change ${next.bytes} bytes`);
    expect(next).toMatchObject({ mode: 'incremental', format: 'lvmthin-delta', baseSnapshot: full.snapshot, dropped: [full.snapshot] });
    expectShape('replicate', next);
    expect(next.bytes).toBeGreaterThan(MiB);
    expect(next.bytes).toBeLessThan(2 * MiB);
    const same = await sameThinData(name, name);
    expect(same.same, `the replica's ${same.mappedBytes} mapped bytes`).toBe(true);
    expect(replicationSnapshots((await a.volumeSnapshotInfo(volid)).map((s) => s.name))).toEqual([next.snapshot]);
    expect(replicationSnapshots(await nodeB.snapshots(volid))).toEqual([next.snapshot]);

    // cut mid-stream: both sides stay at `next`, no scratch LV is left on b
    await scribble(device, 200, 16);
    const before = await sha(`/dev/${vgB}/${name}`, [{ kind: 'data', offset: 0, length: 16 * MiB }]);
    const e = await a.replicateVolume(volid, { toNode: new CuttingNode(b, 256 * 1024) }).catch((x: unknown) => x);
    expect(isStorageError(e), messages(e)).toBe(true);
    expect(messages(e)).toContain('the connection to the node broke');
    expect(replicationSnapshots((await a.volumeSnapshotInfo(volid)).map((s) => s.name)), 'source after the cut run').toEqual([next.snapshot]);
    expect(replicationSnapshots(await nodeB.snapshots(volid)), 'replica after the cut run').toEqual([next.snapshot]);
    expect(parseLvsReport((await runner.run(lvsArgs(vgB))).stdout).map((lv) => lv.name).filter((n) => n.startsWith('stowage_delta_'))).toEqual([]);
    expect(await sha(`/dev/${vgB}/${name}`, [{ kind: 'data', offset: 0, length: 16 * MiB }]), 'the replica still holds the last replication').toBe(before);

    const after: ReplicateResult = await a.replicateVolume(volid, { toNode: nodeB });
    expect(after).toMatchObject({ mode: 'incremental', baseSnapshot: next.snapshot });
    expect((await sameThinData(name, name)).same).toBe(true);
  });

  it('refuses a replica that shares no replication snapshot with the source (ALREADY_EXISTS), changing nothing', async () => {
    const name = `vm-${vmid}-disk-1`;
    await a.allocImage('lr', { vmid, name, size: 64 * MiB });
    await b.allocImage('lr', { vmid, name, size: 64 * MiB });
    const e = await a.replicateVolume(`lr:${name}`, { toNode: nodeB }).catch((x: unknown) => x);
    expect(isStorageError(e, 'ALREADY_EXISTS'), String(e)).toBe(true);
    expect(await a.volumeSnapshotInfo(`lr:${name}`)).toEqual([]);
    expect(await nodeB.snapshots(`lr:${name}`)).toEqual([]);
  });
});
