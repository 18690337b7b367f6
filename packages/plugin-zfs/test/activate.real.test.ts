/**
 * Storage activation on real ZFS in the testbed guest: a pool that is not imported is imported
 * by the first operation (`zpool import -d /dev/disk/by-id/ -o cachefile=none`), as Proxmox does
 * when a node boots without the pool cache, and by the call after a failure when it was exported
 * behind the manager's back. Uses the testbed's disk-backed zpool, exported first.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageManager } from '@stowage/core';
import { ZfsPoolPlugin } from '@stowage/plugin-zfs';
import { TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { afterAll, describe, expect, it } from 'vitest';

const ANY_EXIT = Array.from({ length: 256 }, (_, i) => i);
const pool = TESTBED_POOLS.zpool;
const runner = testbedRunner();

describe('zfspool activation on the testbed', () => {
  afterAll(async () => {
    // whatever happened, leave the pool imported for the next test file
    await runner.run(['zpool', 'import', '-d', '/dev/disk/by-id/', '-o', 'cachefile=none', pool], { okExitCodes: ANY_EXIT });
  });

  it('imports an exported pool on the first operation, then lists its volumes', async () => {
    const dataset = `${pool}/activate`;
    await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
    await runner.run(['zfs', 'create', dataset]);
    await runner.run(['zfs', 'create', '-s', '-V', '1M', `${dataset}/vm-100-disk-0`]);
    await runner.run(['zpool', 'export', pool]);
    expect((await runner.run(['zpool', 'list', '-H', '-o', 'name', pool], { okExitCodes: [0, 1] })).exitCode, 'the pool is exported').toBe(1);

    const lockDir = await mkdtemp(join(tmpdir(), 'stowage-zfs-activate-'));
    // listings are not reused (1 ms), the activation is (the default 60 s)
    const m = await StorageManager.open({ plugins: [ZfsPoolPlugin], config: [{ type: 'zfspool', storage: 'act', pool: dataset }], runner, lockDir, cacheTtlMs: 1 });
    try {
      expect((await m.listImages('act')).map((i) => i.volid)).toEqual(['act:vm-100-disk-0']);
      expect((await runner.run(['zpool', 'list', '-H', '-o', 'name', pool])).stdout.trim()).toBe(pool);
      expect(await m.status('act')).toMatchObject({ active: true });
      // exported behind the manager's back, within the time it trusts its activation: the next
      // call fails, and the one after it activates anew (imports the pool)
      await runner.run(['zpool', 'export', pool]);
      await expect(m.listImages('act')).rejects.toHaveProperty('code');
      expect((await m.listImages('act')).map((i) => i.volid)).toEqual(['act:vm-100-disk-0']);
    } finally {
      await m.close();
      await rm(lockDir, { recursive: true, force: true });
      await runner.run(['zfs', 'destroy', '-r', dataset], { okExitCodes: ANY_EXIT });
    }
  });
});
