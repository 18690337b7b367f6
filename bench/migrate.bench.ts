/**
 * migrateVolume dir -> dir over a real ssh hop (a test sshd on 127.0.0.1, node B the built
 * `stowage` with its own storage.cfg) against a bare `dd if=SRC | ssh ... dd of=FILE
 * conv=fsync` of the same bytes, measured in the same run and alternated. A migration frees the
 * source once the target has the volume, so the target's copy must be on its disk first: without
 * the flush, a power cut on B soon after would lose the disk on both nodes. The unflushed
 * pipeline is shown too. The bare pipeline is a shell's: `dd`'s output goes to `ssh` from
 * descriptor to descriptor, no byte passes through Node. The same pipeline relayed through this
 * bench's Node (the baseline of earlier runs, which flattered the ratio) is shown as well.
 * (`qemu-img convert` and `qemu-img dd`
 * cannot write to a pipe: both resize their output, which fails on one, so the bare pipeline
 * reads the raw file with `dd`, as stowage's own raw export reads it directly.)
 *
 * Ours does more than move bytes: one run of B's `stowage receive` over the ssh session (a Node
 * process there: it checks its storage and space, chooses the format, imports, then reads its
 * copy back and hashes it), the SHA-256 of the source (a read of its own, started with the
 * exchange), and freeing the source. The table shows both.
 */
import { spawn } from 'node:child_process';
import { copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SshNode, StorageManager, type SshNodeOptions } from '@stowage/core';
import { SshRunner, sshArgv } from '@stowage/core/plugin';
import { DirPlugin } from '@stowage/plugin-dir';
import { startSshd } from '../packages/cli/test/support/sshd.ts';
import { iterations, mibPerSec, now, printFooter, printTable, ratio, summarize, withTempDir } from './lib.ts';

const MiB = 1024 ** 2;
const BIN = fileURLToPath(new URL('../packages/cli/dist/bin.js', import.meta.url));
const size = iterations(512, 64) * MiB;
const runs = iterations(5, 2);

await withTempDir('migrate', async (root) => {
  const sshd = await startSshd();
  try {
    const cfg = (name: string): string => join(root, name, 'storage.cfg');
    for (const name of ['a', 'b']) {
      await mkdir(join(root, name, 'locks'), { recursive: true });
      await writeFile(cfg(name), `dir: local\n\tpath ${join(root, name, 'local')}\n\tcontent images\n\tcreate-base-path 1\n`);
    }
    const ssh = { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile };
    const nodeOptions: SshNodeOptions = { name: 'b', ssh, command: [process.execPath, BIN], config: cfg('b'), env: { STOWAGE_LOCK_DIR: join(root, 'b', 'locks') } };
    const a = await StorageManager.open({ plugins: [DirPlugin], configFile: cfg('a'), lockDir: join(root, 'a', 'locks') });
    const runner = new SshRunner(ssh);

    // the source: random data (1 MiB of random bytes repeated), kept aside and put back before each run
    const pristine = join(root, 'pristine.raw');
    const block = Buffer.alloc(MiB);
    for (let i = 0; i < MiB; i += 4) block.writeUInt32LE((Math.random() * 2 ** 32) >>> 0, i);
    await writeFile(pristine, Buffer.alloc(0));
    for (let off = 0; off < size; off += MiB) await writeFile(pristine, block, { flag: 'a' });
    const volid = await a.allocImage('local', { vmid: 100, size, format: 'raw' });
    const source = join(root, 'a', 'local', 'images', '100', 'vm-100-disk-0.raw');
    const bareTarget = join(root, 'b', 'bare.raw');

    const ours: number[] = [];
    const bare: number[] = [];
    const unflushed: number[] = [];
    const relayed: number[] = [];
    const q = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;
    // the bare pipeline, a shell's, its target written with `dd` options `conv` (e.g. conv=fsync)
    const barePipeline = async (conv: readonly string[]): Promise<number> => {
      await rm(bareTarget, { force: true });
      const remote = ['dd', `of=${bareTarget}`, 'bs=1M', 'iflag=fullblock', ...conv, 'status=none'].map(q).join(' ');
      const line = `dd if=${q(source)} bs=1M status=none | ${[...sshArgv(ssh), remote].map(q).join(' ')}`;
      const t0 = now();
      const shell = spawn('sh', ['-c', line], { stdio: ['ignore', 'ignore', 'inherit'] });
      await new Promise<void>((resolve, reject) => shell.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`the bare pipeline exited ${c}`)))));
      return now() - t0;
    };
    // the same, its bytes relayed by this process (dd's output piped into the runner's ssh)
    const relayedPipeline = async (conv: readonly string[]): Promise<number> => {
      await rm(bareTarget, { force: true });
      const t0 = now();
      const reader = spawn('dd', [`if=${source}`, 'bs=1M', 'status=none'], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<void>((resolve, reject) => reader.once('exit', (c) => (c === 0 ? resolve() : reject(new Error(`dd exited ${c}`)))));
      await runner.run(['dd', `of=${bareTarget}`, 'bs=1M', 'iflag=fullblock', ...conv, 'status=none'], { stdin: reader.stdout, timeoutMs: 0 });
      await exited;
      return now() - t0;
    };
    for (let i = 0; i < runs; i++) {
      await copyFile(pristine, source);
      await rm(join(root, 'b', 'local', 'images', '100'), { recursive: true, force: true });
      const node = new SshNode(nodeOptions);
      const t0 = now();
      await a.migrateVolume(volid, { toNode: node });
      ours.push(now() - t0);
      await a.allocImage('local', { vmid: 100, size: MiB, format: 'raw' }); // the name back for the next run

      await copyFile(pristine, source);
      bare.push(await barePipeline(['conv=fsync']));
      await copyFile(pristine, source);
      unflushed.push(await barePipeline([]));
      await copyFile(pristine, source);
      relayed.push(await relayedPipeline(['conv=fsync']));
    }
    await a.close();
    const o = summarize(ours);
    const b = summarize(bare);
    const u = summarize(unflushed);
    const r = summarize(relayed);
    printTable(`dir -> dir over ssh on 127.0.0.1, ${size / MiB} MiB raw, ${runs} runs each, alternated`, ['measurement', 'p50 ms', 'mean ms', 'MiB/s (p50)', 'vs bare'], [
      ['migrateVolume (source hashed beside the export, ssh, B receives, flushes and reads back, free source)', o.p50, o.mean, mibPerSec(size, o.p50), ratio(o.p50, b.p50)],
      ['dd if=SRC | ssh dd of=FILE conv=fsync (a shell pipeline)', b.p50, b.mean, mibPerSec(size, b.p50), 'x1.00'],
      ['dd if=SRC | ssh dd of=FILE (not flushed: unsafe to free the source after)', u.p50, u.mean, mibPerSec(size, u.p50), ratio(u.p50, b.p50)],
      ['dd if=SRC | ssh dd conv=fsync, relayed through this process (earlier baseline)', r.p50, r.mean, mibPerSec(size, r.p50), ratio(r.p50, b.p50)],
    ]);
  } finally {
    await sshd.stop();
  }
});
printFooter('migrate');
