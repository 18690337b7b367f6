/**
 * The built binary's configuration handling: which file it reads, `storage add|set|remove|list`,
 * broken files, disabled storages; and its plugin loading: built-ins and third-party packages by
 * --plugin, $STOWAGE_PLUGINS and plugins.cfg, each checked by register().
 */
import { mkdirSync, readFileSync, symlinkSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES, EXIT_USAGE } from '../src/exit-codes.js';
import { assertBuilt, jsonError, runStowage } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';
import { VERBS } from '../src/verbs/index.js';

const fixtures = fileURLToPath(new URL('./fixtures/plugins/', import.meta.url));
const btrfsPackage = fileURLToPath(new URL('../../../examples/plugin-btrfs', import.meta.url));
let s: Sandbox;

beforeAll(() => {
  assertBuilt();
  s = makeSandbox('config');
});
afterAll(() => s?.remove());

describe('help and usage', () => {
  it('prints the overview with --help, and to stderr with exit 2 when no verb is given', async () => {
    const help = await runStowage(['--help']);
    expect(help.code).toBe(0);
    for (const v of VERBS) expect(help.stdout).toContain(v.name);
    const none = await runStowage([]);
    expect(none.code).toBe(EXIT_USAGE);
    expect(none.stderr).toMatch(/^usage: stowage <verb>/);
  });

  it.each(VERBS.map((v) => v.name))('%s --help prints its usage', async (name) => {
    const r = await runStowage([...name.split(' '), '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`^usage: stowage ${name}`));
    expect(r.stdout).toContain('--json');
  });

  it.each([
    [['frobnicate']],
    [['alloc', 'local']],
    [['free', 'a:b', 'c:d']],
    [['list', 'local', '--bogus']],
    [['list', 'local', '--vmid']],
    [['storage']],
    [['storage', 'explode']],
    [['--vmid', '3', 'list']],
  ])('%j is a usage error (exit 2)', async (args) => {
    const r = await s.run(args);
    expect(r.code, r.stderr).toBe(EXIT_USAGE);
    expect(r.stdout).toBe('');
  });
});

describe('configuration file', () => {
  it('says where it looked when there is no file', async () => {
    const r = await runStowage(['status', '--json'], { cwd: s.dir, env: { STOWAGE_CONFIG: join(s.dir, 'none.cfg') } });
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    expect(jsonError(r.stderr).details['path']).toBe(join(s.dir, 'none.cfg'));
  });

  it('storage add creates the file, in Proxmox section format', async () => {
    await s.ok(['storage', 'add', 'dir', 'local', '--path', join(s.dir, 'a'), '--content', 'images,iso']);
    await s.ok(['storage', 'add', 'dir', 'spare', `--path=${join(s.dir, 'b')}`]);
    expect(readFileSync(s.config, 'utf8')).toMatch(new RegExp(`^dir: local\\n\\tpath ${join(s.dir, 'a')}\\n\\tcontent images,iso\\n`));
    const list = await s.json<Array<{ storage: string; type: string; path: string; content?: string[] }>>(['storage', 'list']);
    expect(list.map((c) => [c.storage, c.type, c.path])).toEqual([
      ['local', 'dir', join(s.dir, 'a')],
      ['spare', 'dir', join(s.dir, 'b')],
    ]);
    expect(await s.ok(['storage', 'list'])).toMatch(/^local\s+dir\s+images,iso\s+no\s+yes\s+path=/m);
  });

  it('storage set changes options and refuses fixed ones', async () => {
    await s.ok(['storage', 'set', 'spare', '--content', 'iso', '--shared', '0']);
    expect((await s.json<Array<{ storage: string; content?: string[] }>>(['storage', 'list']))[1]?.content).toEqual(['iso']);
    await s.ok(['storage', 'set', 'spare', '--delete', 'content,shared']);
    expect(readFileSync(s.config, 'utf8')).not.toMatch(/content iso/);
    const before = readFileSync(s.config, 'utf8');
    expect((await s.run(['storage', 'set', 'spare', '--path', '/elsewhere'])).code).toBe(EXIT_CODES.CONFIG_INVALID);
    expect((await s.run(['storage', 'set', 'spare', '--colour', 'red'])).code).toBe(EXIT_CODES.CONFIG_INVALID);
    expect((await s.run(['storage', 'set', 'spare'])).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
    expect((await s.run(['storage', 'set', 'nosuch', '--content', 'iso'])).code).toBe(EXIT_CODES.NOT_FOUND);
    expect(readFileSync(s.config, 'utf8')).toBe(before);
  });

  it('storage add refuses bad input and changes nothing', async () => {
    const before = readFileSync(s.config, 'utf8');
    const cases: Array<[string[], keyof typeof EXIT_CODES]> = [
      [['storage', 'add', 'dir', 'local', '--path', '/x'], 'ALREADY_EXISTS'],
      [['storage', 'add', 'dir', 'x1', '--path', '/x', '--colour', 'red'], 'CONFIG_INVALID'],
      [['storage', 'add', 'dir', 'x2'], 'CONFIG_INVALID'],
      [['storage', 'add', 'dir', 'x3', '--path', 'relative'], 'CONFIG_INVALID'],
      [['storage', 'add', 'nosuchtype', 'x4', '--path', '/x'], 'CONFIG_INVALID'],
      [['storage', 'add', 'dir', '9bad', '--path', '/x'], 'CONFIG_INVALID'],
      [['storage', 'add', 'dir', 'x5', '--path', '/x', '--path', '/y'], 'INVALID_ARGUMENT'],
    ];
    for (const [args, code] of cases) {
      const r = await s.run([...args, '--json']);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(EXIT_CODES[code]);
    }
    expect(readFileSync(s.config, 'utf8')).toBe(before);
  });

  it('shows a disabled storage as disabled and refuses to use it', async () => {
    await s.ok(['storage', 'set', 'spare', '--disable', '1']);
    const rows = await s.json<Array<{ storage: string; status: string }>>(['status']);
    expect(rows.find((r) => r.storage === 'spare')?.status).toBe('disabled');
    expect((await s.run(['alloc', 'spare', '100', '-', '1M'])).code).toBe(EXIT_CODES.UNAVAILABLE);
    await s.ok(['storage', 'set', 'spare', '--delete', 'disable']);
  });

  it('storage remove drops the entry', async () => {
    await s.ok(['storage', 'remove', 'spare']);
    expect((await s.json<unknown[]>(['storage', 'list'])).length).toBe(1);
    expect((await s.run(['storage', 'remove', 'spare'])).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it('reads --config before $STOWAGE_CONFIG before ./storage.cfg', async () => {
    const other = join(s.dir, 'other.cfg');
    writeFileSync(other, `dir: viaflag\n\tpath ${join(s.dir, 'f')}\n`);
    writeFileSync(join(s.dir, 'storage.cfg.cwd'), '');
    const cwdDir = join(s.dir, 'cwd');
    mkdirSync(cwdDir);
    writeFileSync(join(cwdDir, 'storage.cfg'), `dir: viacwd\n\tpath ${join(s.dir, 'c')}\n`);
    const ids = async (args: string[], env: Record<string, string | undefined>) =>
      (JSON.parse((await runStowage([...args, 'storage', 'list', '--json'], { cwd: cwdDir, env: { STOWAGE_LOCK_DIR: s.env['STOWAGE_LOCK_DIR'], ...env } })).stdout) as Array<{ storage: string }>).map((c) => c.storage);
    expect(await ids(['--config', other], { STOWAGE_CONFIG: s.config })).toEqual(['viaflag']);
    expect(await ids([], { STOWAGE_CONFIG: s.config })).toEqual(['local']);
    expect(await ids([], {})).toEqual(['viacwd']);
  });

  it('skips bad lines and bad sections of a file with a warning naming the line, as Proxmox does', async () => {
    const bad = join(s.dir, 'bad.cfg');
    const env = { STOWAGE_LOCK_DIR: s.env['STOWAGE_LOCK_DIR'] };
    writeFileSync(bad, `dir: ok\n\tpath ${join(s.dir, 'ok')}\n\nthis is not a section\n`);
    const r = await runStowage(['--config', bad, 'status', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/line 4: expected a section header/);
    writeFileSync(bad, 'dir: ok\n\tpath /srv/x\n\tcolour red\n');
    const status = await runStowage(['--config', bad, 'status', '--json'], { env });
    expect(JSON.parse(status.stdout)).toEqual([expect.objectContaining({ storage: 'ok', status: 'invalid', error: 'CONFIG_INVALID' })]);
    const one = await runStowage(['--config', bad, 'status', 'ok', '--json'], { env });
    expect(one.code).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(JSON.stringify(jsonError(one.stderr).details)).toMatch(/"line":3/);
  });
});

describe('plugins', () => {
  it('lists the built-in types', async () => {
    const rows = await s.json<Array<{ type: string; source: string; apiVersion: number }>>(['plugins']);
    const types = rows.map((r) => r.type);
    for (const t of ['dir', 'linstor']) expect(types).toContain(t);
    expect(rows.find((r) => r.type === 'dir')?.source).toBe('builtin (@stowage/plugin-dir)');
  });

  it('loads a third-party package by name from --plugin, $STOWAGE_PLUGINS and plugins.cfg', async () => {
    const project = join(s.dir, 'project');
    mkdirSync(join(project, 'node_modules'), { recursive: true });
    symlinkSync(btrfsPackage, join(project, 'node_modules', 'stowage-plugin-btrfs'));
    if (!existsSync(join(btrfsPackage, 'dist', 'index.js'))) throw new Error('examples/plugin-btrfs is not built: run npx tsc -b');
    const typesOf = async (args: string[], env: Record<string, string> = {}, cwd = project) => {
      const r = await runStowage([...args, 'plugins', '--json'], { cwd, env: { STOWAGE_CONFIG: join(project, 'storage.cfg'), ...env } });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as Array<{ type: string; source: string }>;
    };
    expect((await typesOf(['--plugin', 'stowage-plugin-btrfs'])).find((p) => p.type === 'btrfs')?.source).toBe('stowage-plugin-btrfs');
    expect((await typesOf([], { STOWAGE_PLUGINS: 'stowage-plugin-btrfs' })).map((p) => p.type)).toContain('btrfs');
    expect((await typesOf([])).map((p) => p.type)).not.toContain('btrfs');
    writeFileSync(join(project, 'plugins.cfg'), '# third-party storage types\nstowage-plugin-btrfs\n');
    // plugins.cfg is read next to the configuration file, whatever the working directory.
    expect((await typesOf([], {}, s.dir)).map((p) => p.type)).toContain('btrfs');
  });

  it.each([
    [['--plugin', 'stowage-plugin-nosuch'], 'NOT_FOUND'],
    [['--plugin', `${fixtures}empty.mjs`], 'INVALID_ARGUMENT'],
    [['--plugin', `${fixtures}old-api.mjs`], 'API_VERSION_MISMATCH'],
    [['--plugin', `${fixtures}bad-type.mjs`], 'INVALID_ARGUMENT'],
    [['--plugin', 'not a name!'], 'INVALID_ARGUMENT'],
  ])('%j fails with %s', async (args, code) => {
    const r = await s.run([...args, 'plugins', '--json']);
    expect(r.code, r.stderr).toBe(EXIT_CODES[code as keyof typeof EXIT_CODES]);
    expect(jsonError(r.stderr).code).toBe(code);
  });
});
