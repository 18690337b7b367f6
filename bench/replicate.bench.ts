/**
 * Replication between two nodes in the testbed guest (real ZFS and LVM-thin; two managers over
 * the testbed's runner, node `b` a `LocalNode`): a 4 GiB volume with 64 MiB written is
 * replicated once (full), then, round after round, 1 MiB of it changes and it is replicated
 * again. Printed: the stream bytes of each kind of run, and the time of a run.
 *
 * ZFS is measured against the bare pipeline Proxmox's `pvesr` runs, in the same guest and the
 * same rounds, alternated: `zfs snapshot`, `zfs send -i <prev> <new> | zfs recv -F <replica>`,
 * `zfs destroy <prev>` on both sides (its bytes from `zfs send -i ... | wc -c`). LVM-thin has no
 * bare increment to compare with (Proxmox replicates ZFS only): its bytes are set against the
 * 1 MiB changed and against the `raw+size` copy a migration would send (the volume's size).
 *
 * Works in datasets and a volume group of its own (`stowage/rbench*`, `stowrbench` on a loop
 * device in the guest). Skips with a clear message when the testbed is not up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalNode, StorageManager, type Logger, type ReplicateResult } from '@stowage/core';
import type { CommandRunner } from '@stowage/core/plugin';
import { LvmThinPlugin } from '@stowage/plugin-lvmthin';
import { ZfsPoolPlugin } from '@stowage/plugin-zfs';
import { runningState, TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { iterations, ms, now, printFooter, printTable, ratio, summarize } from './lib.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;
const ZA = `${TESTBED_POOLS.zpool}/rbencha`;
const ZB = `${TESTBED_POOLS.zpool}/rbenchb`;
const BARE_A = `${TESTBED_POOLS.zpool}/rbarea`;
const BARE_B = `${TESTBED_POOLS.zpool}/rbareb`;
const VG_A = 'stowrbencha';
const VG_B = 'stowrbenchb';

let runner: CommandRunner;
try {
  runningState();
  runner = testbedRunner();
  await runner.run(['zpool', 'list', '-H', '-o', 'name', TESTBED_POOLS.zpool], { timeoutMs: 20_000 });
} catch (e) {
  console.log(`replicate bench skipped: the testbed guest is not up (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); start it with \`pnpm testbed up\``);
  process.exit(0);
}

const quiet: Logger = { debug() {}, info() {}, warn() {} };
const sh = (script: string) => runner.run(['sh', '-c', script], { timeoutMs: 3_600_000 });
const rounds = iterations(3, 1);
const loop = (vg: string) => `/var/tmp/${vg}.img`;
const dropVg = (vg: string) => `if vgs ${vg} >/dev/null 2>&1; then vgremove -ff -y ${vg} >/dev/null 2>&1 || true; fi
for d in $(losetup -n -O NAME -j ${loop(vg)}); do pvremove -ff -y "$d" >/dev/null 2>&1 || true; losetup -d "$d"; done
rm -f ${loop(vg)}`;
const makeVg = (vg: string) => `${dropVg(vg)}
truncate -s 6G ${loop(vg)}
dev=$(losetup -f --show ${loop(vg)})
pvcreate -q -y "$dev" >/dev/null
vgcreate -q -y ${vg} "$dev" >/dev/null
lvcreate -q -y --type thin-pool -L 5G --chunksize 64k -n pool ${vg} >/dev/null`;
const DROP = `for d in ${ZA} ${ZB} ${BARE_A} ${BARE_B}; do zfs destroy -r $d >/dev/null 2>&1 || true; done
${dropVg(VG_A)}
${dropVg(VG_B)}`;
/** 1 MiB of random bytes at a random 64 KiB-aligned offset in the first 4 GiB less 1 MiB. */
const change = (devices: string[]) => {
  const seek = Math.floor(Math.random() * (4 * 16 * 1024 - 16));
  return sh(devices.map((d) => `dd if=/dev/urandom of=${d} bs=64k seek=${seek} count=16 conv=notrunc,fsync status=none`).join('\n'));
};

const lockDirs: string[] = [];
async function open(storages: Record<string, unknown>[], node: string): Promise<StorageManager> {
  const lockDir = await mkdtemp(join(tmpdir(), `stowage-rbench-${node}-`));
  lockDirs.push(lockDir);
  return StorageManager.open({ plugins: [ZfsPoolPlugin, LvmThinPlugin], config: storages, runner, lockDir, node, log: quiet });
}

