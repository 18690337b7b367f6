/** Opens managers over FilePlugin storages in temporary directories, for the manager's tests. */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStorageError, StorageLocks, StorageManager, type StorageManagerOptions, type StoragePluginClass } from '@stowage/core';
import { FilePlugin } from './file-plugin.js';

export interface FileManagerFixture {
  manager: StorageManager;
  root: string;
  dirs: Record<string, string>;
  lockDir: string;
  /** The lock requests made, in order, and whether a plugin call happened while each was held. */
  lockLog: { storeId: string; shared: boolean }[];
  held: Set<string>;
  /** Warnings the manager logged. */
  warnings: string[];
  plugin(storeId: string): FilePlugin;
  /** The files in a storage's directory, sorted. */
  files(storeId: string): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * Makes one directory per storage id and opens a manager with FilePlugin (plus `extra` plugins,
 * used for storages whose id starts with their type, e.g. `testraw-b`).
 */
export async function openFileManager(
  storeIds: string[] = ['st'],
  options: { extra?: StoragePluginClass[]; overrides?: Record<string, Record<string, unknown>>; open?: Partial<StorageManagerOptions> } = {},
): Promise<FileManagerFixture> {
  const root = await mkdtemp(join(tmpdir(), 'stowage-mgr-'));
  const lockDir = join(root, 'locks');
  const dirs: Record<string, string> = {};
  const config = [];
  for (const id of storeIds) {
    dirs[id] = join(root, id);
    await mkdir(dirs[id], { recursive: true });
    const type = options.extra?.find((p) => id.startsWith(`${p.type}-`))?.type ?? 'testfile';
    config.push({ type, storage: id, path: dirs[id], ...options.overrides?.[id] });
  }
  const real = new StorageLocks({ lockDir });
  const lockLog: { storeId: string; shared: boolean; volname?: string }[] = [];
  const held = new Set<string>();
  const warnings: string[] = [];
  const manager = await StorageManager.open({
    plugins: [FilePlugin, ...(options.extra ?? [])],
    config,
    node: 'testnode',
    log: { debug() {}, info() {}, warn: (message) => warnings.push(message) },
    locks: {
      async acquire(request) {
        const key = request.volname === undefined ? request.storeId : `${request.storeId}:${request.volname}`;
        lockLog.push({ storeId: request.storeId, shared: request.shared === true, ...(request.volname !== undefined ? { volname: request.volname } : {}) });
        const lock = await real.acquire(request);
        held.add(key);
        return {
          signal: lock.signal,
          release: async () => {
            held.delete(key);
            await lock.release();
          },
        };
      },
    },
    ...options.open,
  });
  return {
    manager,
    root,
    dirs,
    lockDir,
    lockLog,
    held,
    warnings,
    plugin: (id) => manager.pluginFor(id) as FilePlugin,
    files: async (id) => (await readdir(dirs[id] as string)).sort(),
    close: async () => {
      await manager.close();
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** The stable code of what a promise rejects with (or a marker when it resolves). */
export async function codeOf(p: Promise<unknown> | (() => unknown)): Promise<string> {
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
  return 'resolved';
}
