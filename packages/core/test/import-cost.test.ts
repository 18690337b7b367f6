/**
 * Start-up cost of the core, by what it loads (never by the clock): importing `@stowage/core`
 * must not pull in the command runner's execa, the file lock's proper-lockfile, the TTL cache's
 * lru-cache, Node's crypto, stream and child_process modules, or the code that changes volumes
 * and moves data (they load on first use), and the manager and registry must not need zod (the
 * plugins bring it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseStorageConfigSchema } from '@stowage/core/config';
import { BASE_CONFIG_KEYS } from '../src/config/base-keys.js';
import { runRecordingLoads } from './support/loaded-modules.js';

const dist = (file: string): string => fileURLToPath(new URL(`../dist/${file}`, import.meta.url));
const importing = (...files: string[]): string[] => [
  '--input-type=module',
  '-e',
  files.map((f) => `await import(${JSON.stringify(pathToFileURL(dist(f)).href)});`).join(''),
];

describe('what importing the core loads', () => {
  beforeAll(() => {
    if (!existsSync(dist('index.js'))) throw new Error(`${dist('index.js')} is missing: run 'npx tsc -b' before these tests`);
  });

  it('@stowage/core loads neither execa nor proper-lockfile nor lru-cache', async () => {
    const run = await runRecordingLoads(importing('index.js'));
    expect(run.code, run.stderr).toBe(0);
    expect([...run.packages]).toEqual(['@stowage/core']);
  });

  it('@stowage/core loads no crypto, stream or child_process, and none of the code that changes volumes or moves data', async () => {
    const run = await runRecordingLoads(importing('index.js'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.urls.filter((u) => ['node:crypto', 'node:stream', 'node:stream/promises', 'node:child_process'].includes(u))).toEqual([]);
    const lazy = ['manager/volume-ops.js', 'manager/transfer-ops.js', 'manager/migrate.js', 'manager/handoff.js', 'manager/storages.js', 'transfer.js'];
    expect(run.urls.filter((u) => lazy.some((f) => u.endsWith(`/dist/${f}`)))).toEqual([]);
  });

  it('the manager and the registry load no zod', async () => {
    const run = await runRecordingLoads(importing('storage-manager.js', 'registry.js'));
    expect(run.code, run.stderr).toBe(0);
    expect([...run.packages]).toEqual(['@stowage/core']);
  });

  it('the registry knows the base keys without zod: the same as the base schema', () => {
    expect([...BASE_CONFIG_KEYS]).toEqual(Object.keys(baseStorageConfigSchema.shape));
  });
});
