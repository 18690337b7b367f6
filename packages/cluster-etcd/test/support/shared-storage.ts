/**
 * A `shared 1` directory storage on one local directory, standing in for an NFS export that
 * every node mounts, with a storage.cfg naming it.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';

import type { Outcome } from './node-worker.js';

/** The volume ids of the allocations that succeeded. */
export const volids = (results: Outcome[]): string[] => results.filter((r) => r.ok).map((r) => (r as { value: string }).value);
/** The allocations that failed. */
export const failures = (results: Outcome[]) => results.filter((r): r is Extract<Outcome, { ok: false }> => !r.ok);
/** The file the dir plugin makes for a volid (`shared1:100/vm-100-disk-3.raw` -> `images/100/vm-100-disk-3.raw`). */
export const fileOf = (volid: string): string => volid.slice(volid.indexOf(':') + 1).replace(/^(\d+)\//, 'images/$1/');

export interface SharedStorage {
  readonly root: string;
  readonly dir: string;
  readonly configFile: string;
  readonly lockDir: string;
  /** Every file under the storage directory, relative to it. */
  files(): string[];
  remove(): void;
}

export function makeSharedStorage(storeId = 'shared1'): SharedStorage {
  const root = mkdtempSync(join(tmpdir(), 'stowage-nodes-'));
  const dir = join(root, 'export');
  mkdirSync(dir);
  const configFile = join(root, 'storage.cfg');
  writeFileSync(configFile, `dir: ${storeId}\n\tpath ${dir}\n\tcontent images\n\tshared 1\n`);
  const walk = (d: string): string[] =>
    readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name))]));
  return { root, dir, configFile, lockDir: join(root, 'locks'), files: () => walk(dir).sort(), remove: () => rmSync(root, { recursive: true, force: true }) };
}
