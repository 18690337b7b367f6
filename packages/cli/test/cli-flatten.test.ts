/**
 * `stowage flatten`, `free --when-unused`, `list --include-hidden` and `prune` with the built
 * binary on real directory storage (real qemu-img).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PruneRow } from '../src/verbs/prune.js';
import { assertBuilt } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

let s: Sandbox;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('flatten');
  await addDirStorages(s);
});
afterAll(() => s?.remove());

const volids = async (...extra: string[]): Promise<string[]> => (await s.json<Array<{ volid: string }>>(['list', 'local', ...extra])).map((r) => r.volid);
const errorCode = (stderr: string): unknown => (JSON.parse(stderr.trim().split('\n').pop() ?? '{}') as { error?: { code?: string } }).error?.code;

describe('flatten', () => {
  it('detaches a clone (new volid), after which its template can be freed; --to-snapshot drops every snapshot', async () => {
    const vol = (await s.ok(['alloc', 'local', '100', '-', '1M', '--format', 'qcow2'])).trim();
    const base = (await s.ok(['template', vol])).trim();
    const clone = (await s.ok(['clone', base, '101'])).trim();
    expect((await s.run(['free', base])).code).not.toBe(0);
    const flat = await s.json<{ volid: string; from: string; snapshot: null }>(['flatten', clone]);
    expect(flat).toEqual({ volid: 'local:101/vm-101-disk-0.qcow2', from: clone, snapshot: null });
    expect(await s.json(['free', base])).toEqual({ volid: base, freed: true, outcome: 'freed', alsoFreed: [] });
    await s.ok(['snapshot', flat.volid, 'one']);
    await s.ok(['snapshot', flat.volid, 'two']);
    expect(await s.json(['flatten', flat.volid, '--to-snapshot', 'one'])).toEqual({ volid: flat.volid, from: flat.volid, snapshot: 'one' });
    expect(await s.json(['snapshots', flat.volid])).toEqual([]);
    const missing = await s.run(['flatten', flat.volid, '--to-snapshot', 'one', '--json']);
    expect(errorCode(missing.stderr)).toBe('NOT_FOUND');
  });
});

describe('free --when-unused and list --include-hidden', () => {
  it('hides a template its clones use, lists it only with --include-hidden, and frees it with the last clone', async () => {
    const base = (await s.ok(['template', (await s.ok(['alloc', 'local', '200', '-', '1M', '--format', 'qcow2'])).trim()])).trim();
    const clone = (await s.ok(['clone', base, '201'])).trim();
    expect(await s.json(['free', base, '--when-unused'])).toEqual({ volid: base, freed: false, outcome: 'hidden', alsoFreed: [] });
    expect(await volids()).not.toContain(base);
    const all = await s.json<Array<{ volid: string; hidden?: boolean }>>(['list', 'local', '--include-hidden']);
    expect(all.find((r) => r.volid === base)?.hidden).toBe(true);
    expect(await s.ok(['list', 'local', '--include-hidden'])).toContain(`${base} (hidden)`);
    expect(errorCode((await s.run(['clone', base, '202', '--json'])).stderr)).toBe('INVALID_STATE');
    expect(await s.json(['free', clone])).toEqual({ volid: clone, freed: true, outcome: 'freed', alsoFreed: [base] });
    expect(await volids('--include-hidden')).not.toContain(base);
  });

  it('--in-use: a volume the guests use is not freed; a hidden template they use outlives its last clone, freed or flattened', async () => {
    const disk = (await s.ok(['alloc', 'local', '210', '-', '1M', '--format', 'qcow2'])).trim();
    const refused = await s.run(['free', disk, '--in-use', '-', '--json'], { input: `${disk}\n` });
    expect(errorCode(refused.stderr)).toBe('IN_USE');
    const base = (await s.ok(['template', (await s.ok(['alloc', 'local', '211', '-', '1M', '--format', 'qcow2'])).trim()])).trim();
    const c1 = (await s.ok(['clone', base, '212'])).trim();
    const c2 = (await s.ok(['clone', base, '213'])).trim();
    await s.ok(['free', base, '--when-unused']);
    const file = join(s.dir, 'guests.json');
    await writeFile(file, JSON.stringify([base]));
    expect(await s.json(['free', c1, '--in-use', file])).toEqual({ volid: c1, freed: true, outcome: 'freed', alsoFreed: [] });
    const flat = await s.json<{ volid: string }>(['flatten', c2, '--in-use', file]);
    expect(await volids('--include-hidden')).toEqual(expect.arrayContaining([disk, base, flat.volid]));
    expect(await s.json(['free', base])).toEqual({ volid: base, freed: true, outcome: 'freed', alsoFreed: [] });
  });
});

describe('prune', () => {
  it('lists with --dry-run, keeps what a clone or --in-use (file or stdin) uses, frees the rest', async () => {
    const template = async (vmid: number): Promise<string> => (await s.ok(['template', (await s.ok(['alloc', 'other', String(vmid), '-', '1M', '--format', 'qcow2'])).trim()])).trim();
    const used = await template(300);
    const clone = (await s.ok(['clone', used, '301'])).trim();
    const named = await template(302);
    const unused = await template(303);
    const file = join(s.dir, 'in-use.txt');
    await writeFile(file, `# guests\n${named}\n`);
    const dry = await s.json<PruneRow[]>(['prune', 'other', '--dry-run', '--in-use', file]);
    expect(dry.sort((a, b) => (a.volid < b.volid ? -1 : 1))).toEqual(
      [
        { volid: used, action: 'kept', reason: 'in-use', usedBy: clone },
        { volid: named, action: 'kept', reason: 'in-use', usedBy: named },
        { volid: unused, action: 'would free', reason: null, usedBy: null },
      ].sort((a, b) => (a.volid < b.volid ? -1 : 1)),
    );
    const young = await s.json<PruneRow[]>(['prune', 'other', '--older-than', '1d', '--in-use', '-'], { input: JSON.stringify([named]) });
    expect(young.find((r) => r.volid === unused)).toMatchObject({ action: 'kept', reason: 'newer' });
    const done = await s.json<PruneRow[]>(['prune', 'other', '--in-use', '-'], { input: `${named}\n` });
    expect(done.filter((r) => r.action === 'freed').map((r) => r.volid)).toEqual([unused]);
    expect((await s.json<Array<{ volid: string }>>(['list', 'other'])).map((r) => r.volid).sort()).toEqual([used, clone, named].sort());
    expect(errorCode((await s.run(['prune', 'other', '--older-than', '30', '--json'])).stderr)).toBe('INVALID_ARGUMENT');
    expect((await s.ok(['prune', 'other', '--dry-run', '--in-use', file])).split('\n')[0]).toMatch(/^Template\s+Action\s+Reason\s+Used by/);
  });
});
