/**
 * Flatten and prune on the `dir` plugin, measured in the same run:
 *
 * 1. flattenImage of a linked clone of a 1 GiB qcow2 template with 256 MiB written (and 32 MiB
 *    written into the clone) through the StorageManager (lock, listing, qemu-img convert into a
 *    temporary, flush, rename, flush of the directory) vs the bare commands with the same result
 *    on the disk: `qemu-img convert -t writeback` (qemu-img flushes its target before it exits;
 *    its default for the target, `unsafe`, leaves the copy in memory, where a power cut loses
 *    it), and the bare tools' durable flatten in place (convert, fsync, `mv` over the clone, which
 *    frees the clone's old file as the plugin's rename does). The plain convert, without a
 *    flush, is shown too. Target (issue 18): within x1.1.
 * 2. pruneImages over a storage of 1,000 qcow2 volumes with 50 templates (5 of them unused):
 *    the plugin calls, commands and file-system calls it makes, against one listing
 *    (listImages) and against one per volume; and its time against one listing's.
 */
import { execFile } from 'node:child_process';
import { open, rename, rm, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { StorageManager } from '@stowage/core';
import { LocalRunner, type CommandRunner, type StoragePlugin } from '@stowage/core/plugin';
import { FaultInjectingRunner } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { iterations, ms, now, printFooter, printTable, ratio, STATS_HEADER, statsRow, summarize, withTempDir } from './lib.ts';
import { makeImageSet } from './workers/dir-images.ts';

const exec = promisify(execFile);
const GiB = 1024 ** 3;
const quiet = { debug() {}, info() {}, warn() {} };

async function openDir(root: string, locks: string, runner: CommandRunner = new LocalRunner()): Promise<StorageManager> {
  return StorageManager.open({ plugins: [DirPlugin], config: [{ type: 'dir', storage: 'local', path: root, content: ['images'] }], runner, lockDir: locks, log: quiet });
}

async function writeMiB(path: string, fromMiB: number, mib: number, pattern: number): Promise<void> {
  for (let done = 0; done < mib; done += 64) {
    await exec('qemu-io', ['-f', 'qcow2', '-c', `write -P ${pattern} ${fromMiB + done}M ${Math.min(64, mib - done)}M`, path]);
  }
}

async function flattenClone(): Promise<void> {
  await withTempDir('flatten', async (dir) => {
    const m = await openDir(join(dir, 'store'), join(dir, 'locks'));
    try {
      const vol = await m.allocImage('local', { vmid: 100, size: GiB, format: 'qcow2' });
      await writeMiB((await m.path(vol)).path, 0, 256, 0xa1);
      const base = await m.createBase(vol);
      const fresh = async (vmid: number): Promise<string> => {
        const clone = await m.cloneImage(base, { vmid });
        await writeMiB((await m.path(clone)).path, 512, 32, 0xb1);
        return clone;
      };
      const runs = iterations(7, 2);
      // the command the plugin runs on a storage that sets no preallocation (-p for its progress),
      // the same with qemu-img flushing its target, and a plain convert
      const same = (path: string, out: string): string[] => ['convert', '-p', '-f', 'qcow2', '-O', 'qcow2', path, out];
      const flushed = (path: string, out: string): string[] => ['convert', '-p', '-t', 'writeback', '-f', 'qcow2', '-O', 'qcow2', path, out];
      const plain = (path: string, out: string): string[] => ['convert', '-f', 'qcow2', '-O', 'qcow2', path, out];
      const samples = { ours: [] as number[], flushed: [] as number[], inPlace: [] as number[], same: [] as number[], plain: [] as number[] };
      const bare = async (vmid: number, argv: (path: string, out: string) => string[]): Promise<number> => {
        const clone = await fresh(vmid);
        const out = join(dir, 'bare.qcow2');
        const t0 = now();
        await exec('qemu-img', argv((await m.path(clone)).path, out));
        const took = now() - t0;
        await unlink(out);
        await m.freeImage(clone);
        return took;
      };
      // the bare tools' durable flatten in place: the same convert into a new file, its fsync,
      // then `mv` over the clone (which, like the plugin's rename, frees the clone's old file)
      const inPlace = async (vmid: number): Promise<number> => {
        const clone = await fresh(vmid);
        const path = (await m.path(clone)).path;
        const out = join(dir, 'bare-in-place.qcow2');
        const t0 = now();
        await exec('qemu-img', same(path, out));
        const handle = await open(out, 'r');
        await handle.sync();
        await handle.close();
        await rename(out, path);
        const took = now() - t0;
        await m.freeImage(clone);
        return took;
      };
      for (let i = 0; i < runs + 1; i++) {
        // they alternate, each on a clone made for it
        const clone = await fresh(200 + i);
        const t0 = now();
        const flat = await m.flattenImage(clone);
        const ours = now() - t0;
        await m.freeImage(flat);
        const flushedTook = await bare(300 + i, flushed);
        const inPlaceTook = await inPlace(400 + i);
        const sameTook = await bare(500 + i, same);
        const plainTook = await bare(600 + i, plain);
        if (i === 0) continue; // warm-up
        samples.ours.push(ours);
        samples.flushed.push(flushedTook);
        samples.inPlace.push(inPlaceTook);
        samples.same.push(sameTook);
        samples.plain.push(plainTook);
      }
      await m.freeImage(base);
      const o = summarize(samples.ours);
      const f = summarize(samples.flushed);
      const p = summarize(samples.inPlace);
      const s = summarize(samples.same);
      const b = summarize(samples.plain);
      printTable(
        `flattenImage of a linked clone of a 1 GiB qcow2 template (256 MiB written, 32 MiB in the clone), ${runs} interleaved runs`,
        [...STATS_HEADER, 'vs convert -t writeback p50', 'vs convert, fsync, mv p50', 'vs convert (no flush) p50', 'target'],
        [
          [...statsRow('stowage flattenImage (manager, dir)', o), ratio(o.p50, f.p50), ratio(o.p50, p.p50), ratio(o.p50, s.p50), 'x1.1'],
          [...statsRow('qemu-img convert -p -t writeback (flushed)', f), '-', '-', ratio(f.p50, s.p50), '-'],
          [...statsRow('qemu-img convert -p, fsync, mv over the clone', p), '-', '-', ratio(p.p50, s.p50), '-'],
          [...statsRow('qemu-img convert -p (left in memory)', s), '-', '-', '-', '-'],
          [...statsRow('qemu-img convert (no options, left in memory)', b), '-', '-', ratio(b.p50, s.p50), '-'],
        ],
      );
    } finally {
      await m.close();
    }
  });
}

/** Counts every call of the plugin instance's methods, by name. */
function countCalls(plugin: StoragePlugin): Map<string, number> {
  const counts = new Map<string, number>();
  const proto = Object.getPrototypeOf(plugin) as Record<string, unknown>;
  const names = new Set<string>();
  for (let p: object | null = proto; p && p !== Object.prototype; p = Object.getPrototypeOf(p) as object | null) {
    for (const n of Object.getOwnPropertyNames(p)) if (n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(p, n)?.value === 'function') names.add(n);
  }
  const target = plugin as unknown as Record<string, (...args: unknown[]) => unknown>;
  for (const n of names) {
    const original = target[n]!.bind(plugin);
    target[n] = (...args: unknown[]) => {
      counts.set(n, (counts.get(n) ?? 0) + 1);
      return original(...args);
    };
  }
  return counts;
}

async function prune(): Promise<void> {
  await withTempDir('prune', async (dir) => {
    const root = join(dir, 'store');
    // 500 guests of 2 images: 50 templates, 450 linked clones (of every template), 500 plain
    const set = await makeImageSet(root, 500, 2);
    // the clones of the last 5 templates become plain images: those templates are unused
    let replaced = 0;
    for (let i = 50; i < 500; i++) {
      if (i % 50 < 45) continue;
      const path = join(root, 'images', String(1000 + i), `vm-${1000 + i}-disk-0.qcow2`);
      await rm(path);
      await exec('qemu-img', ['create', '-q', '-f', 'qcow2', path, '1G']);
      replaced++;
    }
    const steps = new FaultInjectingRunner(new LocalRunner(), { fs: true });
    const m = await openDir(root, join(dir, 'locks'), steps);
    try {
      const calls = countCalls(m.pluginFor('local'));
      await m.listImages('local', {}); // activation, garbage collection, first read of the directory
      const measure = async (fn: () => Promise<unknown>): Promise<{ took: number; steps: number; calls: string }> => {
        calls.clear();
        steps.reset();
        const t0 = now();
        await fn();
        const took = now() - t0;
        const named = [...calls].filter(([n]) => n !== 'parseVolname' && n !== 'imageVolname').map(([n, c]) => `${n} ${c}`).join(', ');
        return { took, steps: steps.count, calls: named };
      };
      const listing = await measure(() => m.listImages('local', { includeHidden: true }));
      const dry = await measure(() => m.pruneImages('local', { dryRun: true }));
      let freed = 0;
      const real = await measure(async () => {
        freed = (await m.pruneImages('local', {})).freed.length;
      });
      console.log(`${set.images} qcow2 volumes (${set.bases} templates, ${set.clones - replaced} linked clones, ${set.plain + replaced} plain); prune freed ${freed}`);
      printTable(
        'pruneImages: what it asks of the plugin and the system (commands + ctx.fs calls), against one listing',
        ['measurement', 'ms', 'commands + fs calls', 'plugin calls', 'vs one listing (ms)'],
        [
          ['listImages (one listing)', ms(listing.took), listing.steps, listing.calls, '-'],
          ['pruneImages --dry-run', ms(dry.took), dry.steps, dry.calls, ratio(dry.took, listing.took)],
          [`pruneImages (frees ${freed})`, ms(real.took), real.steps, real.calls, ratio(real.took, listing.took)],
          ['one call per volume would be', '-', `>= ${set.images}`, `>= ${set.images}`, '-'],
        ],
      );
    } finally {
      await m.close();
    }
  });
}

await flattenClone();
await prune();
printFooter('flatten.bench');
