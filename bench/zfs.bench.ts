/**
 * The `zfspool` plugin against the bare ZFS commands it runs, in the testbed guest (real ZFS,
 * over the testbed's ssh runner), measured in the same run and interleaved:
 *
 * 1. listImages over 500 zvols (plain volumes, bases, linked clones) vs the one bare
 *    `zfs list -Hp -d1` it runs (same argv, same runner).
 * 2. Incremental export: a 4 GiB zvol with 64 MiB of data, snapshot, change 1 MiB, snapshot;
 *    the bytes of the `zfs` increment between the two snapshots (only the changed blocks travel)
 *    against the full stream and a `raw+size` copy, and its time against the bare `zfs send -i`.
 *    The increment is then received onto a copy, which must end up with the second snapshot.
 * 3. allocImage vs the bare `zfs create` it runs, cloneImage of a base vs the bare `zfs clone`;
 *    also through the StorageManager (storage lock, name chosen from the listing it has), and
 *    through a manager on the same plugin without `exclusiveCreate` (a `zfs list` under the lock
 *    before each create), interleaved round by round. The plugin also waits for the new zvol's
 *    device link (`test -b`), so the bare command is shown alone and followed by that test.
 *
 * Works in datasets of its own under the testbed's zpool (`stowage/zbench`; the 500 listed zvols
 * are made with `volmode=none`, so that they get no device nodes and do not flood udev; the
 * listing is the same). Skips with a clear message when the testbed is not up.
 */
import { Readable, Writable } from 'node:stream';
import { localFileSystem, OperationCache, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StorageManager, type Logger } from '@stowage/core';
import { ZfsPoolPlugin, type ZfsPoolConfig } from '@stowage/plugin-zfs';
import { testBlockDeviceArgs, zfsCloneArgs, zfsCreateVolumeArgs, zfsListChildrenArgs, zfsSendArgs } from '../packages/plugin-zfs/src/commands.ts';
import { runningState, TESTBED_POOLS, testbedRunner } from '@stowage/testbed';
import { countingSink, interleaved, iterations, mibPerSec, ms, now, printFooter, printTable, ratio, STATS_HEADER, statsRow, summarize, type Stats } from './lib.ts';

const ROOT = `${TESTBED_POOLS.zpool}/zbench`;
const LIST = `${ROOT}/list`;
const XFER = `${ROOT}/xfer`;
const ALLOC = `${ROOT}/alloc`;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

let runner: CommandRunner;
try {
  runningState();
  runner = testbedRunner();
  await runner.run(['zpool', 'list', '-H', '-o', 'name', TESTBED_POOLS.zpool], { timeoutMs: 20_000 });
} catch (e) {
  console.log(`zfs bench skipped: the testbed guest is not up, or has no zpool '${TESTBED_POOLS.zpool}' (${e instanceof Error ? e.message.split('\n')[0] : String(e)}); start it with \`pnpm testbed up\``);
  process.exit(0);
}

