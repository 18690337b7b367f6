/**
 * Captures what the thin-provisioning tools print for `lvmthin-delta` transfers, on real LVM in
 * the testbed guest, into `fixtures/thin-tools/delta.json` (the core's fixture format): the metadata
 * snapshot's `dmsetup` messages (also reserving one that is held, and releasing one that is
 * not), `dmsetup status` with and without a held root, `thin_delta` between two snapshots and
 * `thin_dump` of one (and of a device that does not exist). Every command is built by
 * `src/delta-commands.ts`, so the capture also shows the real tools take those argv. They live
 * apart from the LVM fixtures: some of these failures are not LVM's (a release with none held,
 * `thin_delta` without a metadata snapshot), which the LVM error classifier need not know.
 *
 * The volume group is `stow-delta` (a `-` in its name, which device-mapper names double) on a
 * loop device, thin pool `pool` with 64 KiB chunks; the thin volume `t` gets blocks 2 and 9
 * written before snapshot `s1`, then block 2 rewritten, block 9 discarded and block 12 written
 * before snapshot `s2`.
 *
 * Run: `pnpm testbed up`, then `npx tsx packages/plugin-lvmthin/test/capture-delta.ts`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { RecordingRunner } from '@stowage/core/testing';
import type { CommandRunner } from '@stowage/core/plugin';
import { metadataSnapArgs, thinDeltaArgs, thinDumpArgs, tpoolStatusArgs } from '../src/delta-commands.js';
import { parseLvsReport } from '../src/parse.js';
import { lvsArgs } from '../src/commands.js';
import { FIXTURES_DIR } from './capture.js';
import { dropLoopVg, loopVg } from './support/scenarios.js';

const VG = 'stow-delta';
const POOL = 'pool';
const FILE = '/var/tmp/stowdelta.img';
const DEV = `/dev/${VG}/t`;
const ANY = Array.from({ length: 256 }, (_, i) => i);

const PREPARE = `set -e
modprobe loop 2>/dev/null || true
${loopVg(VG, FILE, '1G')}
lvcreate -q -y --type thin-pool -L 256M --chunksize 64k -n ${POOL} ${VG} >/dev/null
lvcreate -q -y -V 1M -n t --thinpool ${VG}/${POOL} >/dev/null
dd if=/dev/urandom of=${DEV} bs=64k seek=2 count=1 conv=fsync status=none
dd if=/dev/urandom of=${DEV} bs=64k seek=9 count=1 conv=fsync status=none
lvcreate -q -y -s -n s1 ${VG}/t >/dev/null
dd if=/dev/urandom of=${DEV} bs=64k seek=2 count=1 conv=fsync status=none
blkdiscard -o $((9 * 65536)) -l 65536 ${DEV}
dd if=/dev/urandom of=${DEV} bs=64k seek=12 count=1 conv=fsync status=none
lvcreate -q -y -s -n s2 ${VG}/t >/dev/null
udevadm settle --timeout=30`;

/**
 * Runs the tools and writes `fixtures/thin-tools/delta.json`.
 *
 * @param runner - a runner into the guest
 * @param dir - where to write
 */
export async function captureDeltaFixtures(runner: CommandRunner, dir = FIXTURES_DIR): Promise<void> {
  await runner.run(['sh', '-c', PREPARE], { timeoutMs: 300_000 });
  try {
    const ids = new Map(parseLvsReport((await runner.run(lvsArgs(VG))).stdout).map((lv) => [lv.name, lv.thinId!]));
    const rec = new RecordingRunner(runner);
    const run = (argv: string[]) => rec.run(argv, { okExitCodes: ANY });
    await run(tpoolStatusArgs(VG, POOL));
    await run(metadataSnapArgs(VG, POOL, 'reserve_metadata_snap'));
    await run(tpoolStatusArgs(VG, POOL));
    await run(metadataSnapArgs(VG, POOL, 'reserve_metadata_snap'));
    await run(thinDeltaArgs(VG, POOL, ids.get('s1')!, ids.get('s2')!));
    await run(thinDumpArgs(VG, POOL, ids.get('s1')!));
    await run(thinDumpArgs(VG, POOL, ids.get('s2')!));
    await run(thinDumpArgs(VG, POOL, 999));
    await run(metadataSnapArgs(VG, POOL, 'release_metadata_snap'));
    await run(metadataSnapArgs(VG, POOL, 'release_metadata_snap'));
    await run(thinDeltaArgs(VG, POOL, ids.get('s1')!, ids.get('s2')!));
    await mkdir(join(dir, 'thin-tools'), { recursive: true });
    await rec.save(join(dir, 'thin-tools', 'delta.json'));
  } finally {
    await runner.run(['sh', '-c', dropLoopVg(VG, FILE)], { timeoutMs: 300_000 });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { testbedRunner } = await import('../../testbed/src/ssh.js');
  const runner = testbedRunner();
  await captureDeltaFixtures(runner);
  await runner.close?.();
  console.log(`wrote ${join(FIXTURES_DIR, 'thin-tools', 'delta.json')}`);
}
