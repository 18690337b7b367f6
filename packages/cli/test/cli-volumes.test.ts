/**
 * The built `stowage` binary against a real directory storage with the real qemu-img: the
 * volume verbs, their output (human and --json), and the exit status of each error path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, jsonError } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

const M = 1024 ** 2;
let s: Sandbox;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('volumes');
  await addDirStorages(s);
});
afterAll(() => s?.remove());

/** Writes a byte pattern at offset 0 of a qcow2 image with qemu-io. */
async function writePattern(path: string, byte: number): Promise<void> {
  const r = await s.tool('qemu-io', ['-f', 'qcow2', '-c', `write -P ${byte} 0 64k`, path]);
  expect(r.code, r.stderr).toBe(0);
}

/** Tells whether offset 0 of a qcow2 image holds the pattern (qemu-io reports a mismatch). */
async function hasPattern(path: string, byte: number): Promise<boolean> {
  const r = await s.tool('qemu-io', ['-f', 'qcow2', '-c', `read -P ${byte} 0 64k`, path]);
  expect(r.code, r.stderr).toBe(0);
  return !/Pattern verification failed/.test(r.stdout + r.stderr);
}

describe('status and list', () => {
  it('lists in plain character order, whatever the locale (upper case before lower case)', async () => {
    const own = makeSandbox('order');
    try {
      await own.ok(['storage', 'add', 'dir', 'local', '--path', `${own.dir}/local`, '--content', 'images']);
      for (const name of ['vm-7-disk-b.raw', 'vm-7-disk-B.raw', 'vm-7-disk-a.raw']) await own.ok(['alloc', 'local', '7', name, '1M']);
      const rows = await own.json<Array<{ volid: string }>>(['list', 'local'], { env: { LC_ALL: 'en_US.UTF-8', LANG: 'en_US.UTF-8' } });
      expect(rows.map((r) => r.volid)).toEqual(['local:7/vm-7-disk-B.raw', 'local:7/vm-7-disk-a.raw', 'local:7/vm-7-disk-b.raw']);
    } finally {
      own.remove();
    }
  });

  it('shows every storage as active, in a table and as JSON', async () => {
    const text = await s.ok(['status']);
    expect(text).toMatch(/^Name\s+Type\s+Status/m);
    expect(text).toMatch(/^local\s+dir\s+active/m);
    const rows = await s.json<Array<{ storage: string; status: string; total: number; available: number }>>(['status']);
    expect(rows.map((r) => r.storage)).toEqual(['local', 'other']);
    for (const r of rows) {
      expect(r.status).toBe('active');
      expect(r.total).toBeGreaterThan(0);
      expect(r.available).toBeGreaterThan(0);
    }
    expect((await s.json<unknown[]>(['status', 'other'])).length).toBe(1);
  });

  it('fails for an unknown storage', async () => {
    expect((await s.run(['status', 'nosuch'])).code).toBe(EXIT_CODES.NOT_FOUND);
    expect((await s.run(['list', 'nosuch'])).code).toBe(EXIT_CODES.NOT_FOUND);
  });
});

