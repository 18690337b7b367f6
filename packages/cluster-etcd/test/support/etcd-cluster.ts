/**
 * A real etcd cluster for tests and benches: `members` etcd processes (Debian's etcd-server,
 * 3.4) on 127.0.0.1 with free ports and temporary data directories.
 *
 * Nothing is left behind: each member runs under `setpriv --pdeathsig KILL`, so it dies with the
 * process that started it, and each writes a pid file in a known directory
 * (`<tmpdir>/stowage-etcd-fixture`) naming its starter; the next start kills (after checking
 * `/proc/<pid>/cmdline`) and removes every member whose starter is dead.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { currentOwner, formatOwner, ownerState } from '@stowage/core/plugin';

/** Where the members' pid files live. */
export const FIXTURE_STATE_DIR = join(tmpdir(), 'stowage-etcd-fixture');
const NODE = 'fixture';

/** One member of the cluster. */
export interface EtcdMember {
  readonly name: string;
  readonly clientUrl: string;
  readonly peerUrl: string;
  readonly dataDir: string;
  /** The running process, or undefined while stopped. */
  proc: ChildProcess | undefined;
}

/** A running test cluster. */
export interface EtcdCluster {
  readonly members: readonly EtcdMember[];
  /** Client endpoints, `127.0.0.1:port` each. */
  readonly endpoints: string[];
  /** Kills a member (SIGKILL by default) and waits for its exit. */
  kill(index: number, signal?: NodeJS.Signals): Promise<void>;
  /** Starts a stopped member again (same data directory). */
  restart(index: number): Promise<void>;
  /** The index of the current leader, waiting up to `timeoutMs` for one. */
  leader(timeoutMs?: number): Promise<number>;
  /** Waits until every running member answers /health with true. */
  waitHealthy(timeoutMs?: number): Promise<void>;
  /** Stops every member by pid and removes the data directories. */
  stop(): Promise<void>;
}

/** Tells whether the etcd binary is installed. */
export function hasEtcd(): boolean {
  return spawnSync('etcd', ['--version'], { stdio: 'ignore' }).status === 0;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

interface PidFile {
  pid: number;
  owner: string;
  dataDir: string;
}

function cmdlineOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return undefined;
  }
}

/** Kills and removes the members of earlier runs whose starter is gone. Returns how many. */
export function reapOrphans(): number {
  if (!existsSync(FIXTURE_STATE_DIR)) return 0;
  let reaped = 0;
  for (const file of readdirSync(FIXTURE_STATE_DIR)) {
    if (!file.endsWith('.json')) continue;
    const path = join(FIXTURE_STATE_DIR, file);
    let entry: PidFile;
    try {
      entry = JSON.parse(readFileSync(path, 'utf8')) as PidFile;
    } catch {
      continue;
    }
    if (ownerState(entry.owner, NODE) === 'alive') continue;
    const cmdline = cmdlineOf(entry.pid);
    if (cmdline !== undefined && cmdline.includes('etcd') && cmdline.includes(entry.dataDir)) {
      try {
        process.kill(entry.pid, 'SIGKILL');
        reaped++;
      } catch {
        // gone meanwhile
      }
    }
    rmSync(entry.dataDir, { recursive: true, force: true });
    rmSync(path, { force: true });
    try {
      rmdirSync(dirname(entry.dataDir)); // the run's directory, once its last member is gone
    } catch {
      // other members' directories are still there, or it is gone already
    }
  }
  return reaped;
}

function dataRoot(): string {
  // tmpfs makes etcd's fsyncs cheap, which keeps the tests short; any directory works.
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

async function health(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } catch {
    return false;
  }
}

async function memberStatus(url: string): Promise<{ id: string; leader: string } | undefined> {
  try {
    const res = await fetch(`${url}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
    const body = (await res.json()) as { header?: { member_id?: string }; leader?: string };
    if (!body.header?.member_id || !body.leader || body.leader === '0') return undefined;
    return { id: body.header.member_id, leader: body.leader };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts a cluster and waits until it is healthy.
 *
 * @param options - the number of members (3 by default)
 */
export async function startEtcdCluster(options: { members?: number } = {}): Promise<EtcdCluster> {
  if (!hasEtcd()) throw new Error("etcd is not installed: './scripts/dev test' installs Debian's etcd-server and etcd-client");
  reapOrphans();
  mkdirSync(FIXTURE_STATE_DIR, { recursive: true });
  const count = options.members ?? 3;
  const root = await mkdtemp(join(dataRoot(), 'stowage-etcd-'));
  const token = root.slice(root.lastIndexOf('-') + 1);
  const members: EtcdMember[] = [];
  for (let i = 0; i < count; i++) {
    const [client, peer] = [await freePort(), await freePort()];
    members.push({ name: `m${i}`, clientUrl: `http://127.0.0.1:${client}`, peerUrl: `http://127.0.0.1:${peer}`, dataDir: join(root, `m${i}`), proc: undefined });
  }
  const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
  const owner = formatOwner(currentOwner(NODE));
  const pidFile = (m: EtcdMember) => join(FIXTURE_STATE_DIR, `${token}-${m.name}.json`);

  const launch = (m: EtcdMember): void => {
    const args = [
      '--pdeathsig', 'KILL', '--', 'etcd',
      '--name', m.name,
      '--data-dir', m.dataDir,
      '--listen-client-urls', m.clientUrl,
      '--advertise-client-urls', m.clientUrl,
      '--listen-peer-urls', m.peerUrl,
      '--initial-advertise-peer-urls', m.peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-token', `stowage-${token}`,
      '--initial-cluster-state', 'new',
      '--heartbeat-interval', '50',
      '--election-timeout', '500',
      '--logger', 'zap',
      '--log-level', 'error',
    ];
    const proc = spawn('setpriv', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr?.resume();
    m.proc = proc;
    const entry: PidFile = { pid: proc.pid ?? 0, owner, dataDir: m.dataDir };
    writeFileSync(pidFile(m), JSON.stringify(entry));
  };

  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl.replace('http://', '')),
    async kill(index, signal = 'SIGKILL') {
      const m = members[index]!;
      const proc = m.proc;
      if (!proc) return;
      proc.kill(signal);
      if (signal === 'SIGKILL' || signal === 'SIGTERM') {
        await exited(proc);
        m.proc = undefined;
      }
    },
    async restart(index) {
      const m = members[index]!;
      if (m.proc) return;
      launch(m);
    },
    async leader(timeoutMs = 15_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const running = members.filter((m) => m.proc);
        const statuses = await Promise.all(running.map((m) => memberStatus(m.clientUrl)));
        const leader = statuses.find((s) => s && s.id === s.leader);
        if (leader) return members.indexOf(running[statuses.indexOf(leader)]!);
        await sleep(100);
      }
      throw new Error('the etcd test cluster has no leader');
    },
    async waitHealthy(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      while (Date.now() < deadline) {
        const running = members.filter((m) => m.proc);
        if (running.length > 0 && (await Promise.all(running.map((m) => health(m.clientUrl)))).every(Boolean)) return;
        await sleep(100);
      }
      throw new Error('the etcd test cluster did not become healthy');
    },
    async stop() {
      await Promise.all(members.map((_, i) => cluster.kill(i)));
      for (const m of members) {
        try {
          unlinkSync(pidFile(m));
        } catch {
          // not there
        }
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
  for (const m of members) launch(m);
  try {
    await cluster.waitHealthy();
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
