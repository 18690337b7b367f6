/**
 * Start-up of the built binary, by what it loads (never by the clock): help loads neither the
 * core nor any plugin; a verb loads only the plugins of the storage types it needs; the
 * module compile cache is on unless Node is told otherwise. The binary runs from its bundle
 * (built here, as `pnpm build` does), each file of which counts as the built modules it holds.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecordingLoads, type LoadedRun } from '../../core/test/support/loaded-modules.js';
// @ts-expect-error -- a build script without type declarations
import { bundleCli } from '../scripts/bundle-cli.mjs';
// @ts-expect-error -- a build script without type declarations
import { bundleZod } from '../scripts/bundle-zod.mjs';
import { BUNDLE_URL, inBuiltModules } from './support/bundle-loads.js';
import { assertBuilt, BIN } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

const PLUGINS = ['@stowage/plugin-dir', '@stowage/plugin-lvmthin', '@stowage/plugin-zfs', '@stowage/plugin-linstor'];
const stowageLoads = async (s: Sandbox | undefined, args: readonly string[], env: Record<string, string> = {}): Promise<LoadedRun> => {
  const run = await runRecordingLoads([BIN, ...args], { cwd: s?.dir, env: { ...s?.env, ...env } });
  // every module of the command, the core and the plugins comes from the bundle (but the binary and
  // its hooks, and zod from its own bundle)
  const outside = run.urls.filter((u) => /\/packages\/[^/]+\/dist\//.test(u) && !u.startsWith(BUNDLE_URL.href) && !/\/cli\/dist\/(bin\.js|cli-bundle\.js|zod-bundle\.js|zod\/)/.test(u));
  expect(outside).toEqual([]);
  return inBuiltModules(run);
};
const ours = (run: LoadedRun): string[] => [...run.packages].filter((p) => p.startsWith('@stowage/') || p === 'zod').sort();

describe('what the stowage binary loads', () => {
  let s: Sandbox;
  beforeAll(async () => {
    assertBuilt();
    await (bundleZod as () => Promise<unknown>)();
    await (bundleCli as () => Promise<unknown>)();
    s = makeSandbox('startup');
    await addDirStorages(s);
    await s.ok(['alloc', 'local', '100', '-', '1M', '--format', 'qcow2']);
  });
  afterAll(() => s?.remove());

  it.each([
    [['--help'], 0],
    [['help', 'list'], 1],
    [['list', '--help'], 1],
    [['storage', '--help'], 0],
    [['cluster', 'status', '--help'], 1],
  ])('stowage %j loads only the command itself: no core, no zod, no plugin, and %i verb modules', async (args, verbModules) => {
    const run = await stowageLoads(s, args);
    expect(run.code, run.stderr).toBe(0);
    expect(ours(run)).toEqual(['@stowage/cli']);
    // the overview lists the verbs from the verb table; a verb's help imports that verb's module
    expect(run.urls.filter((u) => u.includes('/cli/dist/verbs/') && !u.endsWith('/verbs/index.js'))).toHaveLength(verbModules);
  });

  it('a usage error loads no plugin and no zod either', async () => {
    const run = await stowageLoads(s, ['list']);
    expect(run.code).toBe(2);
    expect(ours(run).filter((p) => PLUGINS.includes(p) || p === 'zod')).toEqual([]);
  });

  it('list on a dir storage loads the dir plugin and no other, and no zod once its storage.cfg was validated', async () => {
    await s.ok(['list', 'local']); // validates the section, and the command's memo keeps it
    const run = await stowageLoads(s, ['list', 'local']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('local:100/vm-100-disk-0.qcow2');
    expect(ours(run).filter((p) => PLUGINS.includes(p))).toEqual(['@stowage/plugin-dir']);
    // zod (its bundle counted as the package): the memo spares validating an unchanged section
    expect(ours(run)).not.toContain('zod');
    // no cluster is configured: nothing of the etcd package
    expect(run.urls.filter((u) => u.includes('/cluster-etcd/'))).toEqual([]);
    expect([...run.packages]).not.toContain('etcd3');
    // nor node:crypto (only freeing a container subvolume needs it)
    expect(run.urls).not.toContain('node:crypto');
    // of the verbs, only the module of list
    expect(run.urls.filter((u) => u.includes('/cli/dist/verbs/')).map((u) => u.slice(u.lastIndexOf('/verbs/')))).toEqual(['/verbs/index.js', '/verbs/status.js']);
    // nor the code that changes volumes or moves data, in the plugin or the core
    const changing = ['plugin-dir/dist/ops-transfer.js', 'plugin-dir/dist/nbd-client.js', 'plugin-dir/dist/ops-volume.js', 'plugin-dir/dist/ops-snapshot.js', 'core/dist/manager/volume-ops.js', 'core/dist/manager/transfer-ops.js'];
    expect(run.urls.filter((u) => changing.some((f) => u.endsWith(f)))).toEqual([]);
  });

  it('list on a dir storage loads no code that only other verbs or other content types use', async () => {
    const run = await stowageLoads(s, ['list', 'local']);
    expect(run.code, run.stderr).toBe(0);
    // help texts (printed only for help and usage errors), the hint for a type no plugin provides,
    // the gate that admits an image for a guest, free-name reservation, container subvolumes, and
    // the listing of ISO images, templates, backups, snippets and imports (this storage holds images)
    const unused = ['cli/dist/help.js', 'cli/dist/plugin-hint.js', 'plugin-dir/dist/gate.js', 'plugin-dir/dist/reserve.js', 'plugin-dir/dist/subvol.js', 'plugin-dir/dist/list-volumes.js', 'plugin-dir/dist/backup-name.js'];
    expect(run.urls.filter((u) => unused.some((f) => u.endsWith(`/packages/${f}`)))).toEqual([]);
  });

  it('turns on the module compile cache, unless NODE_DISABLE_COMPILE_CACHE is set', async () => {
    const on = await stowageLoads(s, ['--help']);
    expect(on.compileCacheDir).toEqual(expect.any(String));
    const off = await stowageLoads(s, ['--help'], { NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(off.compileCacheDir).toBeUndefined();
  });
});