describe('alloc, path, list, free', () => {
  it('allocates with a free name and with a given name', async () => {
    expect((await s.ok(['alloc', 'local', '100', '-', '64M', '--format', 'qcow2'])).trim()).toBe('local:100/vm-100-disk-0.qcow2');
    const named = await s.json<{ volid: string; size: number }>(['alloc', 'local', '100', 'vm-100-disk-7.raw', '32M', '--format', 'raw']);
    expect(named).toEqual({ volid: 'local:100/vm-100-disk-7.raw', size: 32 * M });
    const info = await s.tool('qemu-img', ['info', '--output=json', (await s.ok(['path', 'local:100/vm-100-disk-0.qcow2'])).trim()]);
    expect(JSON.parse(info.stdout)['virtual-size']).toBe(64 * M);
  });

  it('lists with filters', async () => {
    const all = await s.json<Array<{ volid: string; size: number; format: string; vmid: number }>>(['list', 'local']);
    expect(all.map((v) => v.volid)).toEqual(['local:100/vm-100-disk-0.qcow2', 'local:100/vm-100-disk-7.raw']);
    expect(all[0]).toMatchObject({ format: 'qcow2', size: 64 * M, vmid: 100 });
    expect(await s.json<unknown[]>(['list', 'local', '--vmid', '999'])).toEqual([]);
    expect((await s.json<unknown[]>(['list', 'local', '--vmid', '100', '--content', 'images'])).length).toBe(2);
    expect(await s.json<unknown[]>(['list', 'local', '--content', 'iso'])).toEqual([]);
    expect(await s.ok(['list', 'local'])).toMatch(/^local:100\/vm-100-disk-0\.qcow2\s+qcow2\s+images\s+64\.0M\s+100/m);
  });

  it('prints the path as text and JSON', async () => {
    const p = await s.json<{ path: string; vmid: number; vtype: string }>(['path', 'local:100/vm-100-disk-7.raw']);
    expect(p).toEqual({ volid: 'local:100/vm-100-disk-7.raw', path: `${s.dir}/local/images/100/vm-100-disk-7.raw`, vmid: 100, vtype: 'images' });
  });

  it.each([
    [['alloc', 'local', '100', '-', '0'], 'INVALID_ARGUMENT'],
    [['alloc', 'local', '100', '-', '-5G'], 'INVALID_ARGUMENT'],
    [['alloc', 'local', '100', '-', '4X'], 'INVALID_ARGUMENT'],
    [['alloc', 'local', 'abc', '-', '1M'], 'INVALID_ARGUMENT'],
    [['alloc', 'local', '0', '-', '1M'], 'INVALID_ARGUMENT'],
    [['alloc', 'local', '100', '-', '1M', '--format', 'qed'], 'INVALID_ARGUMENT'],
    [['alloc', 'nosuch', '100', '-', '1M'], 'NOT_FOUND'],
    [['alloc', 'local', '100', 'vm-100-disk-7.raw', '1M', '--format', 'raw'], 'ALREADY_EXISTS'],
    [['alloc', 'local', '100', '../../etc/passwd', '1M'], 'INVALID_VOLUME_ID'],
    [['path', 'local:../etc/passwd'], 'INVALID_VOLUME_ID'],
    [['path', 'no-colon'], 'INVALID_VOLUME_ID'],
    [['free', 'local:100/vm-100-disk-0.qcow2;rm'], 'INVALID_VOLUME_ID'],
    [['free', 'local:100/vm-100-disk-9.raw'], 'NOT_FOUND'],
    [['free', 'local:100/base-100-disk-9.raw'], 'NOT_FOUND'],
    [['list', 'local', '--content', 'movies'], 'INVALID_ARGUMENT'],
    [['list', 'local', '--vmid', '-3'], 'INVALID_ARGUMENT'],
  ])('%j exits with %s and changes nothing', async (args, code) => {
    const before = await s.json<unknown[]>(['list', 'local']);
    const r = await s.run([...args, '--json']);
    expect(r.code, r.stderr).toBe(EXIT_CODES[code as keyof typeof EXIT_CODES]);
    expect(jsonError(r.stderr).code).toBe(code);
    expect(await s.json<unknown[]>(['list', 'local'])).toEqual(before);
  });

  it('frees a volume', async () => {
    expect(await s.json(['free', 'local:100/vm-100-disk-7.raw'])).toEqual({ volid: 'local:100/vm-100-disk-7.raw', freed: true, outcome: 'freed', alsoFreed: [] });
    expect((await s.json<Array<{ volid: string }>>(['list', 'local'])).map((v) => v.volid)).toEqual(['local:100/vm-100-disk-0.qcow2']);
  });
});

