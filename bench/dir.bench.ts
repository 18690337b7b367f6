/**
 * The `dir` plugin against the raw tools, measured in the same run:
 *
 * 1. listImages over 10,000 qcow2 images (plain, bases, linked clones over 500 vmids) vs one
 *    `qemu-img info --output=json` per file, as Proxmox lists; with the listing's peak memory.
 * 2. allocImage and cloneImage through the StorageManager (lock, name search, plugin, qemu-img)
 *    vs the bare `qemu-img create` command they run.
 * 3. 64 concurrent allocImage calls on one storage: all must succeed with distinct names.
 * 4. export of a 1 GiB qcow2 with 256 MiB written as a raw+size stream (qemu-nbd and our NBD
 *    client, no temporary copy) vs `qemu-img convert -O raw` to a file and `cat` of that file,
 *    both read by the same in-process sink.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { StorageManager } from '@stowage/core';
import { DirPlugin } from '@stowage/plugin-dir';
import { countingSink, iterations, mibPerSec, ms, now, printFooter, printTable, ratio, STATS_HEADER, statsRow, summarize, withTempDir } from './lib.ts';
import { makeImageSet } from './workers/dir-images.ts';

const exec = promisify(execFile);
const listWorker = fileURLToPath(new URL('./workers/dir-list.ts', import.meta.url));
const GiB = 1024 ** 3;

interface ListResult {
  times: number[];
  count: number;
  peakRssMiB: number;
  heapGrowthMiB: number;
}

function runListWorker(path: string, runs: number, mode: 'plugin' | 'manager'): Promise<ListResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', listWorker, path, String(runs), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1) ?? '{}') as ListResult) : reject(new Error(`dir-list exited ${code}`))));
  });
}

async function listing(): Promise<void> {
  await withTempDir('dir-list', async (root) => {
    const vmids = iterations(500, 50);
    let t0 = now();
    const set = await makeImageSet(root, vmids, 20);
    const made = now() - t0;
    console.log(
      `made ${set.images} qcow2 images (${set.plain} plain, ${set.bases} bases, ${set.clones} linked clones) in ${set.vmids} guest directories in ${ms(made)} ms`,
    );

    const runs = iterations(7, 3);
    const baseline = await runListWorker(root, 0, 'plugin');
    const once = await runListWorker(root, 1, 'plugin');
    const plugin = await runListWorker(root, runs, 'plugin');
    const manager = await runListWorker(root, runs, 'manager');
    if (plugin.count !== set.images || manager.count !== set.images) throw new Error(`listed ${plugin.count}/${manager.count} of ${set.images}`);

    // qemu-img info per file, sequentially as Proxmox does: a sample spread over the kinds, then
    // all files if that would take under two minutes.
    const sampleFiles = set.files.filter((_, i) => i % Math.max(1, Math.floor(set.files.length / 200)) === 0);
    const perFile: number[] = [];
    for (const f of sampleFiles) {
      const s = now();
      await exec('qemu-img', ['info', '--output=json', '-f', 'qcow2', f]);
      perFile.push(now() - s);
    }
    const perFileMean = summarize(perFile).mean;
    const extrapolated = perFileMean * set.images;
    let qemuAll: number | undefined;
    if (extrapolated < 120_000) {
      const { readdir } = await import('node:fs/promises');
      const all: string[] = [];
      for (const d of await readdir(join(root, 'images'))) for (const f of await readdir(join(root, 'images', d))) all.push(join(root, 'images', d, f));
      t0 = now();
      for (const f of all) await exec('qemu-img', ['info', '--output=json', '-f', 'qcow2', f]);
      qemuAll = now() - t0;
    }
    const qemuTotal = qemuAll ?? extrapolated;
    const qemuLabel = qemuAll !== undefined ? `qemu-img info x ${set.images} (all measured)` : `qemu-img info x ${set.images} (extrapolated from ${perFile.length} files)`;

    const ps = summarize(plugin.times);
    const mg = summarize(manager.times);
    printTable(`listImages over ${set.images} qcow2 images (${runs} runs each, page cache warm)`, ['measurement', 'p50 ms', 'min ms', 'max ms', 'vs qemu-img info'], [
      ['plugin.listImages', ps.p50, ps.min, ps.max, `${(qemuTotal / ps.p50).toFixed(0)}x faster`],
      ['StorageManager.listImages (ttl 0)', mg.p50, mg.min, mg.max, `${(qemuTotal / mg.p50).toFixed(0)}x faster`],
      [qemuLabel, qemuTotal, qemuAll ?? perFileMean * set.images, qemuAll ?? perFileMean * set.images, 'x1'],
      [`qemu-img info, one file (mean of ${perFile.length})`, perFileMean, summarize(perFile).min, summarize(perFile).max, ''],
    ]);
    printTable('listing process memory (own process each)', ['process', 'peak RSS MiB', 'heap growth MiB'], [
      ['node + modules, no listing', baseline.peakRssMiB.toFixed(1), baseline.heapGrowthMiB.toFixed(1)],
      ['plugin.listImages x 1', once.peakRssMiB.toFixed(1), once.heapGrowthMiB.toFixed(1)],
      [`plugin.listImages x ${runs}`, plugin.peakRssMiB.toFixed(1), plugin.heapGrowthMiB.toFixed(1)],
      [`StorageManager.listImages x ${runs}`, manager.peakRssMiB.toFixed(1), manager.heapGrowthMiB.toFixed(1)],
    ]);
  });
}

/** A permutation of `items`, the same for the same `seed` (a small LCG: reproducible runs). */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let x = (seed * 2654435761 + 1) >>> 0;
  for (let i = out.length - 1; i > 0; i--) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

