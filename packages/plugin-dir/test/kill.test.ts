import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { encodeSizeHeader } from '@stowage/core/plugin';
import { StorageManager } from '@stowage/core';
import { descendantProcesses, waitForProcessesEnded, type ProcessEntry } from '@stowage/core/testing';
import { DirPlugin } from '@stowage/plugin-dir';
import { dirContext, MemoryLog, releaseImmutable, sh } from './helpers.js';

const run = promisify(execFile);
const packageDir = fileURLToPath(new URL('..', import.meta.url));
const repoDir = fileURLToPath(new URL('../../..', import.meta.url));
const worker = fileURLToPath(new URL('./workers/kill-worker.ts', import.meta.url));
const MiB = 1024 * 1024;

type Mode = 'import-raw' | 'import-qcow2' | 'copy' | 'export' | 'alloc' | 'flatten' | 'flatten-copied';

let root: string;
let store: string;
let lockDir: string;
const leftovers: number[] = [];

beforeAll(async () => {
  // The worker imports the built packages (dist): build them from the current sources.
  await run(process.execPath, [join(repoDir, 'node_modules/typescript/bin/tsc'), '-b', packageDir], { cwd: repoDir });
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-kill-'));
  store = join(root, 'store');
  lockDir = join(root, 'locks');
  await mkdir(store);
});
afterEach(async () => {
  for (const pid of leftovers.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // gone, as it should be
    }
  }
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

function open(): Promise<StorageManager> {
  return StorageManager.open({
    plugins: [DirPlugin],
    config: [{ type: 'dir', storage: 'store', path: store, content: 'images' }],
    lockDir,
    node: 'killtest',
    log: new MemoryLog(),
  });
}

/** Every file under the storage, relative, sorted. */
async function files(): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      if (e.isDirectory()) await walk(join(d, e.name));
      else out.push(relative(store, join(d, e.name)));
    }
  };
  await walk(store);
  return out.sort();
}
const temporaries = async () => (await files()).filter((f) => f.split('/').at(-1)!.startsWith('.stowage-'));

/**
 * Runs the worker in `mode` until it is well under way (it prints `ready`, or its `qemu-img`
 * runs), kills it with SIGKILL, and returns the commands it had started.
 */
async function killMidway(mode: Mode, waitFor: 'ready' | 'qemu-img'): Promise<{ pid: number; commands: ProcessEntry[] }> {
  const child = spawn(process.execPath, [worker, mode, store, lockDir], { cwd: packageDir, stdio: ['ignore', 'pipe', 'pipe'] });
  leftovers.push(child.pid!);
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let commands: ProcessEntry[] = [];
  for (let i = 0; i < 3000; i++) {
    commands = descendantProcesses(child.pid!);
    const going = waitFor === 'ready' ? out.includes('ready') : commands.some((p) => p.name === 'qemu-img');
    if (going) break;
    if (out.includes('finished') || child.exitCode !== null) throw new Error(`the worker ended before it was killed: ${out} ${err}`);
    await sleep(10);
  }
  commands = descendantProcesses(child.pid!);
  leftovers.push(...commands.map((c) => c.pid));
  child.kill('SIGKILL');
  await exited;
  expect(out).not.toContain('finished');
  return { pid: child.pid!, commands };
}

async function expectCommandsGone(commands: ProcessEntry[], names: string[]): Promise<void> {
  const wanted = commands.filter((c) => names.includes(c.name));
  expect(wanted.length, `the worker ran ${names.join('/')}`).toBeGreaterThan(0);
  expect(await waitForProcessesEnded(wanted.map((c) => c.pid))).toEqual([]);
}

function rawStream(bytes: number): PassThrough {
  const input = new PassThrough();
  input.end(Buffer.concat([encodeSizeHeader(bytes), Buffer.alloc(bytes, 9)]));
  return input;
}

