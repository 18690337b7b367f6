import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, rmdir, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { isStorageError, lockFileName, StorageError, StorageLocks, withStorageLock } from '@stowage/core';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const worker = fileURLToPath(new URL('./workers/lock-worker.ts', import.meta.url));
const STALE_MS = 2000;

async function rejection(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    expect(isStorageError(e)).toBe(true);
    return e as StorageError;
  }
  throw new Error('expected a rejection');
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const children: ChildProcess[] = [];

/** Starts a worker process; resolves once it printed `line`, with its exit promise. */
function startWorker(args: string[], line: string): Promise<{ child: ChildProcess; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, ...args], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.split('\n').includes(line)) resolve({ child, exited });
    });
    void exited.then((code) => reject(new Error(`worker exited (${code}) before '${line}': ${stderr}`)));
  });
}

describe('StorageLocks', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-lock-'));
  });
  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('derives safe, distinct lock file names from any storage id', () => {
    expect(lockFileName('local-lvm')).toBe('storage-local-lvm.lock');
    const odd = ['../etc', 'a/b', '', ' ', '$(x)', 'ü', '.hidden', 'x'.repeat(200)];
    const names = odd.map(lockFileName);
    for (const n of names) {
      expect(n).toMatch(/^storage[-=][A-Za-z0-9._-]+\.lock$/);
      expect(n).not.toContain('/');
      expect(n.length).toBeLessThan(120);
    }
    expect(new Set([...names, lockFileName('local-lvm')]).size).toBe(odd.length + 1);
  });

  it('serves waiters in one process in arrival order', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'fifo'), staleMs: STALE_MS });
    const gate = deferred();
    const order: number[] = [];
    const first = locks.withLock({ storeId: 'fifo' }, async () => {
      await gate.promise;
      order.push(0);
    });
    const rest = [1, 2, 3, 4, 5].map((i) => locks.withLock({ storeId: 'fifo' }, async () => void order.push(i)));
    await sleep(20);
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all([first, ...rest]);
    expect(order).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('holds the lock file while fn runs, releases it after, and after a throw', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'file'), staleMs: STALE_MS });
    const path = locks.lockPath('st1');
    expect(path).toBe(join(dir, 'file', 'storage-st1.lock'));
    await locks.withLock({ storeId: 'st1' }, async () => {
      expect((await stat(path)).isDirectory()).toBe(true);
    });
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    await expect(locks.withLock({ storeId: 'st1' }, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(stat(path)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await locks.withLock({ storeId: 'st1' }, async () => 42)).toBe(42);
  });

  it('does not make different storages wait for each other', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'indep'), staleMs: STALE_MS, acquireTimeoutMs: 100 });
    const gate = deferred();
    const a = locks.withLock({ storeId: 'a' }, () => gate.promise);
    await locks.withLock({ storeId: 'b' }, async () => undefined);
    gate.resolve();
    await a;
  });

  it('fails with LOCK_TIMEOUT naming the storage and the wait (in-process queue)', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'timeout'), staleMs: STALE_MS });
    const gate = deferred();
    const holder = locks.withLock({ storeId: 'busy' }, () => gate.promise);
    const e = await rejection(locks.withLock({ storeId: 'busy', timeoutMs: 100 }, async () => 'never'));
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.details).toMatchObject({ storeId: 'busy', timeoutMs: 100 });
    expect(e.details['waitedMs']).toBeGreaterThanOrEqual(100);
    expect(e.message).toContain('busy');
    gate.resolve();
    await holder;
  });

  it('gives up waiting with ABORTED when the request signal is aborted', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'abort'), staleMs: STALE_MS });
    const gate = deferred();
    const holder = locks.withLock({ storeId: 'ab' }, () => gate.promise);
    const ac = new AbortController();
    const waiting = locks.withLock({ storeId: 'ab', signal: ac.signal }, async () => 'never');
    setTimeout(() => ac.abort(), 20);
    expect((await rejection(waiting)).code).toBe('ABORTED');
    gate.resolve();
    await holder;
  });

  it('aborts the holder and fails with LOCK_TIMEOUT past the hold limit, keeping others out until fn settles', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'hold'), staleMs: STALE_MS, localHoldMs: 150 });
    let seen: AbortSignal | undefined;
    let holderDone = false;
    const first = locks.withLock({ storeId: 'h' }, async (signal) => {
      seen = signal;
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
      await sleep(100);
      holderDone = true;
    });
    const second = locks.withLock({ storeId: 'h', holdMs: 0 }, async () => holderDone);
    const e = await rejection(first);
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.details).toMatchObject({ storeId: 'h', reason: 'hold-limit', holdMs: 150 });
    expect(seen?.aborted).toBe(true);
    expect(isStorageError(seen?.reason, 'LOCK_TIMEOUT')).toBe(true);
    expect(await second).toBe(true);
  });

  it('shared storages lock in sharedLockDir, which is required and never created', async () => {
    const shared = join(dir, 'shared');
    const locks = new StorageLocks({ lockDir: join(dir, 'local-for-shared'), sharedLockDir: shared, staleMs: STALE_MS });
    expect((await rejection(locks.withLock({ storeId: 'nfs', shared: true }, async () => 1))).code).toBe('UNAVAILABLE');
    await expect(stat(shared)).rejects.toMatchObject({ code: 'ENOENT' });
    const noShared = new StorageLocks({ lockDir: join(dir, 'x') });
    expect((await rejection(noShared.withLock({ storeId: 'nfs', shared: true }, async () => 1))).code).toBe('CONFIG_INVALID');
    await import('node:fs/promises').then((fs) => fs.mkdir(shared));
    await withStorageLock({ storeId: 'nfs', shared: true, lockDir: join(dir, 'x'), sharedLockDir: shared }, async () => {
      expect((await stat(join(shared, 'storage-nfs.lock'))).isDirectory()).toBe(true);
    });
  });

  it('reports a lock lost while held (compromised) as LOCK_LOST and aborts the holder', async () => {
    const locks = new StorageLocks({ lockDir: join(dir, 'lost'), staleMs: STALE_MS });
    let seen: AbortSignal | undefined;
    const held = locks.withLock({ storeId: 'gone' }, async (signal) => {
      seen = signal;
      await rmdir(locks.lockPath('gone'));
      await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
    });
    const e = await rejection(held);
    expect(e.code).toBe('LOCK_LOST');
    expect(e.details['reason']).toBe('compromised');
    expect(seen?.aborted).toBe(true);
  });

  it('excludes each other across 4 OS processes (25 concurrent holders each)', async () => {
    const lockDir = join(dir, 'multi');
    const counter = join(dir, 'multi-counter');
    const workers = await Promise.all(
      [0, 1, 2, 3].map(() => startWorker(['count', lockDir, 'shared-st', '25', counter, String(STALE_MS)], 'done')),
    );
    expect(await Promise.all(workers.map((w) => w.exited))).toEqual([0, 0, 0, 0]);
    expect(await readFile(counter, 'utf8')).toBe('100');
  });

  it('times out on a lock held by another process, and takes it over after its holder is SIGKILLed', async () => {
    const lockDir = join(dir, 'killed');
    const locks = new StorageLocks({ lockDir, staleMs: STALE_MS, acquireTimeoutMs: 20_000 });
    const { child } = await startWorker(['hold', lockDir, 'victim', String(STALE_MS)], 'held');
    const e = await rejection(locks.withLock({ storeId: 'victim', timeoutMs: 150 }, async () => 'never'));
    expect(e.code).toBe('LOCK_TIMEOUT');
    expect(e.details).toMatchObject({ storeId: 'victim' });

    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));
    // SIGKILL runs no exit handler: the lock directory is left behind.
    expect((await stat(locks.lockPath('victim'))).isDirectory()).toBe(true);

    // Three processes and this one race for the dead holder's lock: all must get it in turn.
    const counter = join(dir, 'killed-counter');
    const waiters = [0, 1, 2].map(() => startWorker(['count', lockDir, 'victim', '3', counter, String(STALE_MS)], 'done'));
    expect(await locks.withLock({ storeId: 'victim' }, async () => 'taken over')).toBe('taken over');
    const started = await Promise.all(waiters);
    expect(await Promise.all(started.map((w) => w.exited))).toEqual([0, 0, 0]);
    expect(await readFile(counter, 'utf8')).toBe('9');
  });
});
