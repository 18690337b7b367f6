/**
 * Starts stowage nodes as separate OS processes (node-worker.ts, run by tsx on the built
 * packages) and talks to them over IPC. Every node started is stopped by pid in `stopAll()`,
 * and a node exits by itself when its parent goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Outcome } from './node-worker.js';

const WORKER = fileURLToPath(new URL('./node-worker.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const BUILT = fileURLToPath(new URL('../../dist/index.js', import.meta.url));

/** What a node is started with (see node-worker.ts). */
export interface NodeSpec {
  node: string;
  endpoints: string[];
  prefix: string;
  /** The storage.cfg file, unless `clusterConfig` is given. */
  configFile?: string;
  lockDir: string;
  locks?: 'etcd' | 'none';
  feed?: 'etcd' | 'none';
  leaseTtlSeconds?: number;
  acquireTimeoutMs?: number;
  cacheTtlMs?: number;
  slowCreateMs?: number;
  clusterConfig?: 'cas' | 'blind' | 'unwatched';
}

/** A running node. */
export interface NodeProcess {
  readonly name: string;
  readonly pid: number;
  readonly proc: ChildProcess;
  alloc(storeId: string, vmid: number, count: number, format?: 'raw' | 'qcow2'): Promise<Outcome[]>;
  list(storeId: string): Promise<Outcome>;
  /** Adds storages, all at once (`manager.addStorage`). */
  addStorages(configs: Record<string, unknown>[]): Promise<Outcome[]>;
  /** The storages the node's running manager knows now. */
  storageIds(): Promise<string[]>;
  /** Resolves when the node is inside its slow locked section. */
  inLockedSection(): Promise<void>;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();

/** Throws unless the packages were built (the nodes run the built code). */
export function assertBuilt(): void {
  if (!existsSync(BUILT)) throw new Error(`${BUILT} is missing: run 'pnpm exec tsc -b' before these tests`);
}

/**
 * Starts a node and waits until its manager is open.
 *
 * @param spec - node name, etcd, storage.cfg, lock mode, timeouts
 */
export async function startNode(spec: NodeSpec): Promise<NodeProcess> {
  const full = { locks: 'etcd', feed: 'etcd', leaseTtlSeconds: 2, acquireTimeoutMs: 10_000, cacheTtlMs: 60_000, ...spec };
  const proc = fork(WORKER, [], {
    cwd: ROOT,
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, STOWAGE_NODE_SPEC: JSON.stringify(full) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  running.add(proc);
  proc.once('exit', () => running.delete(proc));
  let next = 0;
  const pending = new Map<number, { resolve: (results: Outcome[]) => void; reject: (e: Error) => void }>();
  proc.once('exit', (code, signal) => {
    for (const p of pending.values()) p.reject(new Error(`node ${spec.node} exited (${signal ?? code})`));
    pending.clear();
  });
  let sectionWaiters: Array<() => void> = [];
  proc.on('message', (m: { id?: number; results?: Outcome[]; event?: string }) => {
    if (m.event === 'in-locked-section') {
      for (const w of sectionWaiters) w();
      sectionWaiters = [];
    }
    if (m.id !== undefined) {
      pending.get(m.id)?.resolve(m.results ?? []);
      pending.delete(m.id);
    }
  });
  await new Promise<void>((resolve, reject) => {
    proc.on('message', (m: { event?: string }) => m.event === 'ready' && resolve());
    proc.once('exit', (code) => reject(new Error(`node ${spec.node} exited with ${code} before it was ready`)));
  });
  const call = (req: Record<string, unknown>): Promise<Outcome[]> =>
    new Promise((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve, reject });
      proc.send({ ...req, id });
    });
  return {
    name: spec.node,
    pid: proc.pid!,
    proc,
    alloc: (storeId, vmid, count, format) => call({ op: 'alloc', storeId, vmid, count, format }),
    list: async (storeId) => (await call({ op: 'list', storeId }))[0]!,
    addStorages: (configs) => call({ op: 'addStorages', configs }),
    storageIds: async () => ((await call({ op: 'storageIds' }))[0] as { value: string[] }).value,
    inLockedSection: () => new Promise((resolve) => sectionWaiters.push(resolve)),
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((resolve) => proc.once('exit', resolve));
      proc.kill('SIGCONT');
      proc.kill('SIGKILL');
      await exited;
    },
  };
}

/** Stops every node still running, by pid. */
export async function stopAll(): Promise<void> {
  await Promise.all(
    [...running].map(
      (proc) =>
        new Promise<void>((resolve) => {
          if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
          proc.once('exit', () => resolve());
          proc.kill('SIGCONT');
          proc.kill('SIGKILL');
        }),
    ),
  );
}
