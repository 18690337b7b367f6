/**
 * Issue 11, item 2: names QEMU reads as a protocol, JSON or options rather than a file
 * (`file:/x`, `json:{...}`, `nbd:...`, `http(s)://...`, any `<word>:` before the first `/`), in
 * a backing file, a qcow2 data file, a vmdk extent or a vmdk parent, are refused; and the other
 * ways QEMU could read something else than we checked: a backing format with a driver of its
 * own, an undeclared backing format that QEMU would probe, a vmdk whose header says "descriptor".
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, releaseImmutable, sh } from './helpers.js';
import { Collect, patchHeaderName, vmdkDescriptor } from './hostile.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;

let base: string;
let root: string;
let dir: string;
let secretPath: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-names-'));
  root = join(base, 'store');
  secretPath = join(base, 'outside.raw');
  await writeFile(secretPath, Buffer.alloc(MiB, 0x5a));
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
  dir = join(root, 'images/100');
  await mkdir(dir);
});
afterEach(async () => {
  await releaseImmutable(base);
  await rm(base, { recursive: true, force: true });
});

/** Every form of name QEMU would not take for a plain file. */
function forms(): Record<string, string> {
  return {
    'file:': `file:${secretPath}`,
    'json:': `json:{"file":{"driver":"file","filename":"${secretPath}"}}`,
    'json: with options': `json:{"driver":"raw","offset":0,"file":{"driver":"file","filename":"${secretPath}"}}`,
    'nbd:': 'nbd:127.0.0.1:1',
    'nbd URI with options': 'nbd+unix:///export?socket=/nonexistent.sock',
    'http:': 'http://127.0.0.1:1/x.raw',
    'https:': 'https://127.0.0.1:1/x.raw',
    'any word before the first /': 'anything:x.raw',
    'relative protocol-looking name': 'vm-100-disk-0.raw:x',
  };
}

/** The calls that must refuse an image, as thunks (each starts when the previous one settled). */
function verbs(volname: string): Record<string, () => Promise<unknown>> {
  const volume = vol(volname);
  return {
    activate: () => plugin.activateVolume(ctx, { volume }),
    path: () => plugin.path(ctx, { volume }),
    export: () => plugin.volumeExport(ctx, { volume, format: 'raw+size', output: new Collect() }),
    sizeInfo: () => plugin.volumeSizeInfo(ctx, { volume }),
  };
}

async function expectRefused(volname: string, what: string): Promise<void> {
  for (const [verb, call] of Object.entries(verbs(volname))) expect(await code(call()), `${verb} of ${what}`).toBe('CORRUPT');
}

