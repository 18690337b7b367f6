/**
 * Messages of the built binary that must say what to do: a storage type no plugin provides (how
 * to load one, what was searched), and a plugin package that is not installed, installed but not
 * built, missing a dependency of its own, or failing while it loads, each told apart.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, jsonError } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

const btrfsPackage = fileURLToPath(new URL('../../../examples/plugin-btrfs', import.meta.url));

/** Writes a package into the sandbox's node_modules. */
function fakePackage(s: Sandbox, name: string, files: Record<string, string>): string {
  const dir = join(s.dir, 'node_modules', name);
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries(files)) writeFileSync(join(dir, file), text);
  return dir;
}

describe('a storage type no plugin provides', () => {
  let s: Sandbox;
  beforeAll(() => {
    assertBuilt();
    s = makeSandbox('msg-type');
    writeFileSync(s.config, `dir: local\n\tpath ${join(s.dir, 'local')}\n\nxfsreflink: fast\n\tpath /srv/fast\n`);
  });
  afterAll(() => s?.remove());

  const expectHint = (text: string): void => {
    expect(text).toContain("storage type 'xfsreflink'");
    expect(text).toContain('--plugin PACKAGE');
    expect(text).toContain('$STOWAGE_PLUGINS');
    expect(text).toContain(join(s.dir, 'plugins.cfg'));
    expect(text).toMatch(/searched: the built-in types dir, lvmthin, zfspool, linstor; no third-party plugin was named/);
  };

  it('a verb on that storage fails with CONFIG_INVALID and says how to load a plugin and what was searched', async () => {
    const r = await s.run(['list', 'fast']);
    expect(r.code).toBe(EXIT_CODES.CONFIG_INVALID);
    const last = r.stderr.trim().split('\n').at(-1) ?? '';
    expect(last).toMatch(/^stowage: storage 'fast' .*\[CONFIG_INVALID\]$/);
    expectHint(last);
    const j = await s.run(['list', 'fast', '--json']);
    expect(jsonError(j.stderr)).toMatchObject({ code: 'CONFIG_INVALID', details: { storeId: 'fast', missingPlugin: true } });
  });

  it('status still works, and its warning about the storage carries the same hint, once', async () => {
    const r = await s.run(['status']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^fast\s+xfsreflink\s+invalid/m);
    expect(r.stderr.match(/to use it, load a plugin/g)).toHaveLength(1);
    expectHint(r.stderr);
  });

  it('storage add of that type says the same', async () => {
    const r = await s.run(['storage', 'add', 'xfsreflink', 'other', '--path', '/srv/other']);
    expect(r.code).toBe(EXIT_CODES.CONFIG_INVALID);
    expectHint(r.stderr);
  });

  it('names the third-party plugins that were loaded, with their types', async () => {
    if (!existsSync(join(btrfsPackage, 'dist', 'index.js'))) throw new Error('examples/plugin-btrfs is not built: run npx tsc -b');
    mkdirSync(join(s.dir, 'node_modules'), { recursive: true });
    symlinkSync(btrfsPackage, join(s.dir, 'node_modules', 'stowage-plugin-btrfs'));
    const r = await s.run(['--plugin', 'stowage-plugin-btrfs', 'list', 'fast']);
    expect(r.code).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(r.stderr).toContain('third-party plugins stowage-plugin-btrfs (btrfs)');
  });
});

describe('a plugin package that cannot be loaded', () => {
  let s: Sandbox;
  beforeAll(() => {
    assertBuilt();
    s = makeSandbox('msg-plugin');
    writeFileSync(s.config, `dir: local\n\tpath ${join(s.dir, 'local')}\n`);
  });
  afterAll(() => s?.remove());

  it('not installed: NOT_FOUND, every node_modules searched named once', async () => {
    // the working directory is also the configuration's: both start the same search
    const r = await s.run(['--plugin', 'stowage-plugin-nosuch', 'plugins', '--json']);
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    const e = jsonError(r.stderr);
    expect(e.details).toMatchObject({ plugin: 'stowage-plugin-nosuch', reason: 'not-installed' });
    const searched = e.details['searched'] as string[];
    expect(searched[0]).toBe(join(s.dir, 'node_modules'));
    expect(new Set(searched).size).toBe(searched.length);
    expect(e.message).toContain('is not installed');
    expect(e.message).toContain(`searched ${searched.join(', ')} (install it`);
  });

  it('installed but not built: NOT_FOUND that names the missing entry file and says to build it', async () => {
    const dir = fakePackage(s, 'stowage-plugin-unbuilt', { 'package.json': JSON.stringify({ name: 'stowage-plugin-unbuilt', type: 'module', exports: './dist/index.js' }) });
    const r = await s.run(['--plugin', 'stowage-plugin-unbuilt', 'plugins', '--json']);
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    const e = jsonError(r.stderr);
    expect(e.details).toMatchObject({ reason: 'not-built', packageDir: dir, entry: join(dir, 'dist', 'index.js') });
    expect(e.message).toMatch(/is installed at .* but not built/);
    expect(e.message).toContain('build the package');
  });

  it('a dependency of its own not installed: NOT_FOUND naming the dependency', async () => {
    fakePackage(s, 'stowage-plugin-needy', {
      'package.json': JSON.stringify({ name: 'stowage-plugin-needy', type: 'module', main: 'index.js' }),
      'index.js': "export { thing } from 'stowage-test-absent-dependency';\n",
    });
    const r = await s.run(['--plugin', 'stowage-plugin-needy', 'plugins', '--json']);
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    const e = jsonError(r.stderr);
    expect(e.details).toMatchObject({ reason: 'dependency-missing', dependency: 'stowage-test-absent-dependency' });
    expect(e.message).toContain("'stowage-test-absent-dependency', is not installed");
  });

  it('failing while it loads: INTERNAL, a fault in the plugin', async () => {
    fakePackage(s, 'stowage-plugin-throws', {
      'package.json': JSON.stringify({ name: 'stowage-plugin-throws', type: 'module', main: 'index.js' }),
      'index.js': "throw new Error('plugin start-up failed');\n",
    });
    const r = await s.run(['--plugin', 'stowage-plugin-throws', 'plugins']);
    expect(r.code).toBe(EXIT_CODES.INTERNAL);
    expect(r.stderr).toMatch(/plugin package 'stowage-plugin-throws' failed while loading: plugin start-up failed \(a fault in the plugin\) \[INTERNAL\]/);
  });
});