try {
  let t0 = now();
  await sh(`set -e
${DROP}
for d in ${ZA} ${ZB} ${BARE_A} ${BARE_B}; do zfs create $d; done
modprobe loop 2>/dev/null || true
${makeVg(VG_A)}
${makeVg(VG_B)}
udevadm settle --timeout=30`);
  const a = await open([{ type: 'zfspool', storage: 'rz', pool: ZA, sparse: true }, { type: 'lvmthin', storage: 'rl', vgname: VG_A, thinpool: 'pool' }], 'a');
  const b = await open([{ type: 'zfspool', storage: 'rz', pool: ZB, sparse: true }, { type: 'lvmthin', storage: 'rl', vgname: VG_B, thinpool: 'pool' }], 'b');
  const node = new LocalNode('b', b);
  await a.allocImage('rz', { vmid: 100, name: 'vm-100-disk-0', size: 4 * GiB });
  await a.allocImage('rl', { vmid: 100, name: 'vm-100-disk-0', size: 4 * GiB });
  const zdev = `/dev/zvol/${ZA}/vm-100-disk-0`;
  const bare = `${BARE_A}/vm-100-disk-0`;
  const bdev = `/dev/zvol/${bare}`;
  const ldev = `/dev/${VG_A}/vm-100-disk-0`;
  await sh(`set -e
zfs create -s -V 4G ${bare}
udevadm settle --timeout=30
for d in ${zdev} ${bdev} ${ldev}; do dd if=/dev/urandom of=$d bs=1M count=64 conv=notrunc,fsync status=none; done`);
  console.log(`set up two nodes, a 4 GiB zvol and thin LV with 64 MiB written each, in ${ms(now() - t0)} ms`);

  const timed = async (fn: () => Promise<ReplicateResult>): Promise<[ReplicateResult, number]> => {
    const t = now();
    const r = await fn();
    return [r, now() - t];
  };
  const [zFull, zFullMs] = await timed(() => a.replicateVolume('rz:vm-100-disk-0', { toNode: node }));
  const [lFull, lFullMs] = await timed(() => a.replicateVolume('rl:vm-100-disk-0', { toNode: node }));
  t0 = now();
  await sh(`set -e; zfs snapshot ${bare}@r0; zfs send ${bare}@r0 | zfs recv ${BARE_B}/vm-100-disk-0`);
  const bareFullMs = now() - t0;

  const ours = { z: [] as number[], l: [] as number[], bare: [] as number[] };
  const bytes = { z: [] as number[], l: [] as number[], bare: [] as number[] };
  for (let i = 1; i <= rounds; i++) {
    await change([zdev, bdev, ldev]);
    const runOurs = async (): Promise<void> => {
      const [z, zMs] = await timed(() => a.replicateVolume('rz:vm-100-disk-0', { toNode: node }));
      ours.z.push(zMs);
      bytes.z.push(z.bytes);
    };
    const runBare = async (): Promise<void> => {
      bytes.bare.push(Number((await sh(`set -e; zfs snapshot ${bare}@r${i}; zfs send -i @r${i - 1} ${bare}@r${i} | wc -c`)).stdout.trim()));
      const t = now();
      await sh(`set -e
zfs send -i @r${i - 1} ${bare}@r${i} | zfs recv -F ${BARE_B}/vm-100-disk-0
zfs destroy ${bare}@r${i - 1}; zfs destroy ${BARE_B}/vm-100-disk-0@r${i - 1}`);
      ours.bare.push(now() - t);
    };
    if (i % 2 === 1) {
      await runOurs();
      await runBare();
    } else {
      await runBare();
      await runOurs();
    }
    const [l, lMs] = await timed(() => a.replicateVolume('rl:vm-100-disk-0', { toNode: node }));
    ours.l.push(lMs);
    bytes.l.push(l.bytes);
  }
  await a.close();
  await b.close();

  const p50 = (xs: number[]) => summarize(xs).p50;
  const ofRaw = (n: number) => `${((100 * n) / (4 * GiB + 8)).toFixed(3)} %`;
  printTable(`stream bytes: a 4 GiB volume with 64 MiB written, then 1 MiB changed (${rounds} rounds)`, ['storage', 'full run', 'increment (p50)', 'increment / 1 MiB', 'increment / raw+size (4 GiB)'], [
    ['ZFS replicateVolume (zfs stream)', zFull.bytes, p50(bytes.z), ratio(p50(bytes.z), MiB), ofRaw(p50(bytes.z))],
    ['ZFS bare zfs send -i', '-', p50(bytes.bare), ratio(p50(bytes.bare), MiB), ofRaw(p50(bytes.bare))],
    ['LVM-thin replicateVolume (lvmthin-delta)', lFull.bytes, p50(bytes.l), ratio(p50(bytes.l), MiB), ofRaw(p50(bytes.l))],
  ]);
  printTable('time of a run over the testbed runner (emulated guest; each LVM or ZFS command costs 0.2-2.5 s there)', ['run', 'full ms', 'increment p50 ms', 'vs bare'], [
    ['ZFS replicateVolume', zFullMs, p50(ours.z), ratio(p50(ours.z), p50(ours.bare))],
    ['ZFS bare snapshot; send -i | recv -F; destroy old (one sh)', bareFullMs, p50(ours.bare), 'x1.00'],
    ['LVM-thin replicateVolume', lFullMs, p50(ours.l), '-'],
  ]);
} finally {
  await sh(DROP).catch(() => undefined);
  for (const dir of lockDirs) await rm(dir, { recursive: true, force: true });
}
printFooter('replicate');
