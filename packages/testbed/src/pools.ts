/**
 * Fresh pools for each test run: the guest's two data disks are wiped and get a new volume
 * group with a thin pool, and a new zpool, whatever an earlier (possibly killed) run left.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CommandRunner } from '@stowage/core/plugin';
import { GUEST_DIR } from './paths.js';
import { testbedRunner } from './ssh.js';

/** The names of the testbed's pools, as plugin configs use them. */
export const TESTBED_POOLS = {
  /** The LVM volume group (`vgname` of an lvmthin storage). */
  vgname: 'stowage',
  /** The thin pool in it (`thinpool`). */
  thinpool: 'data',
  /** The thin pool's size, as `lvcreate -L` takes it. */
  thinpoolSize: '10G',
  /** The zpool (`pool` of a zfspool storage), mounted at `/stowage`. */
  zpool: 'stowage',
} as const;

/** What {@link freshPools} did. */
export interface FreshPoolsResult {
  /** The volume group. */
  readonly vgname: string;
  /** The thin pool. */
  readonly thinpool: string;
  /** The zpool. */
  readonly zpool: string;
  /** Seconds it took. */
  readonly seconds: number;
}

/**
 * Wipes both data disks of the running guest and creates the volume group `stowage` with thin
 * pool `data`, and the zpool `stowage` (see {@link TESTBED_POOLS}). Processes still holding a
 * volume open are killed first, so a killed run needs no manual clean-up.
 *
 * @param runner - a runner into the guest (default {@link testbedRunner})
 * @returns the pool names and the time taken
 * @throws {@link CommandError} when the guest script fails
 * @example
 * ```ts
 * const pools = await freshPools();
 * const config = { type: 'lvmthin', storage: 'thin', vgname: pools.vgname, thinpool: pools.thinpool };
 * ```
 */
export async function freshPools(runner: CommandRunner = testbedRunner()): Promise<FreshPoolsResult> {
  const script = await readFile(join(GUEST_DIR, 'fresh-pools.sh'), 'utf8');
  const started = Date.now();
  const { vgname, thinpool, thinpoolSize, zpool } = TESTBED_POOLS;
  await runner.run(['sh', '-s', vgname, thinpool, thinpoolSize, zpool], { stdin: script, timeoutMs: 300_000 });
  return { vgname, thinpool, zpool, seconds: Math.round((Date.now() - started) / 100) / 10 };
}
