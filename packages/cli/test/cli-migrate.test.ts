/**
 * Two nodes on this machine over a real ssh hop: a test sshd on 127.0.0.1 (support/sshd.ts),
 * node A is this process or the built `stowage`, node B the built `stowage` with its own
 * storage.cfg and lock directory, reached through ssh.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { SshNode, StorageManager, type MigrateResult, type Progress, type SshNodeOptions } from '@stowage/core';
import { DirPlugin } from '@stowage/plugin-dir';
import { descendantProcesses, waitForProcessesEnded } from '@stowage/core/testing';
import { expectShape } from './support/json-shape.js';
import { assertBuilt, BIN, jsonError } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';
import { hasSshd, startSshd, type SshServer } from './support/sshd.js';

const MiB = 1024 ** 2;
const worker = new URL('./workers/migrate-worker.ts', import.meta.url).pathname;
let sshd: SshServer;
let a: Sandbox;
let b: Sandbox;
let nodeOptions: SshNodeOptions;

beforeAll(async () => {
  assertBuilt();
  sshd = await startSshd();
  a = makeSandbox('migrate-a');
  b = makeSandbox('migrate-b');
  for (const s of [a, b]) await s.ok(['storage', 'add', 'dir', 'local', '--path', join(s.dir, 'local'), '--content', 'images']);
  nodeOptions = {
    name: 'b',
    ssh: { host: '127.0.0.1', port: sshd.port, user: sshd.user, identityFile: sshd.identityFile, knownHostsFile: sshd.knownHostsFile },
    command: [process.execPath, BIN],
    config: b.config,
    env: { STOWAGE_LOCK_DIR: b.env.STOWAGE_LOCK_DIR },
  };
  await writeFile(
    join(a.dir, 'nodes.cfg'),
    [
      'node: b',
      `\tssh ${sshd.user}@127.0.0.1`,
      `\tport ${sshd.port}`,
      `\tidentity ${sshd.identityFile}`,
      `\tknown-hosts ${sshd.knownHostsFile}`,
      `\tcommand ${process.execPath} ${BIN}`,
      `\tconfig ${b.config}`,
      `\tenv STOWAGE_LOCK_DIR=${b.env.STOWAGE_LOCK_DIR}`,
      '',
    ].join('\n'),
  );
}, 60_000);
afterAll(async () => {
  await sshd?.stop();
  a?.remove();
  b?.remove();
});

const sha = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Allocates a raw volume on A filled with random bytes. */
async function volumeOnA(vmid: number, bytes: number): Promise<{ volid: string; file: string; data: Buffer }> {
  const volid = (await a.ok(['alloc', 'local', String(vmid), '-', String(bytes), '--format', 'raw'])).trim();
  const file = join(a.dir, 'local', 'images', String(vmid), `vm-${vmid}-disk-0.raw`);
  const data = randomBytes(bytes);
  await writeFile(file, data);
  return { volid, file, data };
}

/** Every entry under B's images directory for a guest, hidden temporaries included. */
async function entriesOnB(vmid: number): Promise<string[]> {
  return readdir(join(b.dir, 'local', 'images', String(vmid))).catch(() => []);
}

