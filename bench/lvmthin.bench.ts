/**
 * The `lvmthin` plugin against the bare LVM commands it runs, in the testbed guest (real LVM,
 * over the testbed's ssh runner), measured in the same run and interleaved:
 *
 * 1. listImages over 500 thin LVs (plain volumes, bases, linked clones) vs the one bare `lvs`
 *    it runs (same argv, same runner).
 * 2. allocImage vs the bare `lvcreate` it runs; cloneImage of a base vs the bare `lvcreate -s`.
 *    Also through the StorageManager (storage lock; the name is chosen from the listing it has,
 *    so no `lvs` runs: the plugin declares `exclusiveCreate`), and through a manager on the same
 *    plugin without that capability (an `lvs` under the lock before each create). The four are
 *    interleaved round by round.
 *
 * Works in a volume group of its own (`stowbench`, on a loop file in the guest), so it neither
 * sees nor touches the testbed's pools. Skips with a clear message when the testbed is not up.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { localFileSystem, OperationCache, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { StorageManager, type Logger } from '@stowage/core';
import { LvmThinPlugin, type LvmThinConfig } from '@stowage/plugin-lvmthin';
import { lvcreateSnapshotArgs, lvcreateThinArgs, lvsArgs } from '../packages/plugin-lvmthin/src/commands.ts';
import { runningState, testbedRunner } from '@stowage/testbed';
import { interleaved, iterations, ms, now, printFooter, printTable, ratio, STATS_HEADER, statsRow, summarize, type Stats } from './lib.ts';

const VG = 'stowbench';
const FILE = '/var/tmp/stowbench.img';
const config: LvmThinConfig = { type: 'lvmthin', storage: 'bench', vgname: VG, thinpool: 'pool' };
const MiB = 1024 * 1024;

let runner: CommandRunner;
try {
  runningState();
  runner = testbedRunner();
  await runner.run(['true'], { timeoutMs: 20_000 });
} catch (e) {
  console.log(`lvmthin bench skipped: the testbed guest is not up (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); start it with \`pnpm testbed up\``);
  process.exit(0);
}

const quiet: Logger = { debug() {}, info() {}, warn() {} };
const plugin = new LvmThinPlugin();
const ctx = (): PluginContext<LvmThinConfig> => ({
  storeId: config.storage,
  config,
  cache: new OperationCache(),
  runner,
  run: (argv, o) => runner.run(argv, o),
  signal: undefined,
  fs: localFileSystem,
  log: quiet,
  node: 'bench',
  nameReserved: () => undefined,
});
const sh = (script: string) => runner.run(['sh', '-c', script], { timeoutMs: 3_600_000 });

const DROP = `if vgs ${VG} >/dev/null 2>&1; then vgremove -ff -y ${VG} >/dev/null 2>&1 || true; fi
for d in $(losetup -n -O NAME -j ${FILE}); do pvremove -ff -y "$d" >/dev/null 2>&1 || true; losetup -d "$d"; done
rm -f ${FILE}`;

function compare(title: string, ours: [string, Stats], bare: [string, Stats], extra: Array<[string, Stats]> = []): void {
  printTable(title, [...STATS_HEADER, 'p50 ratio', 'mean ratio'], [
    [...statsRow(bare[0], bare[1]), 'x1.00', 'x1.00'],
    [...statsRow(ours[0], ours[1]), ratio(ours[1].p50, bare[1].p50), ratio(ours[1].mean, bare[1].mean)],
    ...extra.map(([name, s]) => [...statsRow(name, s), ratio(s.p50, bare[1].p50), ratio(s.mean, bare[1].mean)]),
  ]);
}

const count = iterations(500, 60);
const rounds = iterations(15, 3);
const writes = iterations(10, 2);
const lockDir = await mkdtemp(join(tmpdir(), 'stowage-bench-lvmthin-'));
try {
  // ---- set-up: a volume group on a loop file with `count` thin LVs ------------------------
  let t0 = now();
  const bases = Math.floor(count / 20);
  const plain = count - 2 * bases;
  const noBackup = `--config 'backup/backup=0 backup/archive=0'`;
  await sh(`set -e
${DROP}
modprobe loop 2>/dev/null || true
truncate -s 16G ${FILE}
dev=$(losetup -f --show ${FILE})
pvcreate -q -y "$dev" >/dev/null
vgcreate -q -y ${VG} "$dev" >/dev/null
lvcreate -q -y --type thin-pool -L 8G -n pool ${VG} >/dev/null
i=0; while [ $i -lt ${plain} ]; do lvcreate -q -an -ky -V 4m -n vm-$((100000 + i))-disk-0 --thinpool ${VG}/pool ${noBackup} >/dev/null 2>&1; i=$((i + 1)); done
i=0; while [ $i -lt ${bases} ]; do
  lvcreate -q -an -ky -pr -V 4m -n base-$((200000 + i))-disk-0 --thinpool ${VG}/pool ${noBackup} >/dev/null 2>&1
  lvcreate -q -an -ky -s -n vm-$((300000 + i))-disk-0 ${VG}/base-$((200000 + i))-disk-0 ${noBackup} >/dev/null 2>&1
  i=$((i + 1))
done`);
  console.log(`made ${count} thin LVs (${plain} plain, ${bases} bases, ${bases} linked clones) in VG ${VG} in ${ms(now() - t0)} ms`);
  console.log(`timer: performance.now() (sub-microsecond resolution); each figure is one whole command or call over ssh into the TCG guest`);

  // ---- 1. listing -----------------------------------------------------------------------------
  const listed = await plugin.listImages(ctx(), {});
  if (listed.length !== count) throw new Error(`listImages gave ${listed.length} of ${count}`);
  if (listed.filter((i) => i.parent !== undefined).length !== bases) throw new Error('clones without their parent');
  const argv = lvsArgs(VG);
  let lvsCalls = 0;
  const counting: CommandRunner = { description: runner.description, run: (a, o) => (lvsCalls++, runner.run(a, o)) };
  await plugin.listImages({ ...ctx(), runner: counting, run: (a, o) => counting.run(a, o) }, {});
  const [bareList, pluginList] = await interleaved(
    rounds,
    () => runner.run(argv),
    () => plugin.listImages(ctx(), {}),
  );
  const stdout = (await runner.run(argv)).stdout;
  const parseOnly: number[] = [];
  const replay: CommandRunner = { description: 'in-memory', run: async () => ({ stdout, stderr: '', exitCode: 0 }) };
  for (let i = 0; i < 50; i++) {
    const t = now();
    await plugin.listImages({ ...ctx(), runner: replay, run: (a, o) => replay.run(a, o) }, {});
    parseOnly.push(now() - t);
  }
  compare(
    `listImages over ${count} thin LVs (${lvsCalls} lvs command per listing, ${(stdout.length / 1024).toFixed(0)} KiB of JSON)`,
    ['plugin.listImages', summarize(pluginList)],
    [`bare ${argv.slice(0, 3).join(' ')} ... ${VG}`, summarize(bareList)],
    [['plugin work alone (parse + map, no command)', summarize(parseOnly)]],
  );

  // ---- 2. allocation and cloning --------------------------------------------------------------
  // the manager as it is (the plugin declares exclusiveCreate: no lvs under the lock), and one on
  // the same plugin without the capability (an lvs under the lock before each create, as before)
  class ListingFirst extends LvmThinPlugin {
    static override readonly capabilities = { ...LvmThinPlugin.capabilities, exclusiveCreate: false };
  }
  // the collection of stale temporaries (an `lvs`, at most once a minute) is left out: it is not
  // part of an allocation, and the sections last minutes
  const open = (plugins: [typeof LvmThinPlugin]) => StorageManager.open({ plugins, config: [{ ...config }], runner, lockDir, log: quiet, gcIntervalMs: 3_600_000 });
  const m = await open([LvmThinPlugin]);
  const listing = await open([ListingFirst]);
  try {
    const size = 4 * MiB;
    const [bareAlloc, pluginAlloc, managerAlloc, listingAlloc] = await interleaved(
      writes,
      (i) => runner.run(lvcreateThinArgs({ vg: VG, pool: 'pool', name: `vm-${400000 + i}-disk-0`, size })),
      (i) => plugin.allocImage(ctx(), { vmid: 500000 + i, format: 'raw', name: `vm-${500000 + i}-disk-0`, size }),
      (i) => m.allocImage('bench', { vmid: 600000 + i, size }),
      (i) => listing.allocImage('bench', { vmid: 650000 + i, size }),
    );
    compare(
      `allocImage of a ${size / MiB} MiB thin LV (${writes} rounds, interleaved)`,
      ['plugin.allocImage', summarize(pluginAlloc)],
      ['bare lvcreate (same argv)', summarize(bareAlloc)],
      [
        ['manager.allocImage (lock + lvcreate, name from the listing it has)', summarize(managerAlloc)],
        ['manager.allocImage without exclusiveCreate (lock + lvs + lvcreate)', summarize(listingAlloc)],
      ],
    );

    const base = 'base-200000-disk-0';
    const baseVolume = plugin.parseVolname(base);
    const [bareClone, pluginClone, managerClone, listingClone] = await interleaved(
      writes,
      (i) => runner.run(lvcreateSnapshotArgs({ vg: VG, origin: base, name: `vm-${700000 + i}-disk-0`, writable: true })),
      (i) => plugin.cloneImage(ctx(), { volume: baseVolume, vmid: 800000 + i, name: `vm-${800000 + i}-disk-0` }),
      (i) => m.cloneImage(`bench:${base}`, { vmid: 900000 + i }),
      (i) => listing.cloneImage(`bench:${base}`, { vmid: 950000 + i }),
    );
    compare(
      `cloneImage of a base (${writes} rounds, interleaved)`,
      ['plugin.cloneImage', summarize(pluginClone)],
      ['bare lvcreate -s (same argv)', summarize(bareClone)],
      [
        ['manager.cloneImage (lock + lvcreate -s, name from the listing it has)', summarize(managerClone)],
        ['manager.cloneImage without exclusiveCreate (lock + lvs + lvcreate -s)', summarize(listingClone)],
      ],
    );
  } finally {
    await m.close();
    await listing.close();
  }
} finally {
  await sh(DROP).catch((e: unknown) => console.error('clean-up failed:', e));
  await rm(lockDir, { recursive: true, force: true });
}
printFooter('lvmthin');