describe('snapshots', () => {
  const vol = 'local:100/vm-100-disk-0.qcow2';
  let file: string;

  beforeAll(async () => {
    file = (await s.ok(['path', vol])).trim();
  });

  it('takes, lists, rolls back and deletes snapshots; the data comes back', async () => {
    await writePattern(file, 0x11);
    await s.ok(['snapshot', vol, 'first']);
    await writePattern(file, 0x22);
    expect(await hasPattern(file, 0x22)).toBe(true);
    const snaps = await s.json<Array<{ name: string; timestamp: number }>>(['snapshots', vol]);
    expect(snaps.map((x) => x.name)).toEqual(['first']);
    expect(snaps[0]?.timestamp).toBeGreaterThan(0);
    expect(await s.ok(['snapshots', vol])).toMatch(/^first\s+\d{4}-\d\d-\d\d /m);
    await s.ok(['rollback', vol, 'first']);
    expect(await hasPattern(file, 0x11)).toBe(true);
    expect(await s.json(['delsnapshot', vol, 'first'])).toEqual({ volid: vol, snapshot: 'first', deleted: true });
    expect(await s.json(['snapshots', vol])).toEqual([]);
  });

  it.each([
    [['snapshot', vol, '1bad'], 'INVALID_ARGUMENT'],
    [['snapshot', vol, 'has space'], 'INVALID_ARGUMENT'],
    [['rollback', vol, 'never'], 'NOT_FOUND'],
    [['delsnapshot', vol, 'never'], 'NOT_FOUND'],
    [['snapshots', 'local:100/vm-100-disk-9.qcow2'], 'NOT_FOUND'],
  ])('%j exits with %s', async (args, code) => {
    const r = await s.run([...args, '--json']);
    expect(r.code, r.stderr).toBe(EXIT_CODES[code as keyof typeof EXIT_CODES]);
    expect(jsonError(r.stderr).code).toBe(code);
  });

  it('refuses a snapshot name that is taken', async () => {
    await s.ok(['snapshot', vol, 'again']);
    expect((await s.run(['snapshot', vol, 'again'])).code).toBe(EXIT_CODES.ALREADY_EXISTS);
    await s.ok(['delsnapshot', vol, 'again']);
  });
});

describe('resize and rename', () => {
  it('grows to a size and by a size, never shrinks', async () => {
    const vol = 'local:100/vm-100-disk-0.qcow2';
    expect(await s.json(['resize', vol, '96M'])).toEqual({ volid: vol, size: 96 * M });
    expect(await s.json(['resize', vol, '+32M'])).toEqual({ volid: vol, size: 128 * M });
    const r = await s.run(['resize', vol, '64M']);
    expect(r.code).toBe(EXIT_CODES.CANNOT_SHRINK);
    expect(r.stderr).toMatch(/\[CANNOT_SHRINK\]/);
    expect((await s.run(['resize', vol, '-1M'])).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
    expect((await s.json<Array<{ size: number }>>(['list', 'local']))[0]?.size).toBe(128 * M);
  });

  it('gives a volume to another guest', async () => {
    const vol = (await s.ok(['alloc', 'local', '300', '-', '1M', '--format', 'raw'])).trim();
    expect((await s.ok(['rename', vol, '301'])).trim()).toBe('local:301/vm-301-disk-0.raw');
    expect((await s.run(['rename', vol, '302'])).code).toBe(EXIT_CODES.NOT_FOUND);
    await s.ok(['free', 'local:301/vm-301-disk-0.raw']);
  });
});

describe('templates and linked clones', () => {
  it('makes a template, two clones, refuses to free the template while they exist', async () => {
    const vol = (await s.ok(['alloc', 'local', '200', '-', '16M', '--format', 'qcow2'])).trim();
    const base = (await s.ok(['template', vol])).trim();
    expect(base).toBe('local:200/base-200-disk-0.qcow2');
    const c1 = await s.json<{ volid: string; from: string }>(['clone', base, '201']);
    const c2 = (await s.ok(['clone', base, '202'])).trim();
    expect(c1.from).toBe(base);
    expect(c1.volid).toMatch(/^local:200\/base-200-disk-0\.qcow2\/201\/vm-201-disk-0\.qcow2$/);
    expect(c2).toMatch(/\/202\/vm-202-disk-0\.qcow2$/);

    const r = await s.run(['free', base, '--json']);
    expect(r.code).toBe(EXIT_CODES.IN_USE);
    expect(jsonError(r.stderr).details['clones']).toEqual([c1.volid, c2].sort());
    const human = await s.run(['free', base]);
    expect(human.stderr).toMatch(/clones: .*vm-201-disk-0/);

    expect((await s.run(['template', base])).code).not.toBe(0);
    expect((await s.run(['clone', vol, '203'])).code).toBe(EXIT_CODES.NOT_SUPPORTED); // not a template (and gone)
    await s.ok(['free', c1.volid]);
    await s.ok(['free', c2]);
    await s.ok(['free', base]);
  });
});
