import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../src/formats/probe.js';
import { parseVmdk, parseVmdkDescriptor, type VmdkInfo } from '../src/formats/vmdk-descriptor.js';
import { sh } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures');

interface QemuInfo {
  'virtual-size': number;
  'backing-filename'?: string;
  'format-specific': { data: { 'create-type': string; extents: unknown[] } };
}

function infoOf(buf: Uint8Array, size = buf.length): VmdkInfo {
  const r = parseVmdk(buf, size);
  if (r.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.info;
}

describe('vmdk: captured fixtures agree with qemu-img info', () => {
  it.each([
    ['vmdk-sparse', 'sparse', 1],
    ['vmdk-stream', 'sparse', 1],
    ['vmdk-child', 'sparse', 1],
    ['vmdk-two-extents', 'descriptor', 2],
    ['vmdk-flat', 'descriptor', 1],
  ] as const)('%s', async (name, kind, extents) => {
    const head = await readFile(join(fixtures, `${name}.head`));
    const qemu = JSON.parse(await readFile(join(fixtures, `${name}.info.json`), 'utf8')) as QemuInfo;
    const info = infoOf(head);
    expect(info.kind).toBe(kind);
    expect(info.size).toBe(qemu['virtual-size']);
    expect(info.createType).toBe(qemu['format-specific'].data['create-type']);
    expect(info.extents).toHaveLength(qemu['format-specific'].data.extents.length);
    expect(info.extents).toHaveLength(extents);
    expect(info.parent).toBe(qemu['backing-filename']);
  });

  it('sees the compressed flag of streamOptimized', async () => {
    expect(infoOf(await readFile(join(fixtures, 'vmdk-stream.head'))).compressed).toBe(true);
    expect(infoOf(await readFile(join(fixtures, 'vmdk-sparse.head'))).compressed).toBe(false);
  });
});

describe('vmdk: images written by qemu-img now', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-vmdk-'));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it.each(['monolithicSparse', 'streamOptimized', 'twoGbMaxExtentSparse', 'monolithicFlat'])('%s', async (sub) => {
    const file = join(dir, `vm-100-disk-${sub}.vmdk`);
    await sh('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', `subformat=${sub}`, file, '2500M']);
    const qemu = JSON.parse(await sh('qemu-img', ['info', '--output=json', '-f', 'vmdk', file])) as QemuInfo;
    const probe = await probeImage(file, 'vmdk');
    expect(probe?.format).toBe('vmdk');
    expect(probe?.size).toBe(qemu['virtual-size']);
    expect(probe?.vmdk?.extents).toHaveLength(qemu['format-specific'].data.extents.length);
  });
});