const quiet: Logger = { debug() {}, info() {}, warn() {} };
const plugin = new ZfsPoolPlugin();
plugin.tuning = { ...plugin.tuning, zvolLinkTimeoutMs: 120_000 };
const configOf = (pool: string): ZfsPoolConfig => ({ type: 'zfspool', storage: 'bench', pool, sparse: true });
const ctx = (pool: string, r: CommandRunner = runner): PluginContext<ZfsPoolConfig> => ({
  storeId: 'bench',
  config: configOf(pool),
  cache: new OperationCache(),
  runner: r,
  run: (argv, o) => r.run(argv, o),
  signal: undefined,
  fs: localFileSystem,
  log: quiet,
  node: 'bench',
  nameReserved: () => undefined,
});
const sh = (script: string) => runner.run(['sh', '-c', script], { timeoutMs: 3_600_000 });
const vol = (volname: string) => plugin.parseVolname(volname);

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
const lockDir = await mkdtemp(join(tmpdir(), 'stowage-bench-zfs-'));
try {
  // ---- set-up: `count` zvols in a dataset of their own ----------------------------------------
  let t0 = now();
  const bases = Math.floor(count / 20);
  const plain = count - 2 * bases;
  await sh(`set -e
zfs destroy -r ${ROOT} >/dev/null 2>&1 || true
zfs create ${ROOT}
zfs create -o volmode=none ${LIST}
zfs create ${XFER}
zfs create ${ALLOC}
# in batches of 25 parallel commands: ZFS commits them in shared transaction groups
batch() { n=0; while read -r cmd; do $cmd & n=$((n + 1)); if [ $n -ge 25 ]; then wait; n=0; fi; done; wait; }
i=0; while [ $i -lt ${plain} ]; do echo "zfs create -s -V 4M ${LIST}/vm-$((100000 + i))-disk-0"; i=$((i + 1)); done | batch
i=0; while [ $i -lt ${bases} ]; do echo "zfs create -s -V 4M ${LIST}/base-$((200000 + i))-disk-0"; i=$((i + 1)); done | batch
i=0; while [ $i -lt ${bases} ]; do echo "zfs snapshot ${LIST}/base-$((200000 + i))-disk-0@__base__"; i=$((i + 1)); done | batch
i=0; while [ $i -lt ${bases} ]; do echo "zfs clone ${LIST}/base-$((200000 + i))-disk-0@__base__ ${LIST}/vm-$((300000 + i))-disk-0"; i=$((i + 1)); done | batch
test "$(zfs list -H -d1 -t volume -o name ${LIST} | wc -l)" -eq ${count}`);
  console.log(`made ${count} zvols (${plain} plain, ${bases} bases, ${bases} linked clones) in ${LIST} in ${ms(now() - t0)} ms`);
  console.log('timer: performance.now() (sub-microsecond resolution); each figure is one whole command or call over ssh into the TCG guest');

  // ---- 1. listing -----------------------------------------------------------------------------
  const listed = await plugin.listImages(ctx(LIST), {});
  if (listed.length !== count) throw new Error(`listImages gave ${listed.length} of ${count}`);
  if (listed.filter((i) => i.parent !== undefined).length !== bases) throw new Error('clones without their parent');
  const argv = zfsListChildrenArgs(LIST);
  let zfsCalls = 0;
  const counting: CommandRunner = { description: runner.description, run: (a, o) => (zfsCalls++, runner.run(a, o)) };
  await plugin.listImages(ctx(LIST, counting), {});
  const [bareList, pluginList] = await interleaved(
    rounds,
    () => runner.run(argv),
    () => plugin.listImages(ctx(LIST), {}),
  );
  const stdout = (await runner.run(argv)).stdout;
  const inMemory: CommandRunner = { description: 'in-memory', run: async () => ({ stdout, stderr: '', exitCode: 0 }) };
  const parseOnly: number[] = [];
  for (let i = 0; i < 50; i++) {
    const t = now();
    await plugin.listImages(ctx(LIST, inMemory), {});
    parseOnly.push(now() - t);
  }
  compare(
    `listImages over ${count} zvols (${zfsCalls} zfs command per listing, ${(stdout.length / 1024).toFixed(0)} KiB of output)`,
    ['plugin.listImages', summarize(pluginList)],
    [`bare ${argv.slice(0, 4).join(' ')} ... ${LIST}`, summarize(bareList)],
    [['plugin work alone (parse + map, no command)', summarize(parseOnly)]],
  );

  // ---- 2. incremental export --------------------------------------------------------------------
  const x = ctx(XFER);
  const name = await plugin.allocImage(x, { vmid: 900, format: 'raw', name: 'vm-900-disk-0', size: 4 * GiB });
  const dev = `/dev/zvol/${XFER}/${name}`;
  await sh(`dd if=/dev/urandom of=${dev} bs=1M count=64 conv=fsync status=none`);
  await plugin.volumeSnapshot(ctx(XFER), { volume: vol(name), snapshot: 'a' });
  const full = countingSink();
  t0 = now();
  await plugin.volumeExport(ctx(XFER), { volume: vol(name), format: 'zfs', snapshot: 'a', output: full });
  const fullMs = now() - t0;
  await sh(`dd if=/dev/urandom of=${dev} bs=1M count=1 seek=2048 conv=notrunc,fsync status=none`);
  await plugin.volumeSnapshot(ctx(XFER), { volume: vol(name), snapshot: 'b' });

  const bareArgv = zfsSendArgs({ snapshot: `${XFER}/${name}@b`, base: `${XFER}/${name}@a` });
  let incBytes = 0;
  let bareBytes = 0;
  const [bareInc, pluginInc] = await interleaved(
    iterations(5, 2),
    async () => {
      const sink = countingSink();
      await runner.run(bareArgv, { stdout: sink });
      bareBytes = sink.bytes;
    },
    async () => {
      const sink = countingSink();
      await plugin.volumeExport(ctx(XFER), { volume: vol(name), format: 'zfs', snapshot: 'b', baseSnapshot: 'a', output: sink });
      incBytes = sink.bytes;
    },
  );
  compare(
    `incremental export a..b of a 4 GiB zvol after changing 1 MiB`,
    ['plugin.volumeExport zfs (baseSnapshot a)', summarize(pluginInc)],
    [`bare ${bareArgv.join(' ')}`, summarize(bareInc)],
  );

  // the increment must apply: a copy made from the full stream of a, then the increment
  const fullStream: Buffer[] = [];
  const collect = new Writable({ write: (c: Buffer, _e, cb) => (fullStream.push(c), cb()) });
  await plugin.volumeExport(ctx(XFER), { volume: vol(name), format: 'zfs', snapshot: 'a', output: collect });
  const copy = await plugin.volumeImport(ctx(XFER), { volume: vol('vm-901-disk-0'), format: 'zfs', input: Readable.from(fullStream), snapshot: 'a' });
  const incStream: Buffer[] = [];
  const collectInc = new Writable({ write: (c: Buffer, _e, cb) => (incStream.push(c), cb()) });
  await plugin.volumeExport(ctx(XFER), { volume: vol(name), format: 'zfs', snapshot: 'b', baseSnapshot: 'a', output: collectInc });
  await plugin.volumeImport(ctx(XFER), { volume: vol(copy), format: 'zfs', input: Readable.from(incStream), baseSnapshot: 'a', snapshot: 'b' });
  const [src, dst] = await Promise.all([plugin.volumeSnapshotInfo(ctx(XFER), { volume: vol(name) }), plugin.volumeSnapshotInfo(ctx(XFER), { volume: vol(copy) })]);
  const applied = src.at(-1)?.id === dst.at(-1)?.id && dst.at(-1)?.name === 'b';

  printTable('bytes sent for the same 4 GiB zvol (64 MiB written, then 1 MiB changed)', ['stream', 'bytes', 'MiB', 'vs raw+size'], [
    ['raw+size (whole device; size of the stream, not sent)', String(4 * GiB + 8), (4 * 1024).toFixed(2), 'x1.0000'],
    [`zfs full @a (sent in ${ms(fullMs)} ms, ${mibPerSec(full.bytes, fullMs)})`, String(full.bytes), (full.bytes / MiB).toFixed(2), `x${(full.bytes / (4 * GiB + 8)).toFixed(4)}`],
    ['zfs increment a..b (plugin)', String(incBytes), (incBytes / MiB).toFixed(2), `x${(incBytes / (4 * GiB + 8)).toFixed(4)}`],
    ['bare zfs send -i a b', String(bareBytes), (bareBytes / MiB).toFixed(2), `x${(bareBytes / (4 * GiB + 8)).toFixed(4)}`],
  ]);
  console.log(`\nincrement a..b: ${incBytes} bytes (${(incBytes / MiB).toFixed(3)} MiB) ${incBytes < 2 * MiB ? '<' : '>='} 2 MiB; received onto a copy made from @a: ${applied ? 'copy now has @b with the same guid' : 'NOT APPLIED'}`);

  // ---- 3. allocation and cloning ------------------------------------------------------------------
  // the manager as it is (the plugin declares exclusiveCreate: no zfs list under the lock), and
  // one on the same plugin without the capability (a zfs list under the lock before each create)
  class ListingFirst extends ZfsPoolPlugin {
    static override readonly capabilities = { ...ZfsPoolPlugin.capabilities, exclusiveCreate: false };
  }
  const open = async (plugins: [typeof ZfsPoolPlugin]): Promise<StorageManager> => {
    // the collection of stale temporaries (a `zfs list`, at most once a minute) is left out: it
    // is not part of an allocation, and the sections last minutes
    const opened = await StorageManager.open({ plugins, config: [{ ...configOf(ALLOC) }], runner, lockDir, log: quiet, gcIntervalMs: 3_600_000 });
    (opened.pluginFor('bench') as ZfsPoolPlugin).tuning = plugin.tuning;
    return opened;
  };
  const m = await open([ZfsPoolPlugin]);
  const listing = await open([ListingFirst]);
  try {
    const size = 4 * MiB;
    const zvol = (n: number) => `${ALLOC}/vm-${n}-disk-0`;
    const [bareAlloc, bareLinked, pluginAlloc, managerAlloc, listingAlloc] = await interleaved(
      writes,
      (i) => runner.run(zfsCreateVolumeArgs({ dataset: zvol(400000 + i), size, sparse: true })),
      async (i) => {
        await runner.run(zfsCreateVolumeArgs({ dataset: zvol(450000 + i), size, sparse: true }));
        await runner.run(testBlockDeviceArgs(`/dev/zvol/${zvol(450000 + i)}`), { okExitCodes: [0, 1] });
      },
      (i) => plugin.allocImage(ctx(ALLOC), { vmid: 500000 + i, format: 'raw', name: `vm-${500000 + i}-disk-0`, size }),
      (i) => m.allocImage('bench', { vmid: 600000 + i, size }),
      (i) => listing.allocImage('bench', { vmid: 650000 + i, size }),
    );
    compare(
      `allocImage of a ${size / MiB} MiB zvol (${writes} rounds, interleaved)`,
      ['plugin.allocImage', summarize(pluginAlloc)],
      ['bare zfs create (same argv)', summarize(bareAlloc)],
      [
        ['bare zfs create + test -b of its device link', summarize(bareLinked)],
        ['manager.allocImage (lock + zfs create, name from the listing it has)', summarize(managerAlloc)],
        ['manager.allocImage without exclusiveCreate (lock + zfs list + zfs create)', summarize(listingAlloc)],
      ],
    );

    const base = await plugin.createBase(ctx(ALLOC), { volume: vol(await plugin.allocImage(ctx(ALLOC), { vmid: 200000, format: 'raw', name: 'vm-200000-disk-0', size })) });
    const origin = `${ALLOC}/${base}@__base__`;
    const [bareClone, bareLinkedClone, pluginClone, managerClone, listingClone] = await interleaved(
      writes,
      (i) => runner.run(zfsCloneArgs(origin, zvol(700000 + i))),
      async (i) => {
        await runner.run(zfsCloneArgs(origin, zvol(750000 + i)));
        await runner.run(testBlockDeviceArgs(`/dev/zvol/${zvol(750000 + i)}`), { okExitCodes: [0, 1] });
      },
      (i) => plugin.cloneImage(ctx(ALLOC), { volume: vol(base), vmid: 800000 + i, name: `vm-${800000 + i}-disk-0` }),
      (i) => m.cloneImage(`bench:${base}`, { vmid: 900000 + i }),
      (i) => listing.cloneImage(`bench:${base}`, { vmid: 950000 + i }),
    );
    compare(
      `cloneImage of a base (${writes} rounds, interleaved)`,
      ['plugin.cloneImage', summarize(pluginClone)],
      ['bare zfs clone (same argv)', summarize(bareClone)],
      [
        ['bare zfs clone + test -b of its device link', summarize(bareLinkedClone)],
        ['manager.cloneImage (lock + zfs clone, name from the listing it has)', summarize(managerClone)],
        ['manager.cloneImage without exclusiveCreate (lock + zfs list + zfs clone)', summarize(listingClone)],
      ],
    );
  } finally {
    await m.close();
    await listing.close();
  }
} finally {
  await rm(lockDir, { recursive: true, force: true });
  await sh(`zfs destroy -r ${ROOT} >/dev/null 2>&1 || true`);
  printFooter('zfs bench');
}
