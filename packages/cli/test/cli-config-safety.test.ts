/**
 * The built binary against storage.cfg on its worst days (issue 11, items 8 to 11 and 13):
 * many processes adding storages at once, empty values, a file with a bad section, comments,
 * paths that normalise to `/`, a path under /proc, an activation that fails half-way, and a
 * `--config` that is a directory.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseStorageCfg } from '@stowage/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, jsonError, runStowage } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

const sandboxes: Sandbox[] = [];
function sandbox(name: string): Sandbox {
  const s = makeSandbox(name);
  sandboxes.push(s);
  return s;
}

beforeAll(() => assertBuilt());
afterAll(() => {
  for (const s of sandboxes) s.remove();
});

function ids(s: Sandbox): string[] {
  return parseStorageCfg(readFileSync(s.config, 'utf8')).map((x) => x.storage);
}

describe('concurrent storage add from many processes (item 8)', () => {
  it.each([
    [4, 10],
    [4, 5],
  ])('%i x %i concurrent `stowage storage add` on one storage.cfg: every exit 0, every section present', async (groups, per) => {
    const s = sandbox(`race-${groups}x${per}`);
    const wanted: string[] = [];
    const runs: Promise<{ code: number; stderr: string }>[] = [];
    for (let g = 0; g < groups; g++) {
      for (let i = 0; i < per; i++) {
        const id = `p${g}s${i}`;
        wanted.push(id);
        runs.push(s.run(['storage', 'add', 'dir', id, '--path', join(s.dir, 'st', id), '--content', 'images']));
      }
    }
    const results = await Promise.all(runs);
    expect(results.filter((r) => r.code !== 0).map((r) => r.stderr)).toEqual([]);
    expect(ids(s).sort()).toEqual(wanted.sort());
    // No temporary file or lock is left beside the file.
    expect(readdirSync(s.dir).filter((f) => f !== 'cache').sort()).toEqual(['locks', 'st', 'storage.cfg']); // cache: the sandbox's config memo
  }, 300_000);
});

describe('empty values (item 9)', () => {
  let s: Sandbox;
  beforeAll(async () => {
    s = sandbox('empty');
    await s.ok(['storage', 'add', 'dir', 'good', '--path', join(s.dir, 'good')]);
  });

  // `@` stands for the sandbox directory.
  it.each([
    [['storage', 'add', 'dir', 'e1', '--path', '@/e1', '--content', '']],
    [['storage', 'add', 'dir', 'e2', '--path', '@/e2', '--nodes', '']],
    [['storage', 'add', 'dir', 'e3', '--path', '@/e3', '--content-dirs', '']],
    [['storage', 'add', 'dir', 'e4', '--path', '@/e4', '--disable', '']],
    [['storage', 'add', 'dir', 'e5', '--path', '@/e5', '--content', ',']],
    [['storage', 'add', 'dir', 'e6', '--path', '@/e6', '--content-dirs', ',']],
    [['storage', 'set', 'good', '--content', '']],
    [['storage', 'set', 'good', '--nodes', ' ']],
  ])('%j is refused with a message naming the option, and nothing is written', async (template) => {
    const args = template.map((a) => a.replace(/^@/, s.dir));
    const before = readFileSync(s.config, 'utf8');
    const r = await s.run([...args, '--json']);
    expect([EXIT_CODES.CONFIG_INVALID, EXIT_CODES.INVALID_ARGUMENT], r.stderr).toContain(r.code);
    const option = args[args.length - 2]!.slice(2);
    expect(jsonError(r.stderr).message).toContain(option);
    expect(readFileSync(s.config, 'utf8')).toBe(before);
    expect(existsSync(join(s.dir, args[3]!))).toBe(false);
    // The file still loads, every verb still works.
    expect((await s.json<unknown[]>(['storage', 'list'])).length).toBe(1);
  });
});

describe('a storage.cfg with bad sections (item 9)', () => {
  let s: Sandbox;
  const good = (dir: string) => `dir: good\n\tpath ${dir}\n\tcontent images\n`;
  beforeAll(() => {
    s = sandbox('bad');
    writeFileSync(
      s.config,
      `${good(join(s.dir, 'good'))}\ndir: badcontent\n\tpath ${join(s.dir, 'bc')}\n\tcontent\n\ndir: badkey\n\tpath ${join(s.dir, 'bk')}\n\tcolour blue\n\n` +
        `dir: other\n\tpath ${join(s.dir, 'other')}\n`,
    );
  });

  it('loads the good sections, warns about the bad ones, and lists them with their issues', async () => {
    const r = await s.run(['storage', 'list', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/badcontent/);
    expect(r.stderr).toMatch(/badkey/);
    const rows = JSON.parse(r.stdout) as Array<{ storage: string; issues?: Array<{ message: string; line?: number }> }>;
    // Usable storages first, then the sections that cannot be used, each in file order.
    expect(rows.map((x) => x.storage)).toEqual(['good', 'other', 'badcontent', 'badkey']);
    expect(rows[2]?.issues?.[0]?.message).toMatch(/content/);
    expect(rows[2]?.issues?.[0]?.line).toBe(7);
    expect(rows[3]?.issues?.[0]?.message).toMatch(/colour/);
    expect(rows[0]?.issues).toBeUndefined();
    const status = await s.json<Array<{ storage: string; status: string }>>(['status']);
    expect(status.map((x) => [x.storage, x.status])).toEqual([
      ['good', 'active'],
      ['other', 'active'],
      ['badcontent', 'invalid'],
      ['badkey', 'invalid'],
    ]);
    await s.ok(['alloc', 'good', '100', '-', '1M']);
  });

  it('refuses to use a bad storage with CONFIG_INVALID naming the issue', async () => {
    const r = await s.run(['alloc', 'badcontent', '100', '-', '1M', '--json']);
    expect(r.code).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(jsonError(r.stderr).message).toMatch(/content/);
    expect((await s.run(['list', 'badkey'])).code).toBe(EXIT_CODES.CONFIG_INVALID);
  });

  it('repairs a bad section with storage set, removes one with storage remove, and keeps the rest as it was', async () => {
    const before = readFileSync(s.config, 'utf8');
    await s.ok(['storage', 'set', 'badcontent', '--content', 'images']);
    await s.ok(['alloc', 'badcontent', '100', '-', '1M']);
    await s.ok(['storage', 'set', 'badkey', '--delete', 'colour']);
    await s.ok(['alloc', 'badkey', '100', '-', '1M']);
    writeFileSync(s.config, before);
    await s.ok(['storage', 'remove', 'badkey']);
    await s.ok(['storage', 'set', 'good', '--content', 'images,iso']);
    // The bad section nobody touched is written back as it was.
    const after = readFileSync(s.config, 'utf8');
    expect(after).toContain(`dir: badcontent\n\tpath ${join(s.dir, 'bc')}\n\tcontent\n`);
    expect(after).not.toContain('badkey');
    expect(after).toContain('\tcontent images,iso\n');
  });
});

describe('comments (item 10)', () => {
  it('survive storage set, add and remove where they were; untouched sections stay byte-identical', async () => {
    const s = sandbox('comments');
    const a = join(s.dir, 'a');
    const b = join(s.dir, 'b');
    const text =
      `# storage.cfg of the lab\n# keep it tidy\n\ndir: alpha\n\tpath ${a}\n\t# images only, backups go elsewhere\n\tcontent images\n\n` +
      `# the second one\ndir: beta\n\tpath ${b}\n\tcontent images\n\n# end of file\n`;
    writeFileSync(s.config, text);
    await s.ok(['storage', 'set', 'alpha', '--content', 'images,iso']);
    expect(readFileSync(s.config, 'utf8')).toBe(text.replace('\tcontent images\n\n# the', '\tcontent images,iso\n\n# the'));
    await s.ok(['storage', 'add', 'dir', 'gamma', '--path', join(s.dir, 'c')]);
    const withGamma = readFileSync(s.config, 'utf8');
    expect(withGamma).toMatch(/\tcontent images\n\ndir: gamma\n\tpath [^\n]+\n\n# end of file\n$/);
    await s.ok(['storage', 'remove', 'beta']);
    const after = readFileSync(s.config, 'utf8');
    for (const comment of ['# storage.cfg of the lab', '# keep it tidy', '\t# images only, backups go elsewhere', '# the second one', '# end of file']) {
      expect(after).toContain(comment);
    }
    expect(after).not.toContain('dir: beta');
    expect(after.startsWith(`# storage.cfg of the lab\n# keep it tidy\n\ndir: alpha\n\tpath ${a}\n\t# images only`)).toBe(true);
  });
});

describe('storage paths (item 11)', () => {
  let s: Sandbox;
  beforeAll(() => {
    s = sandbox('paths');
  });

  it.each(['//', '/.', '/./', '///', '/..', '/tmp/..'])('--path %s is refused like --path / and creates nothing', async (path) => {
    const rootBefore = readdirSync('/').sort();
    const r = await s.run(['storage', 'add', 'dir', 'root', '--path', path, '--json']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(readdirSync('/').sort()).toEqual(rootBefore);
    expect(existsSync(s.config) ? ids(s) : []).not.toContain('root');
  });

  it('removes trailing slashes and repeated ones', async () => {
    await s.ok(['storage', 'add', 'dir', 'slashes', '--path', `${s.dir}//sl/./x/`]);
    const list = await s.json<Array<{ storage: string; path: string }>>(['storage', 'list']);
    expect(list.find((x) => x.storage === 'slashes')?.path).toBe(join(s.dir, 'sl', 'x'));
  });

  it('fails fast under /proc instead of spinning', async () => {
    const r = await s.run(['storage', 'add', 'dir', 'procx', '--path', '/proc/x', '--json'], { killAfterMs: 30_000 });
    expect(r.code, 'the command did not end on its own').not.toBe(137);
    expect(r.code, r.stderr).not.toBe(0);
    expect(jsonError(r.stderr).message).toContain('/proc/x');
    expect(ids(s)).not.toContain('procx');
  });

  it('removes the directories a failed activation made, and only those', async () => {
    const existing = join(s.dir, 'existing');
    mkdirSync(existing);
    writeFileSync(join(existing, 'keep.txt'), 'mine');
    const r = await s.run([
      'storage', 'add', 'dir', 'clash', '--path', join(existing, 'new', 'deep'),
      '--content', 'images,iso', '--content-dirs', 'images=same,iso=same', '--json',
    ]);
    expect(r.code, r.stderr).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(readdirSync(existing)).toEqual(['keep.txt']);
    expect(ids(s)).not.toContain('clash');
    // The config's directory made by `storage add` is removed too when the add fails.
    const fresh = join(s.dir, 'fresh');
    const r2 = await runStowage(['storage', 'add', 'dir', 'clash', '--config', join(fresh, 'sub', 'storage.cfg'), '--path', join(fresh, 'data'), '--content', 'images,iso', '--content-dirs', 'images=same,iso=same'], {
      env: { STOWAGE_LOCK_DIR: s.env['STOWAGE_LOCK_DIR'] },
    });
    expect(r2.code, r2.stderr).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(existsSync(fresh)).toBe(false);
  });
});

describe('--config naming a directory (item 13)', () => {
  it.each([[['storage', 'list']], [['status']], [['storage', 'add', 'dir', 'dd', '--path', '/srv/dd']]])('%j is CONFIG_INVALID naming the path', async (args) => {
    const s = sandbox('cfgdir');
    const r = await runStowage(['--config', s.dir, ...args, '--json'], { env: { STOWAGE_LOCK_DIR: s.env['STOWAGE_LOCK_DIR'] } });
    expect(r.code, r.stderr).toBe(EXIT_CODES.CONFIG_INVALID);
    expect(jsonError(r.stderr).message).toContain(s.dir);
  });
});
