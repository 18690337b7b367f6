/**
 * Start-up cost of the core, by what it loads (never by the clock): importing `@stowage/core`
 * must not pull in the command runner's execa or the file lock's proper-lockfile (they load on
 * first use), and the manager and registry must not need zod (the plugins bring it).
 */
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { baseStorageConfigSchema } from '@stowage/core/plugin';
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

  it('@stowage/core loads neither execa nor proper-lockfile', async () => {
    const run = await runRecordingLoads(importing('index.js'));
    expect(run.code, run.stderr).toBe(0);
    expect(run.packages).toContain('@stowage/core');
    expect([...run.packages]).not.toContain('execa');
    expect([...run.packages]).not.toContain('proper-lockfile');
  });

  it('the manager and the registry load no zod', async () => {
    const run = await runRecordingLoads(importing('storage-manager.js', 'registry.js'));
    expect(run.code, run.stderr).toBe(0);
    expect([...run.packages].sort()).toEqual(['@stowage/core', 'lru-cache']);
  });

  it('the registry knows the base keys without zod: the same as the base schema', () => {
    expect([...BASE_CONFIG_KEYS]).toEqual(Object.keys(baseStorageConfigSchema.shape));
  });
});
