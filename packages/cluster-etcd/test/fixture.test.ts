/**
 * The etcd test fixture leaves no process behind: members die with the process that started
 * them, and a member whose starter is gone is reaped by the next start.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { currentOwner, formatOwner } from '@stowage/core/plugin';
import { describe, expect, it } from 'vitest';
import { FIXTURE_STATE_DIR, reapOrphans } from './support/etcd-cluster.js';

const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/^State:\s+Z/m.test(readStatus(pid));
function readStatus(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return '';
  }
}
async function gone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });

describe('the etcd test fixture', () => {
  it('members die with a test run that is killed', async () => {
    const starter = spawn(
      process.execPath,
      ['--import', 'tsx', '-e', `const { startEtcdCluster } = await import(${JSON.stringify(new URL('./support/etcd-cluster.ts', import.meta.url).pathname)});
         const c = await startEtcdCluster(); console.log(JSON.stringify(c.members.map((m) => m.proc.pid))); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    const pids = await new Promise<number[]>((resolve) => starter.stdout.once('data', (b: Buffer) => resolve(JSON.parse(b.toString()) as number[])));
    expect(pids.every(alive)).toBe(true);
    starter.kill('SIGKILL');
    for (const pid of pids) expect(await gone(pid)).toBe(true);
    reapOrphans(); // its pid files and data directories go with the next start
  });

  it('the next start reaps a member whose starter is gone, after checking its command line', async () => {
    const dead = spawnSync('true').pid!; // a pid that no longer runs
    const owner = formatOwner({ ...currentOwner('fixture'), pid: dead, start: 1 });
    const dataDir = mkdtempSync('/tmp/stowage-etcd-orphan-');
    const [client, peer] = [await freePort(), await freePort()];
    // started without the parent-death signal, as if that had failed
    const orphan = spawn('etcd', ['--data-dir', dataDir, '--listen-client-urls', `http://127.0.0.1:${client}`, '--advertise-client-urls', `http://127.0.0.1:${client}`,
      '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`, '--initial-cluster', `default=http://127.0.0.1:${peer}`,
      '--log-level', 'error', '--logger', 'zap'], { stdio: 'ignore', detached: true });
    mkdirSync(FIXTURE_STATE_DIR, { recursive: true });
    const pidFile = join(FIXTURE_STATE_DIR, `orphan-test-m0.json`);
    // a pid file that names a live process which is not etcd must not get it killed
    const bystander = spawn('sleep', ['30'], { stdio: 'ignore' });
    const bystanderFile = join(FIXTURE_STATE_DIR, `orphan-test-m1.json`);
    try {
      writeFileSync(pidFile, JSON.stringify({ pid: orphan.pid, owner, dataDir }));
      writeFileSync(bystanderFile, JSON.stringify({ pid: bystander.pid, owner, dataDir: '/nonexistent-data-dir' }));
      expect(reapOrphans()).toBe(1);
      expect(await gone(orphan.pid!)).toBe(true);
      expect(existsSync(pidFile) || existsSync(dataDir) || existsSync(bystanderFile)).toBe(false);
      expect(alive(bystander.pid!)).toBe(true);
    } finally {
      bystander.kill('SIGKILL');
      try {
        process.kill(orphan.pid!, 'SIGKILL');
      } catch {
        // reaped
      }
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
