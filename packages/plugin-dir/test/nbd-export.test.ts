import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { decodeSizeHeader, type PluginContext } from '@stowage/core/plugin';
import { isStorageError } from '@stowage/core';
import { descendantProcesses, waitForProcessesEnded } from '@stowage/core/testing';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import {
  answerGreeting,
  decodeOptionReplyHeader,
  encodeOptGo,
  encodeRequest,
  foldInfo,
  decodeChunkHeader,
  decodeReadChunk,
  encodeOptStructuredReply,
  NBD_CMD_READ,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REPLY_FLAG_DONE,
  orderPieces,
  NBD_REP_INFO,
  OPTION_REPLY_HEADER_BYTES,
  type ExportInfo,
} from '../src/nbd-protocol.js';
import { dirContext, sh } from './helpers.js';

const exec = promisify(execFile);
const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;
const fixture = JSON.parse(readFileSync(new URL('./fixtures/nbd-qemu-nbd-7.2.json', import.meta.url), 'utf8')) as Record<string, unknown>;

describe('NBD messages (bytes captured from qemu-nbd 7.2)', () => {
  it('answers the greeting with fixed newstyle and no zeroes', () => {
    expect(answerGreeting(Buffer.from(fixture['greeting'] as string, 'hex')).toString('hex')).toBe('00000003');
    expect(() => answerGreeting(Buffer.from('4e42444d41474943' + '00420281861253'.padStart(16, '0') + '0003', 'hex'))).toThrow();
  });

  it('asks NBD_OPT_GO for the default export with NBD_INFO_BLOCK_SIZE, and reads the size and block sizes from the replies', () => {
    expect(encodeOptGo('').toString('hex')).toBe('49484156454f5054' + '00000007' + '00000008' + '00000000' + '0001' + '0003');
    const replies = Buffer.from(fixture['goReplies'] as string, 'hex');
    let info: Partial<ExportInfo> = {};
    let at = 0;
    const types: number[] = [];
    while (at < replies.length) {
      const h = decodeOptionReplyHeader(replies.subarray(at, at + OPTION_REPLY_HEADER_BYTES));
      types.push(h.type);
      if (h.type === NBD_REP_INFO) info = foldInfo(replies.subarray(at + OPTION_REPLY_HEADER_BYTES, at + OPTION_REPLY_HEADER_BYTES + h.length), info);
      at += OPTION_REPLY_HEADER_BYTES + h.length;
    }
    expect(types).toEqual([NBD_REP_INFO, NBD_REP_INFO, NBD_REP_ACK]);
    expect(info).toEqual({ size: 5 * MiB, flags: 0x040f, minBlock: 1, maxPayload: 32 * MiB });
  });

  it('asks for structured replies, and puts a read answered in chunks (a hole, then data) together', () => {
    expect(encodeOptStructuredReply().toString('hex')).toBe('49484156454f5054' + '00000008' + '00000000');
    const ack = decodeOptionReplyHeader(Buffer.from(fixture['structuredReply'] as string, 'hex'));
    expect(ack).toEqual({ option: NBD_OPT_STRUCTURED_REPLY, type: NBD_REP_ACK, length: 0 });
    const chunks = fixture['structuredReadChunks'] as unknown as { header: string; payload: string }[];
    const data = Buffer.concat([Buffer.alloc(4096, 0xab), Buffer.alloc(61440)]);
    const pieces = chunks.map(({ header, payload }, i) => {
      const h = decodeChunkHeader(Buffer.from(header, 'hex'));
      expect(h.handle).toBe(7n);
      expect((h.flags & NBD_REPLY_FLAG_DONE) !== 0).toBe(i === chunks.length - 1);
      return decodeReadChunk(h, i === 1 ? Buffer.concat([Buffer.from(payload, 'hex'), data]) : Buffer.from(payload, 'hex'))!;
    });
    expect(orderPieces([pieces[1]!, pieces[0]!], 0, 131072)).toEqual([{ offset: 0, hole: 65536 }, { offset: 65536, data }]);
    expect(() => orderPieces([pieces[1]!], 0, 131072)).toThrow();
    expect(() => orderPieces(pieces, 0, 65536)).toThrow();
    const error = Buffer.concat([Buffer.from('0000000500040000', 'hex').subarray(0, 6), Buffer.from('oops')]);
    expect(() => decodeReadChunk({ flags: 1, type: 0x8001, handle: 7n, length: error.length }, error)).toThrow(/error 5.*oops/);
  });

  it('encodes a read', () => {
    expect(encodeRequest({ type: NBD_CMD_READ, handle: 42n, offset: 0, length: 4096 }).toString('hex')).toBe(
      '25609513' + '0000' + '0000' + '000000000000002a' + '0000000000000000' + '00001000',
    );
  });
});

let root: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-nbd-test-'));
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function exportRaw(c: PluginContext<DirConfig>, volname: string): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (b: Buffer) => chunks.push(b));
  await plugin.volumeExport(c, { volume: vol(volname), format: 'raw+size', output: out });
  out.end();
  return Buffer.concat(chunks);
}

