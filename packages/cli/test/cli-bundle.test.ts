/**
 * The command bundled with the core and the plugins (scripts/bundle-cli.mjs, src/cli-bundle.ts):
 * the binary loads the bundle; a third-party plugin that imports `@stowage/core` gets the
 * bundle's core (one `StorageError` class, one set of registries), as do the built-in plugins
 * left outside; a bundle older than a module it holds is not used.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecordingLoads } from '../../core/test/support/loaded-modules.js';
// @ts-expect-error -- a build script without type declarations
import { bundleCli } from '../scripts/bundle-cli.mjs';
// @ts-expect-error -- a build script without type declarations
import { bundleZod } from '../scripts/bundle-zod.mjs';
import type { CliBundleManifest } from '../src/cli-bundle.js';
import { BUNDLE_URL } from './support/bundle-loads.js';
import { assertBuilt, BIN } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

const btrfsPackage = fileURLToPath(new URL('../../../examples/plugin-btrfs', import.meta.url));
const corePackage = fileURLToPath(new URL('../../core', import.meta.url));
const coreDist = pathToFileURL(join(corePackage, 'dist/')).href;
const hookModule = new URL('../dist/cli-bundle.js', import.meta.url).href;

let s: Sandbox;
beforeAll(async () => {
  assertBuilt();
  await (bundleZod as () => Promise<unknown>)();
  await (bundleCli as () => Promise<unknown>)();
  s = makeSandbox('bundle');
});
afterAll(() => s?.remove());

describe('the stowage binary and its bundle', () => {
  it('loads the core only from the bundle, for itself, the dir plugin and a third-party plugin', async () => {
    const project = join(s.dir, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(btrfsPackage, join(project, 'node_modules', 'stowage-plugin-btrfs'));
    mkdirSync(join(s.dir, 'fast'));
    writeFileSync(s.config, `btrfs: fast\n\tpath ${s.dir}/fast/\n\tcontent images\n\ndir: local\n\tpath ${s.dir}/local\n\tcontent images\n`);
    const run = await runRecordingLoads([BIN, '--plugin', 'stowage-plugin-btrfs', 'status', '--json'], { cwd: project, env: s.env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.urls.some((u) => u.includes('/plugin-btrfs/dist/'))).toBe(true);
    expect(run.urls.filter((u) => u.startsWith(BUNDLE_URL.href)).length).toBeGreaterThan(0);
    // the plugin imports @stowage/core and @stowage/core/plugin: not one module of the core's own files
    expect(run.urls.filter((u) => u.startsWith(coreDist))).toEqual([]);
    const rows = JSON.parse(run.stdout) as Array<{ storage: string; active?: boolean }>;
    expect(rows.map((r) => r.storage).sort()).toEqual(['fast', 'local']);
  });
});

describe('the bundle resolution hook', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stowage-cli-bundle-'));
    // a third-party package whose @stowage/core is the workspace's core
    mkdirSync(join(dir, 'third', 'node_modules', '@stowage'), { recursive: true });
    symlinkSync(corePackage, join(dir, 'third', 'node_modules', '@stowage', 'core'));
    writeFileSync(join(dir, 'third', 'probe.mjs'), "export { StorageError, PluginRegistry } from '@stowage/core';\nexport * as plugin from '@stowage/core/plugin';\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  /** Where a third-party import of the core leads, with the hook of the bundle in `bundle` registered. */
  const probe = (bundle: URL): Record<string, unknown> => {
    const program = `
      const { useCliBundle } = await import(${JSON.stringify(hookModule)});
      const registered = useCliBundle(new URL(${JSON.stringify(bundle.href)})) !== undefined;
      const third = await import(${JSON.stringify(pathToFileURL(join(dir, 'third', 'probe.mjs')).href)});
      const own = await import(${JSON.stringify(`${coreDist}index.js`)});
      const result = { registered, ownCore: third.StorageError === own.StorageError };
      if (registered) {
        const bundled = await import(${JSON.stringify(new URL('core.js', bundle).href)});
        const bundledPlugin = await import(${JSON.stringify(new URL('core-plugin.js', bundle).href)});
        Object.assign(result, {
          sameStorageError: third.StorageError === bundled.StorageError,
          sameRegistry: third.PluginRegistry === bundled.PluginRegistry,
          samePluginEntry: Object.keys(third.plugin).every((k) => third.plugin[k] === bundledPlugin[k]),
        });
      }
      console.log(JSON.stringify(result));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it("sends a third-party import of the bundled core to the bundle's core", () => {
    // (importing the core's own index as the probe does is what the bundle's core then stands for)
    expect(probe(BUNDLE_URL)).toEqual({ registered: true, ownCore: true, sameStorageError: true, sameRegistry: true, samePluginEntry: true });
  });

  it('is made again by the build when it was made in another form (an older build script), and only then', async () => {
    const manifestUrl = new URL('manifest.json', BUNDLE_URL);
    const build = bundleCli as () => Promise<{ built: boolean }>;
    expect(await build()).toMatchObject({ built: false });
    const { form, ...older } = JSON.parse(readFileSync(manifestUrl, 'utf8')) as CliBundleManifest & { form?: string };
    expect(form).toEqual(expect.any(String));
    writeFileSync(manifestUrl, JSON.stringify(older));
    expect(await build()).toMatchObject({ built: true });
    expect(JSON.parse(readFileSync(manifestUrl, 'utf8'))).toMatchObject({ form });
  });

  it('is not used when a package it holds was built again since, nor when there is none', () => {
    // a copy beside the bundle (its paths are relative), its manifest recording another build of the core
    const stale = new URL(`../bundle-stale-${process.pid}/`, BUNDLE_URL);
    cpSync(BUNDLE_URL, stale, { recursive: true });
    try {
      const manifestUrl = new URL('manifest.json', stale);
      const manifest = JSON.parse(readFileSync(manifestUrl, 'utf8')) as CliBundleManifest;
      expect(probe(stale)).toMatchObject({ registered: true }); // the copy itself is current
      const core = Object.entries(manifest.packages).find(([dir]) => dir.endsWith('/core/'));
      expect(core?.[1].buildInfo).toEqual([expect.any(Number), expect.any(Number)]);
      const [size, mtimeMs] = core?.[1].buildInfo ?? [0, 0];
      writeFileSync(manifestUrl, JSON.stringify({ ...manifest, packages: { ...manifest.packages, [core?.[0] ?? '']: { ...core?.[1], buildInfo: [size, mtimeMs - 1000] } } }));
      expect(probe(stale)).toEqual({ registered: false, ownCore: true });
    } finally {
      rmSync(stale, { recursive: true, force: true });
    }
    expect(probe(new URL('../no-bundle/', BUNDLE_URL))).toEqual({ registered: false, ownCore: true });
  });
});
