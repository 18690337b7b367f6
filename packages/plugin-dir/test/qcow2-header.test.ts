import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probeImage } from '../src/formats/probe.js';
import { parseQcow2Header, type Qcow2Header } from '../src/formats/qcow2-header.js';
import { sh } from './helpers.js';

const fixtures = join(import.meta.dirname, 'fixtures');

interface QemuInfo {
  'virtual-size': number;
  'backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific'?: { type: string; data: { compat?: string; 'data-file'?: string; 'extended-l2'?: boolean } };
}

function headerOf(buf: Uint8Array, fileSize = buf.length): Qcow2Header {
  const r = parseQcow2Header(buf, fileSize);
  if (r.status !== 'ok') throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  return r.header;
}

/** The header must say what qemu-img said about the same image. */
function expectAgrees(h: Qcow2Header, info: QemuInfo): void {
  expect(h.size).toBe(info['virtual-size']);
  expect(h.backingFile).toBe(info['backing-filename']);
  expect(h.backingFormat).toBe(info['backing-filename-format']);
  expect(h.dataFile).toBe(info['format-specific']?.data['data-file']);
  expect(h.version).toBe(info['format-specific']?.data.compat === '0.10' ? 2 : 3);
}

describe('qcow2 header: captured fixtures (test/fixtures/capture.sh)', () => {
  it.each(['qcow2-v2', 'qcow2-v2-backing', 'qcow2-v3', 'qcow2-v3-backing', 'qcow2-v3-data-file'])('%s agrees with qemu-img info', async (name) => {
    const head = await readFile(join(fixtures, `${name}.head`));
    const info = JSON.parse(await readFile(join(fixtures, `${name}.info.json`), 'utf8')) as QemuInfo;
    expectAgrees(headerOf(head), info);
  });

  it('reads the versions, backing file and extended L2 bit of the fixtures', async () => {
    const v2 = headerOf(await readFile(join(fixtures, 'qcow2-v2-backing.head')));
    expect(v2).toMatchObject({ version: 2, backingFile: '../100/base-100-disk-0.qcow2', backingFormat: 'qcow2', dataFile: undefined, incompatibleFeatures: 0n });
    const v3 = headerOf(await readFile(join(fixtures, 'qcow2-v3-backing.head')));
    expect(v3).toMatchObject({ version: 3, size: 1 << 30, clusterBits: 17, backingFile: '../100/base-100-disk-1.qcow2' });
    expect(v3.incompatibleFeatures & (1n << 4n)).toBe(1n << 4n);
    const df = headerOf(await readFile(join(fixtures, 'qcow2-v3-data-file.head')));
    expect(df.dataFile).toBe('data.raw');
  });
});

describe('qcow2 header: images written by qemu-img now', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-qcow2-'));
    await mkdir(join(dir, 'images', '100'), { recursive: true });
    await mkdir(join(dir, 'images', '101'), { recursive: true });
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  const cases: [string, string[], string[]][] = [
    ['v2 plain', ['-o', 'compat=0.10'], []],
    ['v3 plain', ['-o', 'compat=1.1'], []],
    ['v3 preallocated, 2 MiB clusters', ['-o', 'preallocation=metadata,cluster_size=2M'], []],
    ['v3 lazy refcounts + zstd', ['-o', 'lazy_refcounts=on,compression_type=zstd'], []],
    ['v2 backed', ['-o', 'compat=0.10'], ['-F', 'qcow2', '-b', '../100/base-100-disk-0.qcow2']],
    ['v3 backed, extended L2 (a Proxmox linked clone)', ['-o', 'extended_l2=on,cluster_size=128k'], ['-F', 'qcow2', '-b', '../100/base-100-disk-0.qcow2']],
    ['v3 backed by raw', [], ['-F', 'raw', '-b', '../100/base-100-disk-1.raw']],
  ];

  it.each(cases)('%s', async (label, opts, backing) => {
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(dir, 'images/100/base-100-disk-0.qcow2'), '96M']).catch(() => undefined);
    await sh('qemu-img', ['create', '-q', '-f', 'raw', join(dir, 'images/100/base-100-disk-1.raw'), '80M']).catch(() => undefined);
    const file = join(dir, 'images/101', `vm-101-disk-${label.replace(/\W+/g, '-')}.qcow2`);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', ...opts, ...backing, file, ...(backing.length ? [] : ['1G'])]);
    const info = JSON.parse(await sh('qemu-img', ['info', '--output=json', '-f', 'qcow2', file])) as QemuInfo;
    const buf = await readFile(file);
    expectAgrees(headerOf(buf), info);
    const probe = await probeImage(file, 'qcow2');
    expect(probe).toMatchObject({ format: 'qcow2', size: info['virtual-size'], backingFile: info['backing-filename'] });
    expect(probe?.used).toBe((await stat(file)).blocks * 512);
  });

  it('reads internal snapshot counts and a dirty/corrupt-free image', async () => {
    const file = join(dir, 'images/101/vm-101-disk-snap.qcow2');
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', file, '16M']);
    await sh('qemu-img', ['snapshot', '-c', 'one', file]);
    await sh('qemu-img', ['snapshot', '-c', 'two', file]);
    expect(headerOf(await readFile(file))).toMatchObject({ snapshotCount: 2, corrupt: false, encrypted: false });
  });
});

