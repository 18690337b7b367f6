/**
 * The built binary copying into a directory storage on a real full filesystem (a 4 MiB tmpfs,
 * mounted for the test; skipped where mounting is not allowed): the copy fails with NO_SPACE,
 * the code of the side that failed first, and leaves nothing on the target.
 */
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, jsonError } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

const M = 1024 ** 2;
let s: Sandbox;
let small = '';
let mounted = false;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('full');
  small = join(s.dir, 'small');
  mkdirSync(small);
  mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', small], { stdio: 'ignore' }).status === 0;
  if (!mounted) return;
  await addDirStorages(s);
  await s.ok(['storage', 'add', 'dir', 'small', '--path', join(small, 'store'), '--content', 'images']);
});
afterAll(() => {
  if (mounted) spawnSync('umount', [small], { stdio: 'ignore' });
  s?.remove();
});

/** A source volume of 16 MiB of data with no holes (it cannot fit in 4 MiB). */
async function fullSource(format: 'raw' | 'qcow2'): Promise<string> {
  const volid = (await s.ok(['alloc', 'local', '100', '-', '16M', '--format', format])).trim();
  const path = (await s.ok(['path', volid])).trim();
  if (format === 'raw') writeFileSync(path, randomBytes(16 * M));
  else expect((await s.tool('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0x5a 0 16M', path])).code).toBe(0);
  return volid;
}

function targetFiles(): string[] {
  const images = join(small, 'store', 'images');
  return readdirSync(images, { recursive: true, encoding: 'utf8' });
}

describe.skipIf(process.getuid?.() !== 0)('copy into a full target', () => {
  it.each(['raw', 'qcow2'] as const)('of a %s volume exits NO_SPACE, not the abort it caused on the source side, and leaves nothing behind', async (format, ctx) => {
    if (!mounted) ctx.skip();
    const volid = await fullSource(format);
    const r = await s.run(['copy', volid, 'small', '--json']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.NO_SPACE);
    expect(jsonError(r.stderr).code).toBe('NO_SPACE');
    expect(await s.json(['list', 'small'])).toEqual([]);
    expect(targetFiles()).toEqual([]);
    const human = await s.run(['copy', volid, 'small']);
    expect(human.code).toBe(EXIT_CODES.NO_SPACE);
    expect(human.stderr).toMatch(/^stowage: [^\n]*\[NO_SPACE\]\n$/);
  });
});