describe('vmdk: truncated, corrupt and foreign files are invalid', () => {
  let sparse: Buffer;
  beforeAll(async () => {
    sparse = await readFile(join(fixtures, 'vmdk-sparse.head'));
  });
  const invalid = (buf: Uint8Array, size = buf.length): string => {
    const r = parseVmdk(buf, size);
    expect(r.status).toBe('invalid');
    return r.status === 'invalid' ? r.reason : '';
  };

  it('too short for the header, descriptor past the end', () => {
    expect(invalid(Buffer.alloc(0))).toMatch(/truncated/);
    expect(invalid(sparse.subarray(0, 100))).toMatch(/truncated/);
    expect(invalid(sparse.subarray(0, 2048))).toMatch(/truncated/);
  });
  it('bad version and absurd capacity', () => {
    const b = Buffer.from(sparse);
    b.writeUInt32LE(9, 4);
    expect(invalid(b)).toMatch(/version/);
    const c = Buffer.from(sparse);
    c.writeBigUInt64LE(1n << 60n, 12);
    expect(invalid(c)).toMatch(/capacity/);
  });
  it('ESX COWD, binary garbage, text that is no descriptor, oversized text', () => {
    expect(invalid(Buffer.from('COWD'.padEnd(512, '\0')))).toMatch(/COWD/);
    expect(invalid(Buffer.alloc(4096, 1))).toMatch(/binary/);
    expect(invalid(Buffer.alloc(4096, 0xff))).toMatch(/no extents/);
    expect(invalid(Buffer.from('hello world\n'))).toMatch(/no extents/);
    expect(invalid(Buffer.alloc(10), 10 * 1024 * 1024)).toMatch(/too large/);
  });
  it('asks for the embedded descriptor when the buffer ends before it', () => {
    expect(parseVmdk(sparse.subarray(0, 512), 1 << 20)).toEqual({ status: 'short', need: 21 * 512 });
  });
  it('probeImage reports a truncated vmdk as invalid', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-vmdk-bad-'));
    try {
      await writeFile(join(dir, 'a.vmdk'), sparse.subarray(0, 700));
      expect(await probeImage(join(dir, 'a.vmdk'), 'vmdk')).toMatchObject({ format: 'invalid', size: 700 });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('parseVmdkDescriptor', () => {
  it('reads extents, parent and create type; ignores comments and the disk database', () => {
    const d = parseVmdkDescriptor(
      [
        '# Disk DescriptorFile',
        'version=1',
        'CID=12345678',
        'parentCID=9abcdef0',
        'createType="vmfs"',
        'parentFileNameHint="../base.vmdk"',
        'RW 4192256 VMFS "disk-flat.vmdk"',
        'RDONLY 2048 FLAT "other.vmdk" 10',
        'NOACCESS 100 ZERO',
        'ddb.adapterType = "lsilogic"',
      ].join('\r\n'),
    );
    expect(d).toEqual({
      createType: 'vmfs',
      parentCid: '9abcdef0',
      parentFileNameHint: '../base.vmdk',
      extents: [
        { access: 'RW', sectors: 4192256, type: 'VMFS', file: 'disk-flat.vmdk', offset: 0 },
        { access: 'RDONLY', sectors: 2048, type: 'FLAT', file: 'other.vmdk', offset: 10 },
        { access: 'NOACCESS', sectors: 100, type: 'ZERO', file: undefined, offset: 0 },
      ],
    });
  });
  it('has the parent QEMU follows: the first parentFileNameHint anywhere, whatever parentCID says', () => {
    expect(parseVmdkDescriptor('createType="monolithicSparse"\nparentCID=ffffffff\nparentFileNameHint="x.vmdk"\n')?.parentFileNameHint).toBe('x.vmdk');
    expect(parseVmdkDescriptor('createType="monolithicFlat"\n# parentFileNameHint="in-a-comment"\n')?.parentFileNameHint).toBe('in-a-comment');
    // QEMU skips two characters after the key, whatever they are
    expect(parseVmdkDescriptor('createType="monolithicFlat"\nparentFileNameHint = "y"\n')?.parentFileNameHint).toBe(' ');
  });

  it('finds the extents QEMU\'s sscanf finds: split over lines, without a closing quote, twice after a blank line', () => {
    const files = (text: string) => parseVmdkDescriptor(`createType="monolithicFlat"\n${text}`)?.extents.map((e) => e.file);
    expect(files('RW\n2048\nFLAT\n"/split" 0\n')).toEqual(['/split']);
    expect(files('RW 2048 SPARSE "/unterminated\n')).toEqual(['/unterminated']);
    expect(files('RW 2048 FLAT "trailing" 0 junk\n')).toEqual(['trailing']);
    expect(files('\nRW 2048 FLAT "twice" 0\n')).toEqual(['twice', 'twice']);
    expect(files('CID=12345678\nparentCID=ffffffff\n')).toEqual([]);
  });
});

describe('vmdk: a sparse file of capacity 0 is read as the descriptor it embeds, as QEMU does', () => {
  it('its extents and size come from that descriptor', async () => {
    const buf = Buffer.from(await readFile(join(fixtures, 'vmdk-sparse.head')));
    buf.writeBigUInt64LE(0n, 12);
    const at = Number(buf.readBigUInt64LE(28)) * 512;
    buf.fill(0, at, at + 1024);
    buf.write('# Disk DescriptorFile\nversion=1\ncreateType="monolithicFlat"\n# Extent description\nRW 4096 FLAT "/elsewhere" 0\n', at, 'latin1');
    const info = infoOf(buf, buf.length);
    expect(info.kind).toBe('descriptor');
    expect(info.size).toBe(4096 * 512);
    expect(info.extents.map((e) => e.file)).toEqual(['/elsewhere']);
  });
});