async function openManager(root: string): Promise<StorageManager> {
  await mkdir(root, { recursive: true });
  return StorageManager.open({
    plugins: [DirPlugin],
    config: [{ type: 'dir', storage: 'bench', path: root }],
    lockDir: join(root, '..', 'locks'),
  });
}

async function allocAndClone(): Promise<void> {
  await withTempDir('dir-alloc', async (dir) => {
    const root = join(dir, 'store');
    const manager = await openManager(root);
    const n = iterations(100, 10);
    const bareDir = join(dir, 'bare');
    await mkdir(bareDir);
    // guests that already have a disk (their directory exists), as when a disk is added to a VM
    for (const vmid of [100, 101, 201]) await manager.allocImage('bench', { vmid, size: 1024 * 1024, format: 'raw' });
    const base = await manager.createBase(await manager.allocImage('bench', { vmid: 200, size: GiB, format: 'qcow2' }));
    const baseFile = join(root, 'images/200/base-200-disk-0.qcow2');

    const names = ['qcow2', 'bare qcow2', 'qcow2 new guest', 'raw', 'bare raw', 'clone', 'bare clone'] as const;
    const t: Record<(typeof names)[number], number[]> = Object.fromEntries(names.map((k) => [k, []])) as never;
    // interleaved, in a new random order every round, so that load from other processes, the
    // clean-up of the previous round and the write-back of the call before hit every side alike
    for (let i = 0; i < n + 5; i++) {
      const made: string[] = [];
      const ops: [(typeof names)[number], () => Promise<unknown>][] = [
        ['qcow2', async () => made.push(await manager.allocImage('bench', { vmid: 100, size: GiB, format: 'qcow2' }))],
        ['bare qcow2', () => exec('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', 'preallocation=metadata', join(bareDir, `q${i}.qcow2`), String(GiB)])],
        ['qcow2 new guest', async () => made.push(await manager.allocImage('bench', { vmid: 1000 + i, size: GiB, format: 'qcow2' }))],
        ['raw', async () => made.push(await manager.allocImage('bench', { vmid: 101, size: GiB, format: 'raw' }))],
        ['bare raw', () => exec('qemu-img', ['create', '-q', '-f', 'raw', '-o', 'preallocation=off', join(bareDir, `r${i}.raw`), String(GiB)])],
        ['clone', async () => made.push(await manager.cloneImage(base, { vmid: 201 }))],
        [
          'bare clone',
          () => exec('qemu-img', ['create', '-q', '-F', 'qcow2', '-b', baseFile, '-f', 'qcow2', '-o', 'extended_l2=on,cluster_size=128k,preallocation=metadata', join(bareDir, `c${i}.qcow2`)]),
        ],
      ];
      for (const [key, fn] of shuffled(ops, i)) {
        const s = now();
        await fn();
        if (i >= 5) t[key].push(now() - s);
      }
      for (const v of made) await manager.freeImage(v);
      for (const f of [`q${i}.qcow2`, `r${i}.raw`, `c${i}.qcow2`]) await rm(join(bareDir, f));
    }
    await manager.freeImage(base); // clears the immutable flag, so the temporary directory can go
    await manager.close();

    const S = (k: (typeof names)[number]) => summarize(t[k]);
    const rows = [
      ['allocImage qcow2 1 GiB, guest has a disk', S('qcow2'), S('bare qcow2'), 'qemu-img create -f qcow2 -o preallocation=metadata'],
      ['allocImage qcow2 1 GiB, new guest directory', S('qcow2 new guest'), S('bare qcow2'), 'same'],
      ['cloneImage (qcow2 overlay)', S('clone'), S('bare clone'), 'qemu-img create -F -b -o extended_l2=on,...'],
      ['allocImage raw 1 GiB (made natively)', S('raw'), S('bare raw'), 'qemu-img create -f raw'],
    ] as const;
    printTable(`StorageManager allocImage / cloneImage vs the bare qemu-img create (${n} interleaved runs each, after 5 warm-up)`, [
      'measurement', 'p50 ms', 'mean ms', 'bare p50 ms', 'bare mean ms', 'ratio p50', 'ratio mean', 'bare command',
    ], rows.map(([name, o, b, cmd]) => [name, o.p50, o.mean, b.p50, b.mean, ratio(o.p50, b.p50), ratio(o.mean, b.mean), cmd]));
    printTable('distribution', [...STATS_HEADER], names.map((k) => statsRow(k, S(k))));
  });
}