describe('an operation killed with SIGKILL leaves nothing that lists as a volume, and the next operation removes its temporaries', () => {
  for (const ext of ['raw', 'qcow2'] as const) {
    it(`import to a ${ext} target: not listed, the retried import of the same name works, gc removes every temporary`, async () => {
      await killMidway(`import-${ext}`, 'ready');
      const manager = await open();
      try {
        expect(await temporaries()).not.toEqual([]);
        const dry = await manager.collectGarbage('store', { dryRun: true });
        expect(dry.removed.map((r) => r.name).sort()).toEqual(await temporaries());
        expect(dry.kept).toEqual([]);
        // the manager's first operation on the storage collects them
        expect(await manager.listImages('store')).toEqual([]);
        expect(await temporaries()).toEqual([]);
        expect(await manager.volumeImport(`store:100/vm-100-disk-0.${ext}`, { format: 'raw+size', input: rawStream(MiB) })).toBe(`store:100/vm-100-disk-0.${ext}`);
        expect((await manager.listImages('store')).map((i) => i.volid)).toEqual([`store:100/vm-100-disk-0.${ext}`]);
      } finally {
        await manager.close();
      }
    });
  }

  it('copy: not listed, a retried copy takes the same name, no temporary is left', async () => {
    const setup = await open();
    await setup.allocImage('store', { vmid: 200, size: MiB, format: 'raw', name: 'vm-200-disk-0.raw' });
    await setup.close();
    await truncate(join(store, 'images/200/vm-200-disk-0.raw'), 512 * MiB);
    await killMidway('copy', 'ready');
    const manager = await open();
    try {
      expect(await temporaries()).not.toEqual([]);
      expect((await manager.listImages('store')).map((i) => i.volid)).toEqual(['store:200/vm-200-disk-0.raw']);
      expect(await temporaries()).toEqual([]);
      await truncate(join(store, 'images/200/vm-200-disk-0.raw'), 8 * MiB);
      expect(await manager.copyVolume('store:200/vm-200-disk-0.raw', 'store', { vmid: 100 })).toBe('store:100/vm-100-disk-0.raw');
      expect(await temporaries()).toEqual([]);
    } finally {
      await manager.close();
    }
  });

  it('export of a qcow2: qemu-nbd dies with the process, nothing is written into the storage, the next export works', async () => {
    const setup = await open();
    await setup.allocImage('store', { vmid: 300, size: 64 * MiB, format: 'qcow2', name: 'vm-300-disk-0.qcow2' });
    await setup.close();
    await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 3 0 32M', join(store, 'images/300/vm-300-disk-0.qcow2')]);
    const before = await files();
    const { pid, commands } = await killMidway('export', 'ready');
    await expectCommandsGone(commands, ['qemu-nbd']);
    expect(await files()).toEqual(before);
    const manager = await open();
    try {
      let bytes = 0;
      const out = new PassThrough();
      out.on('data', (c: Buffer) => (bytes += c.length));
      await manager.volumeExport('store:300/vm-300-disk-0.qcow2', { format: 'raw+size', output: out });
      expect(bytes).toBe(8 + 64 * MiB);
      const privateDirs = (await readdir(tmpdir())).filter((d) => d.startsWith('stowage-nbd~') && d.includes(`.${pid}.`));
      expect(privateDirs).toEqual([]);
    } finally {
      await manager.close();
    }
  });

  it('alloc of a 1 GiB qcow2 with preallocation=full: qemu-img dies with the process, nothing lists, the retried alloc takes the same name', async () => {
    const { commands } = await killMidway('alloc', 'qemu-img');
    await expectCommandsGone(commands, ['qemu-img']);
    const manager = await open();
    try {
      expect(await temporaries()).not.toEqual([]);
      const report = await manager.collectGarbage('store');
      expect(report.removed.map((r) => r.reason)).toEqual(['owner-dead']);
      expect(await temporaries()).toEqual([]);
      expect(await manager.listImages('store')).toEqual([]);
      expect(await manager.allocImage('store', { vmid: 100, size: MiB, format: 'qcow2' })).toBe('store:100/vm-100-disk-0.qcow2');
    } finally {
      await manager.close();
    }
  });

  for (const [mode, waitFor] of [['flatten', 'qemu-img'], ['flatten-copied', 'ready']] as const) {
    it(`flattenImage killed ${waitFor === 'qemu-img' ? 'while qemu-img copies' : 'after the copy, before the rename'}: the clone is untouched and still a clone, gc removes the temporary, the retry flattens`, async () => {
      const setup = await open();
      const volid = await setup.allocImage('store', { vmid: 100, size: 512 * MiB, format: 'qcow2', name: 'vm-100-disk-0.qcow2' });
      await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 1 0 384M', join(store, 'images/100/vm-100-disk-0.qcow2')]);
      const base = await setup.createBase(volid);
      const clone = await setup.cloneImage(base, { vmid: 101, name: 'vm-101-disk-0.qcow2' });
      await setup.close();
      const clonePath = join(store, 'images/101/vm-101-disk-0.qcow2');
      await sh('qemu-io', ['-f', 'qcow2', '-c', 'write -P 2 0 16M', clonePath]);
      const before = await readFile(clonePath);
      const { commands } = await killMidway(mode, waitFor);
      if (waitFor === 'qemu-img') await expectCommandsGone(commands, ['qemu-img']);
      expect((await readFile(clonePath)).equals(before)).toBe(true);
      expect(await temporaries()).toEqual([expect.stringMatching(/^images\/101\/\.stowage-swap~vm-101-disk-0\.qcow2~/)]);
      const manager = await open();
      try {
        const report = await manager.collectGarbage('store');
        expect(report.removed.map((r) => r.reason)).toEqual(['owner-dead']);
        expect(await temporaries()).toEqual([]);
        const listed = await manager.listImages('store', { vmid: 101 });
        expect(listed.map((i) => [i.volid, i.parent])).toEqual([[clone, base]]);
      } finally {
        await manager.close();
      }
      const plugin = new DirPlugin();
      const ctx = dirContext({ path: store, content: 'images' });
      expect(await plugin.flattenImage(ctx, { volume: plugin.parseVolname(clone.slice('store:'.length)) })).toBe('101/vm-101-disk-0.qcow2');
      // the clone as it was, next to it (its relative backing file resolves there), reads as the flattened image
      await writeFile(join(store, 'images/101/as-it-was.qcow2'), before);
      expect(await sh('qemu-img', ['compare', '-f', 'qcow2', '-F', 'qcow2', clonePath, join(store, 'images/101/as-it-was.qcow2')])).toContain('identical');
    });
  }
});
