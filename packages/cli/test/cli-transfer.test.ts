/**
 * The built binary's export, import and copy against real directory storages: files, a shell
 * pipe from export into import, truncated input, and the progress bar on a terminal only.
 */
import { readFileSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, BIN, jsonError } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

const M = 1024 ** 2;
let s: Sandbox;
let source: string;
let sourceFile: string;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('transfer');
  await addDirStorages(s);
  source = (await s.ok(['alloc', 'local', '100', '-', '4M', '--format', 'raw'])).trim();
  sourceFile = (await s.ok(['path', source])).trim();
  const data = Buffer.alloc(4 * M);
  for (let i = 0; i < data.length; i += 4096) data.writeUInt32LE(i / 4096 + 1, i);
  writeFileSync(sourceFile, data);
});
afterAll(() => s?.remove());

function header(size: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(size));
  return b;
}

describe('export', () => {
  it('writes raw+size to a file: the size header, then the bytes', async () => {
    const out = await s.json<{ file: string; bytes: number }>(['export', source, 'raw+size', 'disk.bin']);
    expect(out).toMatchObject({ volid: source, format: 'raw+size', file: 'disk.bin', bytes: 8 + 4 * M });
    const bytes = readFileSync(join(s.dir, 'disk.bin'));
    expect(bytes.subarray(0, 8)).toEqual(header(4 * M));
    expect(bytes.subarray(8).equals(readFileSync(sourceFile))).toBe(true);
  });

  it('never overwrites a file, and leaves none behind when it fails', async () => {
    expect((await s.run(['export', source, 'raw+size', 'disk.bin'])).code).toBe(EXIT_CODES.ALREADY_EXISTS);
    expect((await s.run(['export', source, 'raw+size', 'nodir/x.bin'])).code).toBe(EXIT_CODES.NOT_FOUND);
    const r = await s.run(['export', 'local:100/vm-100-disk-9.raw', 'raw+size', 'gone.bin']);
    expect(r.code).toBe(EXIT_CODES.NOT_FOUND);
    expect(existsSync(join(s.dir, 'gone.bin'))).toBe(false);
    expect((await s.run(['export', source, 'zfs', 'z.bin'])).code).toBe(EXIT_CODES.NOT_SUPPORTED);
    expect(existsSync(join(s.dir, 'z.bin'))).toBe(false);
    expect((await s.run(['export', source, 'floppy', 'f.bin'])).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
  });

  it('writes to standard output with -', async () => {
    const r = await s.run(['export', source, 'raw+size', '-']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe('import', () => {
  it('creates a volume from a file', async () => {
    const out = await s.json<{ volid: string }>(['import', 'other:150/vm-150-disk-0.raw', 'raw+size', 'disk.bin']);
    expect(out.volid).toBe('other:150/vm-150-disk-0.raw');
    expect(readFileSync((await s.ok(['path', out.volid])).trim()).equals(readFileSync(sourceFile))).toBe(true);
  });

  it('refuses a taken name, or picks a free one with --allow-rename', async () => {
    const r = await s.run(['import', 'other:150/vm-150-disk-0.raw', 'raw+size', 'disk.bin', '--json']);
    expect(r.code).toBe(EXIT_CODES.ALREADY_EXISTS);
    expect(jsonError(r.stderr).code).toBe('ALREADY_EXISTS');
    expect((await s.ok(['import', 'other:150/vm-150-disk-0.raw', 'raw+size', 'disk.bin', '--allow-rename'])).trim()).toBe('other:150/vm-150-disk-1.raw');
  });

  it('refuses a truncated stream and leaves no volume', async () => {
    const whole = readFileSync(join(s.dir, 'disk.bin'));
    writeFileSync(join(s.dir, 'short.bin'), whole.subarray(0, 8 + M));
    writeFileSync(join(s.dir, 'tiny.bin'), whole.subarray(0, 5));
    const before = await s.json<unknown[]>(['list', 'other']);
    expect((await s.run(['import', 'other:160/vm-160-disk-0.raw', 'raw+size', 'short.bin'])).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
    expect((await s.run(['import', 'other:160/vm-160-disk-0.raw', 'raw+size', 'tiny.bin'])).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
    expect((await s.run(['import', 'other:160/vm-160-disk-0.raw', 'raw+size', '-'], { input: whole.subarray(0, 100) })).code).toBe(EXIT_CODES.INVALID_ARGUMENT);
    expect(await s.json<unknown[]>(['list', 'other'])).toEqual(before);
    expect((await s.run(['import', 'other:160/vm-160-disk-0.raw', 'raw+size', 'missing.bin'])).code).toBe(EXIT_CODES.NOT_FOUND);
  });

  it('takes a piped export: stowage export ... - | stowage import ... -', async () => {
    const cmd = `node ${BIN} export ${source} raw+size - | node ${BIN} import other:170/vm-170-disk-0.raw raw+size -`;
    const r = await s.tool('bash', ['-o', 'pipefail', '-c', `STOWAGE_CONFIG=${s.config} STOWAGE_LOCK_DIR=${s.env['STOWAGE_LOCK_DIR']} ${cmd}`]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim()).toBe('other:170/vm-170-disk-0.raw');
    const copy = (await s.ok(['path', 'other:170/vm-170-disk-0.raw'])).trim();
    expect(readFileSync(copy).equals(readFileSync(sourceFile))).toBe(true);
  });
});

describe('copy', () => {
  it('copies a volume to another storage, byte for byte', async () => {
    const out = await s.json<{ volid: string; from: string }>(['copy', source, 'other']);
    expect(out.from).toBe(source);
    expect(out.volid).toMatch(/^other:100\/vm-100-disk-\d+\.raw$/);
    expect(readFileSync((await s.ok(['path', out.volid])).trim()).equals(readFileSync(sourceFile))).toBe(true);
    const moved = (await s.ok(['copy', source, 'other', '--vmid', '180'])).trim();
    expect(moved).toMatch(/^other:180\/vm-180-disk-0\.raw$/);
  });

  it('fails cleanly for an unknown target or source', async () => {
    expect((await s.run(['copy', source, 'nosuch'])).code).toBe(EXIT_CODES.NOT_FOUND);
    expect((await s.run(['copy', 'local:100/vm-100-disk-9.raw', 'other'])).code).toBe(EXIT_CODES.NOT_FOUND);
  });
});

describe('progress bar', () => {
  it('is drawn on stderr when it is a terminal, and not otherwise', async () => {
    const piped = await s.run(['export', source, 'raw+size', 'quiet.bin']);
    expect(piped.code).toBe(0);
    expect(piped.stderr).not.toMatch(/%/);
    // `script` gives the command a pseudo-terminal; its transcript holds what was drawn.
    const cmd = `STOWAGE_CONFIG=${s.config} STOWAGE_LOCK_DIR=${s.env['STOWAGE_LOCK_DIR']} node ${BIN} export ${source} raw+size tty.bin`;
    const r = await s.tool('script', ['-qec', cmd, '/dev/null']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/export \[#+\] 100%\s+4\.0M\/4\.0M/);
    expect(statSync(join(s.dir, 'tty.bin')).size).toBe(8 + 4 * M);
  });
});
