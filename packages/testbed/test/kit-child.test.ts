import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { testbedChild } from '../src/kit-child.js';

let dir: string;
const saved = process.env.STOWAGE_TESTBED_DIR;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'stowage-kit-child-'));
  const state = { pid: 1, sshPort: 2222, dir, imageDir: dir, identityFile: join(dir, 'key'), controlPath: join(dir, 'ssh.sock'), startedAt: new Date(0).toISOString(), bootSeconds: 0 };
  await writeFile(join(dir, 'state.json'), JSON.stringify(state));
  process.env.STOWAGE_TESTBED_DIR = dir;
});
afterEach(async () => {
  if (saved === undefined) delete process.env.STOWAGE_TESTBED_DIR;
  else process.env.STOWAGE_TESTBED_DIR = saved;
  await rm(dir, { recursive: true, force: true });
});

async function exported(module: string, name: string): Promise<unknown> {
  return ((await import(module)) as Record<string, unknown>)[name];
}

describe('the kit child of the testbed', () => {
  it.each([
    ['plugin-lvmthin', 'LvmThinPlugin'],
    ['plugin-zfs', 'ZfsPoolPlugin'],
  ])('names modules and exports that exist in the built packages (%s)', async (pkg, plugin) => {
    const spec = testbedChild(pkg, plugin);
    expect(typeof (await exported(spec.pluginModule, spec.pluginExport)), spec.pluginModule).toBe('function');
    expect(typeof (await exported(spec.coreModule, 'StorageManager')), spec.coreModule).toBe('function');
    expect(spec.runner).toBeDefined();
    expect(typeof (await exported(spec.runner!.module, spec.runner!.export)), spec.runner!.module).toBe('function');
  });
});
