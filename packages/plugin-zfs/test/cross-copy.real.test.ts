/**
 * Copies between ZFS and LVM-thin in the testbed guest through the manager: the formats are
 * negotiated (`zfs` is not read by LVM-thin, so `raw+size`), and the bytes arrive unchanged in
 * both directions.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { encodeSizeHeader } from '@stowage/core/plugin';
import { StorageManager } from '@stowage/core';
import { LvmThinPlugin } from '@stowage/plugin-lvmthin';
import { ZfsPoolPlugin } from '@stowage/plugin-zfs';
import { TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const MiB = 1024 * 1024;
const dataset = `${TESTBED_POOLS.zpool}/xcopy`;
const runner = testbedRunner();
const vmid = 880_000_000 + Math.floor(Math.random() * 1_000_000);

/** 4 MiB (a whole LVM extent, a whole number of MiB for ZFS) of bytes that differ block by block, with a run of zeros in the middle. */
function pattern(): Buffer {
  const b = Buffer.alloc(4 * MiB);
  for (let i = 0; i < b.length; i += 4) b.writeUInt32LE((i * 2654435761) >>> 0, i);
  b.fill(0, MiB, MiB + 256 * 1024);
  return b;
}

async function exportRaw(m: StorageManager, volid: string): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await m.volumeExport(volid, { format: 'raw+size', output: out });
  return Buffer.concat(chunks);
}

describe('copies between zfspool and lvmthin on the testbed', () => {
  let m: StorageManager;
  let lockDir = '';
  beforeAll(async () => {
    await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
    await runner.run(['zfs', 'create', dataset]);
    lockDir = await mkdtemp(join(tmpdir(), 'stowage-xcopy-'));
    m = await StorageManager.open({
      plugins: [ZfsPoolPlugin, LvmThinPlugin],
      config: [
        { type: 'zfspool', storage: 'zx', pool: dataset, sparse: true },
        { type: 'lvmthin', storage: 'lx', vgname: TESTBED_POOLS.vgname, thinpool: TESTBED_POOLS.thinpool },
      ],
      runner,
      lockDir,
    });
  });

  afterAll(async () => {
    for (const storeId of ['zx', 'lx']) {
      for (const image of await m.listImages(storeId, { vmid }).catch(() => [])) await m.freeImage(image.volid).catch(() => undefined);
    }
    await m.close();
    await rm(lockDir, { recursive: true, force: true });
    await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
  });

  it('copies a zvol to LVM-thin and back in raw+size, byte for byte', async () => {
    const data = pattern();
    const zvol = await m.volumeImport(`zx:vm-${vmid}-disk-0`, { format: 'raw+size', input: Readable.from([encodeSizeHeader(data.length), data]) });
    expect(await m.volumeExportFormats(zvol)).toEqual(['zfs', 'raw+size']);

    const progress: number[] = [];
    const lv = await m.copyVolume(zvol, 'lx', { name: `vm-${vmid}-disk-1`, onProgress: (p) => progress.push(p.done) });
    expect(lv).toBe(`lx:vm-${vmid}-disk-1`);
    expect(progress.at(-1)).toBe(8 + data.length);
    expect((await exportRaw(m, lv)).equals(Buffer.concat([encodeSizeHeader(data.length), data]))).toBe(true);

    const back = await m.copyVolume(lv, 'zx', { name: `vm-${vmid}-disk-2` });
    expect(back).toBe(`zx:vm-${vmid}-disk-2`);
    expect((await exportRaw(m, back)).equals(Buffer.concat([encodeSizeHeader(data.length), data]))).toBe(true);
    expect((await m.volumeSnapshotInfo(zvol)).map((s) => s.name), 'no snapshot left on the source').toEqual([]);
  });

  it('copies within ZFS as a zfs stream, leaving no migration snapshot on either side', async () => {
    const [source] = await m.listImages('zx', { volids: [`zx:vm-${vmid}-disk-0`] });
    const copy = await m.copyVolume(source!.volid, 'zx', { name: `vm-${vmid}-disk-3` });
    expect((await exportRaw(m, copy)).equals(await exportRaw(m, source!.volid))).toBe(true);
    expect(await m.volumeSnapshotInfo(copy)).toEqual([]);
    expect(await m.volumeSnapshotInfo(source!.volid)).toEqual([]);
  });
});
