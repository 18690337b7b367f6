/**
 * Messages of the built binary that must say what to do: a storage type no plugin provides (how
 * to load one, what was searched), a plugin package that is not installed, installed but not
 * built, missing a dependency of its own, or failing while it loads, each told apart; and the
 * everyday failures on volumes and storages, each naming the thing, the reason and the next step.
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

describe('everyday failures name the thing, the reason and the next step', () => {
  let s: Sandbox;
  let qcow2: string;
  let raw: string;
  let base: string;
  let clone: string;
  beforeAll(async () => {
    assertBuilt();
    s = makeSandbox('msg-next');
    await s.ok(['storage', 'add', 'dir', 'local', '--path', join(s.dir, 'local'), '--content', 'images']);
    await s.ok(['storage', 'add', 'dir', 'other', '--path', join(s.dir, 'other'), '--content', 'images']);
    qcow2 = (await s.ok(['alloc', 'local', '100', '-', '2M', '--format', 'qcow2'])).trim();
    raw = (await s.ok(['alloc', 'local', '101', '-', '1M', '--format', 'raw'])).trim();
    base = (await s.ok(['template', (await s.ok(['alloc', 'local', '102', '-', '1M', '--format', 'qcow2'])).trim()])).trim();
    clone = (await s.ok(['clone', base, '103'])).trim();
  });
  afterAll(() => s?.remove());

  /** Runs a failing command; returns its message line and its next step (without --json), and checks --json has the code and no next step. */
  const fails = async (args: string[], code: keyof typeof EXIT_CODES): Promise<{ message: string; next: string | undefined; stderr: string }> => {
    const r = await s.run(args);
    expect(r.code, r.stderr).toBe(EXIT_CODES[code]);
    const lines = r.stderr.trim().split('\n');
    const message = lines.find((l) => l.startsWith('stowage: ')) ?? '';
    expect(message).toMatch(new RegExp(`\\[${code}\\]$`));
    const j = await s.run([...args, '--json']);
    expect(jsonError(j.stderr).code).toBe(code);
    expect(j.stderr).not.toContain('next:');
    return { message, next: lines.find((l) => l.startsWith('  next: '))?.slice('  next: '.length), stderr: r.stderr };
  };

  it('a storage id that is not configured: the ones that are, and where to see and add them', async () => {
    for (const args of [['list', 'nosuch'], ['storage', 'remove', 'nosuch'], ['copy', qcow2, 'nosuch']]) {
      const { message, next } = await fails(args, 'NOT_FOUND');
      expect(message).toContain("storage 'nosuch' is not configured (the configured storages: local, other)");
      expect(next).toBe("'stowage storage list' shows the configured storages; 'stowage storage add' adds one");
    }
    expect(jsonError((await s.run(['list', 'nosuch', '--json'])).stderr).details).toMatchObject({ storeId: 'nosuch', configured: ['local', 'other'] });
  });

  it('a volume or snapshot that does not exist: where to list them', async () => {
    const volume = await fails(['path', 'local:100/vm-100-disk-9.qcow2'], 'NOT_FOUND');
    expect(volume.message).toContain("volume '100/vm-100-disk-9.qcow2' does not exist");
    expect(volume.next).toBe("'stowage list <storage>' lists the volumes");
    const snapshot = await fails(['rollback', qcow2, 'nosnap'], 'NOT_FOUND');
    expect(snapshot.message).toContain("snapshot 'nosnap' of '100/vm-100-disk-0.qcow2' does not exist");
    expect(snapshot.next).toBe("'stowage snapshots <volid>' lists the volume's snapshots");
  });

  it('a volume id without its storage: what a volume id looks like', async () => {
    const { message, next } = await fails(['path', 'vm-100-disk-0.qcow2'], 'INVALID_VOLUME_ID');
    expect(message).toContain("invalid volume id 'vm-100-disk-0.qcow2'");
    expect(next).toBe("a volume id is <storage>:<volume name>, as 'stowage list <storage>' prints it");
  });

  it('a clone of a volume that is not a template: why, and the template verb', async () => {
    const { message, next } = await fails(['clone', qcow2, '200'], 'NOT_SUPPORTED');
    expect(message).toContain(`'${qcow2}' does not support clone: only a template (base) is cloned; make the volume a template first (createBase)`);
    expect(next).toBe(`'stowage template ${qcow2}' makes it a template; then clone the template`);
  });

  it('a snapshot of a raw image on a directory storage: which format has them', async () => {
    const { message } = await fails(['snapshot', raw, 's1'], 'NOT_SUPPORTED');
    expect(message).toContain("can't snapshot this image format (raw): on a directory storage only qcow2 images have snapshots");
  });

  it('a template that clones use: how many, which, and to free them first', async () => {
    const { message, next, stderr } = await fails(['free', base], 'IN_USE');
    expect(message).toContain(`base volume '${base}' is still in use by a linked clone (${clone}): free the clones first`);
    expect(stderr).toContain(`  clones: ${clone}`);
    expect(next).toBe(`free or flatten the linked clones ('stowage free <volid>', 'stowage flatten <volid>'), then the template; or 'stowage free ${base} --when-unused' frees it with its last clone`);
  });

  it('a flatten of a clone with snapshots the directory storage would lose: INVALID_STATE, and how to go on', async () => {
    const other = (await s.ok(['clone', base, '105'])).trim();
    await s.ok(['snapshot', other, 'kept']);
    const { next } = await fails(['flatten', other], 'INVALID_STATE');
    expect(next).toBe(`'stowage delsnapshot ${other} <snapshot>' deletes each; then flatten it`);
    await s.ok(['delsnapshot', other, 'kept']);
    await s.ok(['free', other]);
  });

  it('a template of a volume with snapshots: INVALID_STATE naming them, and how to delete them', async () => {
    const volid = (await s.ok(['alloc', 'local', '104', '-', '1M', '--format', 'qcow2'])).trim();
    await s.ok(['snapshot', volid, 'before']);
    const { message, next } = await fails(['template', volid], 'INVALID_STATE');
    expect(message).toContain(`cannot make '${volid}' a template: it has snapshots (before); delete them first, or make the template from a copy`);
    expect(next).toBe(`'stowage delsnapshot ${volid} <snapshot>' deletes each; then make the template`);
    expect(jsonError((await s.run(['template', volid, '--json'])).stderr).details).toMatchObject({ volid, snapshots: ['before'] });
    expect((await s.json<Array<{ volid: string }>>(['list', 'local'])).map((v) => v.volid)).toContain(volid);
  });

  it('a resize that would shrink: that resize only grows', async () => {
    const { message, next } = await fails(['resize', qcow2, '1M'], 'CANNOT_SHRINK');
    expect(message).toContain(`cannot shrink '${qcow2}' from 2097152 to 1048576 bytes`);
    expect(next).toBe('resize only grows: give a larger size, or +SIZE to add to it');
  });

  it('an export onto a file that exists: that nothing is overwritten, and the ways out', async () => {
    const { message, next } = await fails(['export', raw, 'raw+size', s.config], 'ALREADY_EXISTS');
    expect(message).toContain(`cannot create '${s.config}'`);
    expect(next).toBe("export never overwrites a file: remove it, name another, or give '-' for standard output");
  });

  it('a disabled storage: how to enable it', async () => {
    await s.ok(['storage', 'set', 'other', '--disable', '1']);
    const { message, next } = await fails(['list', 'other'], 'UNAVAILABLE');
    expect(message).toContain("storage 'other' is disabled");
    expect(next).toBe("'stowage storage set other --disable 0' enables it");
  });
});