async function concurrentAllocs(): Promise<void> {
  await withTempDir('dir-conc', async (dir) => {
    const manager = await openManager(join(dir, 'store'));
    const rows: (string | number)[][] = [];
    for (const format of ['qcow2', 'raw'] as const) {
      const t0 = now();
      const results = await Promise.allSettled(Array.from({ length: 64 }, () => manager.allocImage('bench', { vmid: 300, size: GiB, format })));
      const took = now() - t0;
      const ok = results.filter((r): r is PromiseFulfilledResult<string> => r.status === 'fulfilled').map((r) => r.value);
      const failed = results.filter((r) => r.status === 'rejected');
      if (failed.length > 0) console.error(failed.map((f) => String((f as PromiseRejectedResult).reason)).slice(0, 3));
      const distinct = new Set(ok).size;
      rows.push([`64 x allocImage ${format} 1 GiB, vmid 300`, `${ok.length}/64`, `${distinct}`, took, `${((ok.length / took) * 1000).toFixed(0)}/s`]);
      for (const v of ok) await manager.freeImage(v);
    }
    await manager.close();
    printTable('64 concurrent allocImage calls on one storage (serialised by the storage lock)', ['measurement', 'succeeded', 'distinct names', 'total ms', 'throughput'], rows);
  });
}

async function exportQcow2(): Promise<void> {
  await withTempDir('dir-export', async (dir) => {
    const root = join(dir, 'store');
    const manager = await openManager(root);
    const volid = await manager.allocImage('bench', { vmid: 400, size: GiB, format: 'qcow2' });
    const image = join(root, 'images/400/vm-400-disk-0.qcow2');
    for (let i = 0; i < 4; i++) await exec('qemu-io', ['-f', 'qcow2', '-c', `write -P ${i + 1} ${i * 256}M 64M`, image]);
    const scratch = join(dir, 'scratch');
    await mkdir(scratch);
    const runs = iterations(5, 2);
    const ours: number[] = [];
    const bare: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const steps: [number[], () => Promise<number>][] = [
        [ours, async () => {
          const out = countingSink();
          await manager.volumeExport(volid, { format: 'raw+size', output: out });
          return out.bytes;
        }],
        [bare, async () => {
          const file = join(scratch, 'out.raw');
          await exec('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', image, file]);
          const out = countingSink();
          const cat = spawn('cat', [file], { stdio: ['ignore', 'pipe', 'inherit'] });
          await pipeline(cat.stdout, out);
          await rm(file);
          return out.bytes;
        }],
      ];
      for (const [samples, fn] of i % 2 === 0 ? steps : [...steps].reverse()) {
        const s = now();
        const bytes = await fn();
        if (bytes < GiB) throw new Error(`exported ${bytes} bytes`);
        if (i > 0) samples.push(now() - s);
      }
    }
    await manager.freeImage(volid);
    await manager.close();
    const o = summarize(ours);
    const b = summarize(bare);
    printTable(`export of a 1 GiB qcow2 with 256 MiB written, as raw bytes (${runs} interleaved runs each, after 1 warm-up)`, [
      'measurement', 'p50 ms', 'mean ms', 'throughput', 'ratio p50', 'temporary in the storage',
    ], [
      ['volumeExport raw+size (qemu-nbd + NBD client)', o.p50, o.mean, mibPerSec(GiB, o.p50), ratio(o.p50, b.p50), 'none'],
      ['qemu-img convert -O raw to a file + cat', b.p50, b.mean, mibPerSec(GiB, b.p50), 'x1', '1 GiB sparse file (the old export)'],
    ]);
  });
}

await listing();
await allocAndClone();
await concurrentAllocs();
await exportQcow2();
printFooter('dir.bench');
