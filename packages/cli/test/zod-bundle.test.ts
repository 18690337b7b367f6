/**
 * zod from the bundle the build makes (scripts/bundle-zod.mjs, src/zod-bundle.ts): the binary
 * loads no module of zod's own package, the core, the dir plugin and a third-party plugin (which
 * imports `zod` itself and extends the core's base schema) all use the one bundled zod, and their
 * schemas still validate; a zod of another version is left alone, `require('zod')` keeps zod's
 * CommonJS build, and without a bundle nothing is redirected.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRecordingLoads } from '../../core/test/support/loaded-modules.js';
// @ts-expect-error -- a build script without type declarations
import { bundleZod } from '../scripts/bundle-zod.mjs';
import { inBuiltModules } from './support/bundle-loads.js';
import { assertBuilt, BIN } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

const btrfsPackage = fileURLToPath(new URL('../../../examples/plugin-btrfs', import.meta.url));
const zodPackage = dirname(realpathSync(createRequire(fileURLToPath(new URL('../../core/package.json', import.meta.url))).resolve('zod/package.json')));
const bundleDir = fileURLToPath(new URL('../dist/zod/', import.meta.url));
const hookModule = pathToFileURL(fileURLToPath(new URL('../dist/zod-bundle.js', import.meta.url))).href;

let s: Sandbox;
beforeAll(async () => {
  assertBuilt();
  await (bundleZod as () => Promise<unknown>)();
  s = makeSandbox('zod');
});
afterAll(() => s?.remove());

describe('the stowage binary and zod', () => {
  it('loads zod only from the bundle, one zod for the core, the dir plugin and a third-party plugin, whose schemas validate', async () => {
    const project = join(s.dir, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(btrfsPackage, join(project, 'node_modules', 'stowage-plugin-btrfs'));
    mkdirSync(join(s.dir, 'fast'));
    writeFileSync(
      s.config,
      `btrfs: fast\n\tpath ${s.dir}/fast/\n\tcontent images\n\nbtrfs: bad\n\tpath rel/x\n\tcontent images\n\ndir: local\n\tpath ${s.dir}/local\n\tcontent images\n`,
    );
    // the dir plugin may come from the command's bundle: told in built modules
    const run = inBuiltModules(await runRecordingLoads([BIN, '--plugin', 'stowage-plugin-btrfs', 'storage', 'list', '--json'], { cwd: project, env: s.env }));
    expect(run.code, run.stderr).toBe(0);
    const zodUrls = run.urls.filter((u) => /\/zod[/-]/.test(u) && !u.endsWith('/cli/dist/zod-bundle.js'));
    expect(zodUrls.length).toBeGreaterThan(0);
    expect(zodUrls.filter((u) => !u.startsWith(pathToFileURL(bundleDir).href))).toEqual([]);
    expect(run.urls.some((u) => u.includes('/plugin-btrfs/dist/'))).toBe(true);
    expect(run.urls.some((u) => u.includes('/plugin-dir/dist/'))).toBe(true);
    // the btrfs schema (the core's base schema extended with the plugin's own zod) parsed and
    // transformed the good section and refused the bad one; the dir schema parsed its section
    const rows = JSON.parse(run.stdout) as Array<{ storage: string; path?: string; issues?: Array<{ message: string }> }>;
    expect(rows.find((r) => r.storage === 'fast')?.path).toBe(`${s.dir}/fast`);
    expect(rows.find((r) => r.storage === 'bad')?.issues?.[0]?.message).toMatch(/absolute path/);
    expect(rows.find((r) => r.storage === 'local')?.path).toBe(`${s.dir}/local`);
  });
});

describe('the zod resolution hook', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stowage-zod-hook-'));
    // a package whose zod is the bundled version, and one whose zod is another version
    mkdirSync(join(dir, 'same', 'node_modules'), { recursive: true });
    symlinkSync(zodPackage, join(dir, 'same', 'node_modules', 'zod'));
    writeFileSync(join(dir, 'same', 'probe.mjs'), "export * as z from 'zod';\nexport { default as en } from 'zod/v4/locales/en.js';\nexport * as core from 'zod/v4/core';\n");
    mkdirSync(join(dir, 'other', 'node_modules', 'zod'), { recursive: true });
    writeFileSync(join(dir, 'other', 'node_modules', 'zod', 'package.json'), JSON.stringify({ name: 'zod', version: '0.0.1-other', type: 'module', exports: { '.': './index.js' } }));
    writeFileSync(join(dir, 'other', 'node_modules', 'zod', 'index.js'), "export const origin = 'other';\n");
    writeFileSync(join(dir, 'other', 'probe.mjs'), "export { origin } from 'zod';\n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const probe = (bundle: string): Record<string, unknown> => {
    const program = `
      import { createRequire } from 'node:module';
      const { useZodBundle } = await import(${JSON.stringify(hookModule)});
      const registered = useZodBundle(new URL(${JSON.stringify(pathToFileURL(bundle).href + '/')})) !== undefined;
      const same = await import(${JSON.stringify(pathToFileURL(join(dir, 'same', 'probe.mjs')).href)});
      const other = await import(${JSON.stringify(pathToFileURL(join(dir, 'other', 'probe.mjs')).href)});
      const bundled = await import(${JSON.stringify(pathToFileURL(join(bundleDir, 'index.js')).href)});
      const required = createRequire(${JSON.stringify(join(dir, 'same', 'x.js'))})('zod');
      console.log(JSON.stringify({
        registered,
        sameIsBundled: same.z.string === bundled.string,
        localeIsBundled: same.en === bundled.locales.en,
        coreIsBundled: same.core.$ZodType === bundled.core.$ZodType,
        otherOrigin: other.origin,
        requiredIsBundled: required.string === bundled.string,
      }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  };

  it('sends imports of the bundled version to the bundle, subpaths too, and leaves another version and require() alone', () => {
    expect(probe(bundleDir.replace(/\/$/, ''))).toEqual({
      registered: true,
      sameIsBundled: true,
      localeIsBundled: true,
      coreIsBundled: true,
      otherOrigin: 'other',
      requiredIsBundled: false,
    });
  });

  it('is made again by the build when it was made in another form (an older build script), and only then', async () => {
    const manifestPath = join(bundleDir, 'manifest.json');
    const build = bundleZod as () => Promise<{ built: boolean }>;
    expect(await build()).toMatchObject({ built: false });
    const { form, ...older } = JSON.parse(readFileSync(manifestPath, 'utf8')) as { form?: string };
    expect(form).toEqual(expect.any(String));
    writeFileSync(manifestPath, JSON.stringify(older));
    expect(await build()).toMatchObject({ built: true });
    expect(JSON.parse(readFileSync(manifestPath, 'utf8'))).toMatchObject({ form });
  });

  it('redirects nothing when there is no bundle', () => {
    const result = probe(join(dir, 'no-bundle'));
    expect(result).toMatchObject({ registered: false, sameIsBundled: false, localeIsBundled: false, otherOrigin: 'other' });
  });
});
