/**
 * What an export reads is what was checked as opened: a regular file inside the storage, whatever
 * the path names by the time it is read. The gate checks a path; a file swapped in under that
 * path after the gate and before the open must not be read (an outside file streamed out as a
 * volume's data, or a FIFO that blocks the read).
 */
import { mkdir, mkdtemp, realpath, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { dirEnv, type DirEnv } from '../src/exec.js';
import { admitImage } from '../src/gate.js';
import { openInside } from '../src/open-inside.js';
import { streamFile } from '../src/stream-io.js';
import { code, dirContext } from './helpers.js';
import { mkfifo } from './hostile.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const names = { volname: '100/vm-100-disk-0.raw', what: 'the image' };

let base: string;
let root: string;
let image: string;
let secret: string;
let ctx: PluginContext<DirConfig>;
let env: DirEnv;

beforeEach(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'stowage-open-inside-')));
  root = join(base, 'store');
  await mkdir(join(base, 'outside'));
  secret = join(base, 'outside', 'secret');
  await writeFile(secret, 'outside the storage');
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
  await mkdir(join(root, 'images/100'));
  image = join(root, 'images/100/vm-100-disk-0.raw');
  await writeFile(image, 'the image');
  env = await dirEnv(ctx);
});
afterEach(() => rm(base, { recursive: true, force: true }));

/** Puts `replacement` (made at a temporary name by `make`) under the image's name at once. */
async function swapIn(make: (at: string) => Promise<void>): Promise<void> {
  const at = `${image}.swap`;
  await make(at);
  await rename(at, image);
}

function collect(): { sink: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  return {
    sink: new Writable({
      write(c: Buffer, _e, cb) {
        chunks.push(c);
        cb();
      },
    }),
    text: () => Buffer.concat(chunks).toString(),
  };
}

describe('openInside', () => {
  it('opens a regular file inside the storage, and a symlink to one, naming where it is', async () => {
    const { handle, stat, real } = await openInside(env.rootReal, image, names);
    try {
      expect(stat.isFile()).toBe(true);
      expect(real).toBe(image);
      expect(await handle.readFile('utf8')).toBe('the image');
    } finally {
      await handle.close();
    }
    await writeFile(join(root, 'images/100/target'), 'linked inside');
    await symlink('target', join(root, 'images/100/vm-100-disk-1.raw'));
    const linked = await openInside(env.rootReal, join(root, 'images/100/vm-100-disk-1.raw'), names);
    try {
      expect(linked.real).toBe(join(root, 'images/100/target'));
      expect(await linked.handle.readFile('utf8')).toBe('linked inside');
    } finally {
      await linked.handle.close();
    }
  });

  it('refuses a file that lies outside the storage as opened: a symlink swapped in after the gate admitted the image', async () => {
    const admitted = await admitImage(env, vol('100/vm-100-disk-0.raw'));
    await swapIn((at) => symlink(secret, at));
    const e = await openInside(env.rootReal, admitted.path, names).catch((err: unknown) => err);
    expect(await code(Promise.reject(e))).toBe('INVALID_VOLUME_ID');
    expect((e as Error).message).toContain(secret);
  });

  it('refuses a FIFO swapped in with CORRUPT, without blocking', async () => {
    const admitted = await admitImage(env, vol('100/vm-100-disk-0.raw'));
    await swapIn((at) => mkfifo(at));
    expect(await code(openInside(env.rootReal, admitted.path, names))).toBe('CORRUPT');
  });

  it('says NOT_FOUND when the file is gone', async () => {
    await rm(image);
    expect(await code(openInside(env.rootReal, image, names))).toBe('NOT_FOUND');
  });
});

describe('streamFile', () => {
  it('streams the open file from its start and leaves it open, whatever the path names by then', async () => {
    const { handle } = await openInside(env.rootReal, image, names);
    try {
      await handle.read(Buffer.alloc(4), 0, 4, null);
      await swapIn((at) => symlink(secret, at));
      const out = collect();
      await streamFile(handle, out.sink);
      expect(out.text()).toBe('the image');
      expect((await handle.stat()).size).toBe('the image'.length);
    } finally {
      await handle.close();
    }
  });
});