// Each remote question starts B's stowage (about 0.3 s on an idle machine, seconds on a loaded one).
describe.skipIf(!hasSshd())('migrate over ssh', { timeout: 180_000 }, () => {
  it('dir -> dir through the library: byte-identical on B, source freed, progress reported', async () => {
    const { volid, data } = await volumeOnA(100, 4 * MiB);
    const manager = await StorageManager.open({ plugins: [DirPlugin], configFile: a.config, lockDir: a.env.STOWAGE_LOCK_DIR });
    const node = new SshNode(nodeOptions);
    const seen: Progress[] = [];
    let moved: MigrateResult;
    try {
      // a storage B does not have: B's receive says so (its code kept) before anything is sent
      expect(await manager.migrateVolume(volid, { toNode: node, storage: 'elsewhere' }).catch((e: unknown) => e)).toMatchObject({ code: 'NOT_FOUND', details: { node: 'b' } });
      moved = await manager.migrateVolume(volid, { toNode: node, onProgress: (p) => seen.push(p) });
    } finally {
      await manager.close();
    }
    expect(moved).toMatchObject({ volid: 'local:100/vm-100-disk-0.raw', node: 'b', format: 'raw+size', bytes: 8 + data.length, sha256: sha(Buffer.concat([Buffer.from([0, 0, 0x40, 0, 0, 0, 0, 0]), data])) });
    expect(sha(await readFile(join(b.dir, 'local', 'images', '100', 'vm-100-disk-0.raw')))).toBe(sha(data));
    expect(JSON.parse(await a.ok(['list', 'local', '--json']))).toEqual([]);
    expect(seen.length).toBeGreaterThan(2);
    expect(seen.at(-1)).toEqual({ done: 8 + data.length, total: 8 + data.length });
  });

  it('stowage migrate --to-node (nodes.cfg beside storage.cfg) with --json; a linked clone is refused without --full', async () => {
    const { volid, data } = await volumeOnA(200, 2 * MiB);
    const moved = JSON.parse(await a.ok(['migrate', volid, '--to-node', 'b', '--json'])) as MigrateResult;
    expectShape('migrate', moved);
    expect(moved).toMatchObject({ volid: 'local:200/vm-200-disk-0.raw', from: volid, node: 'b', format: 'raw+size' });
    expect(sha(await readFile(join(b.dir, 'local', 'images', '200', 'vm-200-disk-0.raw')))).toBe(sha(data));
    expect((await b.json<{ volid: string }[]>(['list', 'local'])).map((v) => v.volid)).toContain(moved.volid);

    const disk = (await a.ok(['alloc', 'local', '300', '-', String(MiB), '--format', 'qcow2'])).trim();
    const tmpl = (await a.ok(['template', disk])).trim();
    const clone = (await a.ok(['clone', tmpl, '301'])).trim();
    const refused = await a.run(['migrate', clone, '--to-node', 'b', '--json']);
    expect(refused.code).not.toBe(0);
    expect(jsonError(refused.stderr)).toMatchObject({ code: 'NOT_SUPPORTED', details: { base: tmpl, node: 'b' } });
    expect(await entriesOnB(301)).toEqual([]);
    expect((await a.json<{ volid: string }[]>(['list', 'local'])).map((v) => v.volid)).toContain(clone);

    const unknown = await a.run(['migrate', clone, '--to-node', 'nowhere', '--json']);
    expect(jsonError(unknown.stderr)).toMatchObject({ code: 'NOT_FOUND', details: { nodes: ['b'] } });
  });

  it('stowage replicate: a dir volume has no snapshot stream (NOT_SUPPORTED), nothing is made on either side; SshNode lists and deletes snapshots on B', async () => {
    const { volid } = await volumeOnA(500, MiB);
    const refused = await a.run(['replicate', volid, '--to-node', 'b', '--json']);
    expect(refused.code).not.toBe(0);
    expect(jsonError(refused.stderr)).toMatchObject({ code: 'NOT_SUPPORTED' });
    expect(await entriesOnB(500)).toEqual([]);
    expect((await a.json<{ volid: string }[]>(['list', 'local'])).map((v) => v.volid)).toContain(volid);

    const disk = (await b.ok(['alloc', 'local', '501', '-', String(MiB), '--format', 'qcow2'])).trim();
    await b.ok(['snapshot', disk, 'daily']);
    const node = new SshNode(nodeOptions);
    try {
      expect(await node.snapshots(disk)).toEqual(['daily']);
      await node.deleteSnapshot(disk, 'daily');
      expect(await node.snapshots(disk)).toEqual([]);
    } finally {
      await node.close();
    }
  });

  it('the sender SIGKILLed mid-stream: nothing half-made on B, the source intact', async () => {
    const { volid, file, data } = await volumeOnA(400, 8 * MiB);
    const child = spawn(process.execPath, [worker, a.config, a.env.STOWAGE_LOCK_DIR, JSON.stringify(nodeOptions), volid], { stdio: ['ignore', 'pipe', 'pipe'] });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let out = '';
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('streaming')) resolve();
      });
      child.once('exit', () => reject(new Error(`the worker ended before streaming: ${out} ${err}`)));
    });
    // the import on B gets under way: a hidden temporary holds what arrived so far
    const deadline = Date.now() + 30_000;
    while (!(await entriesOnB(400)).some((e) => e.startsWith('.stowage-')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect((await entriesOnB(400)).some((e) => e.startsWith('.stowage-'))).toBe(true);
    const started = [...descendantProcesses(child.pid!), ...descendantProcesses(sshd.pid)].map((p) => p.pid);
    expect(descendantProcesses(sshd.pid).length).toBeGreaterThan(0);
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('close', resolve));
    expect(await waitForProcessesEnded(started, 15_000)).toEqual([]);
    // the ssh session ended with the sender, B's import saw its input end early and removed its
    // temporary (and the directory it made): nothing is left there
    expect(await entriesOnB(400)).toEqual([]);
    expect((await b.json<{ volid: string }[]>(['list', 'local'])).map((v) => v.volid).filter((v) => v.includes('400'))).toEqual([]);
    expect(sha(await readFile(file))).toBe(sha(data));
    expect((await a.json<{ volid: string }[]>(['list', 'local'])).map((v) => v.volid)).toContain(volid);
  });
});