/** What `qemu-img convert -O raw` makes of an image, read from a scratch directory outside the storage. */
async function convertedByQemuImg(path: string, format: string): Promise<Buffer> {
  const scratch = await mkdtemp(join(tmpdir(), 'stowage-nbd-ref-'));
  try {
    await sh('qemu-img', ['convert', '-f', format, '-O', 'raw', path, join(scratch, 'out.raw')]);
    return await readFile(join(scratch, 'out.raw'));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

async function write(path: string, format: string, byte: number, offset: number, length: number): Promise<void> {
  await sh('qemu-io', ['-f', format, '-c', `write -P ${byte} ${offset} ${length}`, path]);
}

async function expectExportEqualsConvert(c: PluginContext<DirConfig>, volname: string, path: string, format: string): Promise<void> {
  const stream = await exportRaw(c, volname);
  const reference = await convertedByQemuImg(path, format);
  expect(decodeSizeHeader(stream.subarray(0, 8))).toBe(reference.length);
  expect(stream.length - 8).toBe(reference.length);
  expect(stream.subarray(8).equals(reference)).toBe(true);
}

describe('export of qcow2 and vmdk as raw+size streams through qemu-nbd, with no temporary copy', () => {
  it('a qcow2 with data, a linked clone with its own data over a base, and a vmdk: the bytes qemu-img convert -O raw makes', async () => {
    const size = 13 * MiB + 512; // not a multiple of the request size
    const a = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size });
    const pathA = join(root, 'images/100/vm-100-disk-0.qcow2');
    await write(pathA, 'qcow2', 0x11, 0, MiB);
    await write(pathA, 'qcow2', 0x22, 9 * MiB + 4096, 2 * MiB);
    await write(pathA, 'qcow2', 0x33, size - 1024, 1024);
    await expectExportEqualsConvert(ctx, a, pathA, 'qcow2');

    const base = await plugin.createBase(ctx, { volume: vol(a) });
    const clone = await plugin.cloneImage(ctx, { volume: vol(base), vmid: 101, name: 'vm-101-disk-0.qcow2' });
    const pathClone = join(root, 'images/101/vm-101-disk-0.qcow2');
    await write(pathClone, 'qcow2', 0x44, 512 * 1024, MiB);
    await expectExportEqualsConvert(ctx, clone, pathClone, 'qcow2');

    const v = await plugin.allocImage(ctx, { vmid: 102, format: 'vmdk', name: 'vm-102-disk-0.vmdk', size: 9 * MiB });
    const pathV = join(root, 'images/102/vm-102-disk-0.vmdk');
    await write(pathV, 'vmdk', 0x55, 3 * MiB, 3 * MiB);
    await expectExportEqualsConvert(ctx, v, pathV, 'vmdk');
    await exec('chattr', ['-i', join(root, 'images/100/base-100-disk-0.qcow2')]).catch(() => undefined);
  });

  it('aborting mid-export kills qemu-nbd (by pid, gone from /proc) and removes its private directory', async () => {
    const volname = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 64 * MiB });
    await write(join(root, 'images/100/vm-100-disk-0.qcow2'), 'qcow2', 0x66, 0, 32 * MiB);
    const stop = new AbortController();
    let received = 0;
    const stalled = new Writable({
      highWaterMark: MiB,
      write(chunk: Buffer, _enc, callback) {
        received += chunk.length;
        if (received < 2 * MiB) callback(); // then never again: the reader stopped reading
      },
    });
    const exporting = plugin.volumeExport({ ...ctx, signal: stop.signal }, { volume: vol(volname), format: 'raw+size', output: stalled });
    let server: { pid: number; name: string } | undefined;
    for (let i = 0; i < 500 && !server; i++) {
      server = descendantProcesses(process.pid).find((p) => p.name === 'qemu-nbd');
      if (!server) await sleep(10);
    }
    expect(server).toBeDefined();
    const socketArg = readFileSync(`/proc/${server!.pid}/cmdline`, 'utf8').split('\0').find((a) => a.startsWith('--socket='))!;
    const privateDir = socketArg.slice('--socket='.length).replace(/\/s$/, '');
    expect(relative(tmpdir(), privateDir).startsWith('..')).toBe(false);
    expect(relative(root, privateDir).startsWith('..')).toBe(true);
    while (received < 2 * MiB) await sleep(10);
    stop.abort(new Error('Ctrl-C'));
    const err = await exporting.catch((e: unknown) => e);
    expect(isStorageError(err, 'ABORTED')).toBe(true);
    expect(await waitForProcessesEnded([server!.pid])).toEqual([]);
    await expect(stat(privateDir)).rejects.toThrow();
    stalled.destroy();
  });
});

const canMount = process.getuid?.() === 0 && (await exec('mount', ['--version']).then(() => true, () => false));

describe.skipIf(!canMount)('export from a storage that is full or read-only (a tmpfs of its own)', () => {
  let mnt: string;
  beforeEach(async () => {
    mnt = await mkdtemp(join(tmpdir(), 'stowage-nbd-mnt-'));
    await exec('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', mnt]);
  });
  afterEach(async () => {
    await exec('umount', [mnt]).catch(() => undefined);
    await rm(mnt, { recursive: true, force: true });
  });

  it('still exports, byte for byte, when not a byte is free, and when the storage is mounted read-only', async () => {
    await mkdir(join(mnt, 'store'));
    const c = dirContext({ path: join(mnt, 'store') });
    await plugin.activateStorage(c);
    const volname = await plugin.allocImage(c, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: 40 * MiB });
    const path = join(mnt, 'store/images/100/vm-100-disk-0.qcow2');
    await write(path, 'qcow2', 0x77, 0, 16 * MiB);
    await write(path, 'qcow2', 0x78, 30 * MiB, 4 * MiB);
    // fill what is left of the filesystem
    await exec('dd', ['if=/dev/zero', `of=${join(mnt, 'filler')}`, 'bs=1M']).catch(() => undefined);
    await writeFile(join(mnt, 'filler2'), Buffer.alloc(4096)).catch(() => undefined);
    const before = await readdir(join(mnt, 'store/images/100'));
    await expectExportEqualsConvert(c, volname, path, 'qcow2');
    expect(await readdir(join(mnt, 'store/images/100'))).toEqual(before);
    await exec('mount', ['-o', 'remount,ro', mnt]);
    await expectExportEqualsConvert(dirContext({ path: join(mnt, 'store') }), volname, path, 'qcow2');
  });
});