/** The captured headers (a plain qcow2 v3, one with a backing file), read once for the tests below. */
let good: Buffer;
let backed: Buffer;
beforeAll(async () => {
  good = await readFile(join(fixtures, 'qcow2-v3.head'));
  backed = await readFile(join(fixtures, 'qcow2-v3-backing.head'));
});

/** A copy of `buf` changed by `f`. */
function patched(buf: Buffer, f: (b: Buffer) => void): Buffer {
  const b = Buffer.from(buf);
  f(b);
  return b;
}

describe('qcow2 header: truncated and corrupt files are invalid', () => {
  const invalid = (buf: Uint8Array, size = buf.length): string => {
    const r = parseQcow2Header(buf, size);
    expect(r.status).toBe('invalid');
    return r.status === 'invalid' ? r.reason : '';
  };

  it('empty, shorter than the magic, than v2 and v3 headers', () => {
    expect(invalid(Buffer.alloc(0))).toMatch(/truncated/);
    expect(invalid(good.subarray(0, 3))).toMatch(/truncated/);
    expect(invalid(good.subarray(0, 50))).toMatch(/truncated/);
    expect(invalid(good.subarray(0, 90))).toMatch(/truncated/);
  });
  it('a backing file name past the end of the file', () => {
    expect(invalid(backed.subarray(0, 0x220))).toMatch(/truncated/);
  });
  it('not qcow2 at all', () => {
    expect(invalid(Buffer.from('this is a raw disk, honest'.padEnd(512, '\0')))).toMatch(/magic/);
  });
  it('bad version, cluster bits, header length, backing name length', () => {
    expect(invalid(patched(good, (b) => b.writeUInt32BE(4, 4)))).toMatch(/version/);
    expect(invalid(patched(good, (b) => b.writeUInt32BE(30, 20)))).toMatch(/cluster_bits/);
    expect(invalid(patched(good, (b) => b.writeUInt32BE(101, 100)))).toMatch(/header_length/);
    expect(invalid(patched(backed, (b) => b.writeUInt32BE(5000, 16)))).toMatch(/backing file name length/);
    expect(invalid(patched(backed, (b) => b.writeBigUInt64BE(1n << 62n, 8)))).toMatch(/out of range|outside/);
    expect(invalid(patched(good, (b) => b.writeBigUInt64BE(1n << 60n, 24)))).toMatch(/virtual size/);
  });
  it('unknown incompatible features', () => {
    expect(invalid(patched(good, (b) => b.writeBigUInt64BE(1n << 20n, 72)))).toMatch(/incompatible/);
  });
  it('a header extension that overruns the header area', () => {
    expect(invalid(patched(good, (b) => b.writeUInt32BE(0x7fffff00, 0x74)))).toMatch(/overruns/);
  });
  it('asks for more bytes when the buffer ends before the file does', () => {
    expect(parseQcow2Header(backed.subarray(0, 0x100), 1 << 20)).toEqual({ status: 'short', need: 0x210 + 28 });
  });
  it('a set external-data-file bit without a name counts as a data file', () => {
    const b = patched(good, (x) => x.writeBigUInt64BE(x.readBigUInt64BE(72) | (1n << 2n), 72));
    expect(headerOf(b).dataFile).toBe('');
  });

  it('probeImage lists a truncated or foreign file as invalid, with its file size', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'stowage-qcow2-bad-'));
    try {
      await writeFile(join(dir, 'a.qcow2'), good.subarray(0, 40));
      await writeFile(join(dir, 'b.qcow2'), Buffer.alloc(4096, 7));
      await writeFile(join(dir, 'c.qcow2'), '');
      for (const [f, size] of [['a.qcow2', 40], ['b.qcow2', 4096], ['c.qcow2', 0]] as const) {
        expect(await probeImage(join(dir, f), 'qcow2')).toMatchObject({ format: 'invalid', size });
      }
      expect(await probeImage(join(dir, 'missing.qcow2'), 'qcow2')).toBeUndefined();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('qcow2 header: names, sizes and feature bits read exactly', () => {
  const nameAt = (b: Buffer): number => Number(b.readBigUInt64BE(8));
  /** Where the backing-format extension's data starts. */
  const formatAt = (b: Buffer): number => {
    for (let off = b.readUInt32BE(100); ; ) {
      const type = b.readUInt32BE(off);
      if (type === 0xe2792aca) return off + 8;
      if (type === 0) throw new Error('no backing format extension');
      off += 8 + Math.ceil(b.readUInt32BE(off + 4) / 8) * 8;
    }
  };

  it('a name ends at its first NUL, as QEMU reads a C string', () => {
    const b = patched(backed, (x) => x.writeUInt8(0, nameAt(x) + 5));
    expect(headerOf(b).backingFile).toBe(headerOf(backed).backingFile?.slice(0, 5));
    expect(headerOf(patched(backed, (x) => x.writeUInt8(0, nameAt(x)))).backingFile).toBeUndefined();
  });
  it('a backing file name that is not ASCII is read as UTF-8, a backing format as latin1', () => {
    const b = patched(backed, (x) => {
      x.write('é', nameAt(x) + 3, 'utf8');
      x.writeUInt8(0xe9, formatAt(x));
    });
    const h = headerOf(b);
    expect(h.backingFile).toBe(`${headerOf(backed).backingFile?.slice(0, 3)}é${headerOf(backed).backingFile?.slice(5)}`);
    expect(h.backingFormat).toBe(`é${headerOf(backed).backingFormat?.slice(1)}`);
  });
  it('a plain Uint8Array reads as a Buffer does', () => {
    const plain = new Uint8Array(backed.length + 16).subarray(16);
    plain.set(backed);
    expect(headerOf(plain)).toEqual(headerOf(backed));
  });
  it('64-bit fields: the largest safe size is read, one past it is out of range', () => {
    expect(headerOf(patched(good, (b) => b.writeBigUInt64BE(2n ** 53n - 1n, 24))).size).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseQcow2Header(patched(good, (b) => b.writeBigUInt64BE(2n ** 53n, 24)), good.length)).toMatchObject({ status: 'invalid', reason: 'virtual size out of range' });
    expect(headerOf(patched(good, (b) => b.writeBigUInt64BE(2n ** 40n + 5n, 24))).size).toBe(2 ** 40 + 5);
  });
  it('incompatible feature bits: an unknown one in either half is refused with its value, known ones are reported', () => {
    expect(parseQcow2Header(patched(good, (b) => b.writeBigUInt64BE(1n << 40n, 72)), good.length)).toMatchObject({
      status: 'invalid',
      reason: 'unknown incompatible features 0x10000000000',
    });
    expect(parseQcow2Header(patched(good, (b) => b.writeBigUInt64BE(1n << 5n, 72)), good.length)).toMatchObject({ status: 'invalid', reason: 'unknown incompatible features 0x20' });
    const corrupt = headerOf(patched(good, (b) => b.writeBigUInt64BE(0b10010n, 72)));
    expect(corrupt).toMatchObject({ corrupt: true, incompatibleFeatures: 0b10010n, dataFile: undefined });
  });
});