describe('protocol, JSON and option forms', () => {
  it('as a qcow2 backing file (written by the real qemu-img with -u): refused', async () => {
    let i = 0;
    for (const [what, name] of Object.entries(forms())) {
      const file = `vm-100-disk-${i++}.qcow2`;
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', name, '-u', join(dir, file), '1M']);
      await expectRefused(`100/${file}`, `backing ${what}`);
    }
  });

  it('as a qcow2 data file (header written by hand: qemu-img would create it): refused', async () => {
    let i = 0;
    for (const [what, name] of Object.entries(forms())) {
      const file = `vm-100-disk-${i++}.qcow2`;
      const placeholder = join(base, `placeholder-${'p'.repeat(200)}-${i}`);
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${placeholder}`, join(dir, file), '1M']);
      await patchHeaderName(join(dir, file), placeholder, name);
      await expectRefused(`100/${file}`, `data file ${what}`);
    }
  });

  it('as a vmdk extent (descriptor written by hand): refused', async () => {
    let i = 0;
    for (const [what, name] of Object.entries(forms())) {
      const file = `vm-100-disk-${i++}.vmdk`;
      const quoted = name.replaceAll('"', "'"); // QEMU's JSON parser takes single quotes too
      await writeFile(join(dir, file), vmdkDescriptor([`RW 2048 FLAT "${quoted}" 0`]));
      await expectRefused(`100/${file}`, `extent ${what}`);
    }
  });

  it('as a vmdk parent (parentFileNameHint, which QEMU follows whatever parentCID says): refused', async () => {
    await writeFile(join(dir, 'flat'), Buffer.alloc(MiB));
    let i = 0;
    for (const [what, name] of Object.entries(forms())) {
      const file = `vm-100-disk-${i++}.vmdk`;
      const quoted = name.replaceAll('"', "'");
      await writeFile(join(dir, file), vmdkDescriptor(['RW 2048 FLAT "flat" 0'], [`parentFileNameHint="${quoted}"`]));
      await expectRefused(`100/${file}`, `parent ${what}`);
    }
  });

  it('a name whose first "/" comes before any ":" is a path, as for QEMU: accepted when it stays inside', async () => {
    await writeFile(join(dir, 'a:b.raw'), Buffer.alloc(MiB, 1));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', './a:b.raw', '-u', join(dir, 'vm-100-disk-0.qcow2'), '1M']);
    await plugin.activateVolume(ctx, { volume: vol('100/vm-100-disk-0.qcow2') });
    const out = new Collect();
    await plugin.volumeExport(ctx, { volume: vol('100/vm-100-disk-0.qcow2'), format: 'raw+size', output: out });
    expect(out.data.subarray(8).equals(Buffer.alloc(MiB, 1))).toBe(true);
  });
});

describe('what QEMU would open with another driver than the one checked', () => {
  it('a backing format other than raw, qcow2 or vmdk (vvfat, qed, nbd, file, host_device): refused', async () => {
    let i = 0;
    for (const fmt of ['vvfat', 'qed', 'nbd', 'file', 'host_device', 'blkdebug']) {
      const file = `vm-100-disk-${i++}.qcow2`;
      await writeFile(join(dir, `backing-${fmt}`), Buffer.alloc(MiB));
      await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', fmt, '-b', `backing-${fmt}`, '-u', join(dir, file), '1M']);
      await expectRefused(`100/${file}`, `backing format ${fmt}`);
    }
  });

  it('an undeclared backing format: QEMU probes the content, so a ".raw" backing that is really a qcow2 with a backing outside is refused', async () => {
    const fake = join(dir, 'vm-100-disk-9.raw');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', secretPath, fake]);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', 'vm-100-disk-9.raw', '-u', join(dir, 'vm-100-disk-0.qcow2'), '1M']);
    await dropBackingFormat(join(dir, 'vm-100-disk-0.qcow2'));
    expect(await sh('qemu-img', ['info', join(dir, 'vm-100-disk-0.qcow2')])).not.toMatch(/backing file format/);
    await expectRefused('100/vm-100-disk-0.qcow2', 'probed qcow2 backing');
    // the same with a QED image, a format whose backing file we do not read: refused as well
    await rm(fake);
    await sh('qemu-img', ['create', '-q', '-f', 'qed', '-F', 'raw', '-b', secretPath, fake]);
    await expectRefused('100/vm-100-disk-0.qcow2', 'probed qed backing');
    // a true raw file as undeclared backing is what QEMU opens as raw: accepted
    await rm(fake);
    await writeFile(fake, Buffer.alloc(MiB, 3));
    await plugin.activateVolume(ctx, { volume: vol('100/vm-100-disk-0.qcow2') });
  });

  it('a qcow2 data file with a relative name (QEMU resolves it against its working directory, not the image): refused', async () => {
    const file = join(dir, 'vm-100-disk-0.qcow2');
    const placeholder = join(base, `placeholder-${'p'.repeat(40)}`);
    await writeFile(join(dir, 'data.raw'), Buffer.alloc(MiB));
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${placeholder}`, file, '1M']);
    await patchHeaderName(file, placeholder, 'data.raw');
    await expectRefused('100/vm-100-disk-0.qcow2', 'relative data file');
  });

  it('a sparse vmdk whose capacity is 0 is read by QEMU as a descriptor: its extents are checked', async () => {
    const file = join(dir, 'vm-100-disk-0.vmdk');
    await sh('qemu-img', ['create', '-q', '-f', 'vmdk', file, '1M']);
    const buf = await readFile(file);
    buf.writeBigUInt64LE(0n, 12); // capacity
    const descOffset = Number(buf.readBigUInt64LE(28)) * 512;
    const text = vmdkDescriptor([`RW 2048 FLAT "${secretPath}" 0`]);
    buf.fill(0, descOffset, descOffset + 2048);
    buf.write(text, descOffset, 'latin1');
    await writeFile(file, buf);
    const info = JSON.parse(await sh('qemu-img', ['info', '--output=json', file])) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(MiB); // QEMU reads the outside file as the disk
    await expectRefused('100/vm-100-disk-0.vmdk', 'capacity-0 sparse vmdk');
  });

  it('an extent split over several lines (QEMU\'s sscanf skips newlines) is found', async () => {
    await writeFile(join(dir, 'vm-100-disk-0.vmdk'), vmdkDescriptor([`RW\n2048\nFLAT\n"${secretPath}" 0`]));
    const info = JSON.parse(await sh('qemu-img', ['info', '--output=json', join(dir, 'vm-100-disk-0.vmdk')])) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(MiB);
    await expectRefused('100/vm-100-disk-0.vmdk', 'split extent line');
  });
});

/** Renames the backing-format header extension to an unknown type, which QEMU skips. */
async function dropBackingFormat(path: string): Promise<void> {
  const buf = await readFile(path);
  const type = Buffer.from([0xe2, 0x79, 0x2a, 0xca]);
  const at = buf.indexOf(type);
  if (at < 0 || at > 4096) throw new Error('no backing format extension');
  buf.writeUInt32BE(0x0f0f0f0f, at);
  await writeFile(path, buf);
}
