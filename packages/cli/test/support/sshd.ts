/**
 * A real OpenSSH server for tests (Debian's openssh-server): its own `sshd` on 127.0.0.1 with a
 * free port, a temporary host key, one authorized client key and its own sshd_config (`-f`), all
 * in a temporary directory. No system configuration is read or changed: the only thing outside
 * the directory is the privilege-separation directory `/run/sshd` that a root sshd needs, made
 * (empty) when missing, as the package's service does at start.
 *
 * Nothing is left behind: the server runs under `setpriv --pdeathsig KILL`, so it dies with the
 * process that started it, and writes a pid file in a known directory
 * (`<tmpdir>/stowage-sshd-fixture`) naming its starter; the next start kills (after checking
 * `/proc/<pid>/cmdline`) and removes every server whose starter is dead, with its directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { currentOwner, formatOwner, ownerState } from '@stowage/core/plugin';

const STATE_DIR = join(tmpdir(), 'stowage-sshd-fixture');
const NODE = 'fixture';
const SSHD = '/usr/sbin/sshd';

/** A running server and how to reach it. */
export interface SshServer {
  /** The port on 127.0.0.1. */
  readonly port: number;
  /** The user to log in as (the current one). */
  readonly user: string;
  /** The client's private key. */
  readonly identityFile: string;
  /** A known-hosts file holding the server's host key. */
  readonly knownHostsFile: string;
  /** The temporary directory. */
  readonly dir: string;
  /** The listening server's pid (its sessions are its descendants). */
  readonly pid: number;
  /** Stops the server by pid and removes the directory. */
  stop(): Promise<void>;
}

/** Tells whether sshd and ssh-keygen are installed. */
export function hasSshd(): boolean {
  return existsSync(SSHD) && spawnSync('ssh-keygen', ['-?'], { stdio: 'ignore' }).error === undefined;
}

function freePort(): Promise<number> {
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
  dir: string;
}

/** Kills and removes the servers of earlier runs whose starter is gone. Returns how many. */
export function reapOrphanSshd(): number {
  if (!existsSync(STATE_DIR)) return 0;
  let reaped = 0;
  for (const file of readdirSync(STATE_DIR)) {
    if (!file.endsWith('.json')) continue;
    const path = join(STATE_DIR, file);
    let entry: PidFile;
    try {
      entry = JSON.parse(readFileSync(path, 'utf8')) as PidFile;
    } catch {
      continue;
    }
    if (ownerState(entry.owner, NODE) === 'alive') continue;
    let cmdline: string | undefined;
    try {
      cmdline = readFileSync(`/proc/${entry.pid}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      cmdline = undefined;
    }
    if (cmdline !== undefined && cmdline.includes('sshd') && cmdline.includes(entry.dir)) {
      try {
        process.kill(entry.pid, 'SIGKILL');
        reaped++;
      } catch {
        // gone meanwhile
      }
    }
    rmSync(entry.dir, { recursive: true, force: true });
    rmSync(path, { force: true });
  }
  return reaped;
}

function keygen(file: string): void {
  const r = spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'stowage-test', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`ssh-keygen failed: ${r.stderr?.toString()}`);
}

function accepting(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('data', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.setTimeout(1000, () => {
      socket.destroy();
      resolve(false);
    });
  });
}

function exited(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => proc.once('exit', () => resolve()));
}

/** Starts a server and waits until it greets. */
export async function startSshd(): Promise<SshServer> {
  if (!hasSshd()) throw new Error("sshd is not installed: './scripts/dev test' installs Debian's openssh-server");
  reapOrphanSshd();
  mkdirSync(STATE_DIR, { recursive: true });
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { mode: 0o755 });
  const dir = await mkdtemp(join(tmpdir(), 'stowage-sshd-'));
  const port = await freePort();
  const user = userInfo().username;
  keygen(join(dir, 'host_key'));
  keygen(join(dir, 'client_key'));
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')), { mode: 0o600 });
  const hostKey = readFileSync(join(dir, 'host_key.pub'), 'utf8').trim().split(' ').slice(0, 2).join(' ');
  writeFileSync(join(dir, 'known_hosts'), `[127.0.0.1]:${port} ${hostKey}\n`);
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      `AllowUsers ${user}`,
      'PermitRootLogin prohibit-password',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      'PermitUserEnvironment no',
      'X11Forwarding no',
      'AllowTcpForwarding no',
      'PrintMotd no',
      'LogLevel ERROR',
      '',
    ].join('\n'),
  );
  const proc = spawn('setpriv', ['--pdeathsig', 'KILL', '--', SSHD, '-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
  const pidFile = join(STATE_DIR, `${port}.json`);
  writeFileSync(pidFile, JSON.stringify({ pid: proc.pid ?? 0, owner: formatOwner(currentOwner(NODE)), dir } satisfies PidFile));
  const stop = async (): Promise<void> => {
    proc.kill('SIGTERM');
    await exited(proc);
    rmSync(dir, { recursive: true, force: true });
    rmSync(pidFile, { force: true });
  };
  const deadline = Date.now() + 10_000;
  while (!(await accepting(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`sshd did not start: ${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { pid: proc.pid ?? 0, port, user, identityFile: join(dir, 'client_key'), knownHostsFile: join(dir, 'known_hosts'), dir, stop };
}
