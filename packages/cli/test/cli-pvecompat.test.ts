/**
 * The built `stowage` binary on a directory storage laid out as Proxmox lays it out: the guest
 * list of `list --guests`, and `volid`, the inverse of `path`.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

let s: Sandbox;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('pvecompat');
  await addDirStorages(s);
  await s.ok(['alloc', 'local', '16110', '-', '1M', '--format', 'qcow2']);
  await s.ok(['alloc', 'local', '16112', '-', '1M', '--format', 'raw']);
});
afterAll(() => s?.remove());

type Row = { volid: string; content: string };

describe('list --guests', () => {
  it('lists a container\'s images as rootdir, from an inline list or from a .vmlist file', async () => {
    expect(await s.json<Row[]>(['list', 'local', '--content', 'images,rootdir', '--guests', '16110=qemu,16112=lxc'])).toMatchObject([
      { volid: 'local:16110/vm-16110-disk-0.qcow2', content: 'images' },
      { volid: 'local:16112/vm-16112-disk-0.raw', content: 'rootdir' },
    ]);
    // the shape of Proxmox's /etc/pve/.vmlist
    const vmlist = { version: 3, ids: { '16110': { node: 'x42', type: 'qemu', version: 4 }, '16112': { node: 'x42', type: 'lxc', version: 7 } } };
    writeFileSync(join(s.dir, 'vmlist.json'), JSON.stringify(vmlist));
    expect((await s.json<Row[]>(['list', 'local', '--content', 'rootdir', '--guests', '@vmlist.json'])).map((r) => r.volid)).toEqual(['local:16112/vm-16112-disk-0.raw']);
  });

  it('without --guests every image is images', async () => {
    expect((await s.json<Row[]>(['list', 'local'])).map((r) => r.content)).toEqual(['images', 'images']);
  });

  it('refuses a bad guest list with INVALID_ARGUMENT', async () => {
    expect((await s.run(['list', 'local', '--guests', '16112=vz'])).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
    expect((await s.run(['list', 'local', '--guests', '@nosuch.json'])).code).toBe(EXIT_CODES.NOT_FOUND);
  });
});

describe('volid', () => {
  it('prints the volume id of a path, absolute or relative, as text and JSON', async () => {
    const path = join(s.dir, 'local/images/16110/vm-16110-disk-0.qcow2');
    expect((await s.ok(['volid', path])).trim()).toBe('local:16110/vm-16110-disk-0.qcow2');
    expect(await s.json(['volid', 'local/images/16112/vm-16112-disk-0.raw'])).toEqual({
      path: join(s.dir, 'local/images/16112/vm-16112-disk-0.raw'),
      volid: 'local:16112/vm-16112-disk-0.raw',
      vtype: 'images',
    });
    expect((await s.ok(['volid', (await s.ok(['path', 'local:16110/vm-16110-disk-0.qcow2'])).trim()])).trim()).toBe('local:16110/vm-16110-disk-0.qcow2');
  });

  it('fails with NOT_FOUND for a path no storage holds', async () => {
    expect((await s.run(['volid', '/etc/passwd'])).code).toBe(EXIT_CODES.NOT_FOUND);
    expect((await s.run(['volid', join(s.dir, 'local/images/16110/vm-16110-disk-9.qcow2')])).code).toBe(EXIT_CODES.NOT_FOUND);
  });
});
