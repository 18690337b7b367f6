/**
 * Issue 11, item 3: FIFOs (and symlinks to FIFOs) named like images. Every verb refuses them at
 * once with CORRUPT (the listing skips them with a warning) and nothing blocks: neither the
 * event loop (the synchronous probe of a local listing) nor a thread-pool call (a shared
 * storage). A blocked call never settles, so the tests' own timeout is the guard; a rescuer
 * process unblocks FIFOs after a while, so that broken code fails with a wrong result instead of
 * hanging the worker for ever when the event loop itself is blocked.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StorageManager } from '@stowage/core';
import { type PluginContext } from '@stowage/core/plugin';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { code, dirContext, MemoryLog, releaseImmutable, sh } from './helpers.js';
import { Collect, fifoRescuer, mkfifo, stopProcess } from './hostile.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;
/** The tests' own timeout: a call that blocks never settles, and the test fails here. */
const GUARD_MS = 40_000;

let base: string;
let root: string;
let rescuer: ChildProcess | undefined;

beforeEach(async () => {
  base = await mkdtemp(join(tmpdir(), 'stowage-fifo-'));
  root = join(base, 'store');
  await plugin.activateStorage(dirContext({ path: root }));
  const dir = join(root, 'images/100');
  await mkdir(dir);
  await mkfifo(join(dir, 'vm-100-disk-0.qcow2'));
  await mkfifo(join(dir, 'vm-100-disk-1.raw'));
  await mkfifo(join(dir, 'base-100-disk-2.qcow2'));
  await mkfifo(join(root, 'images/fifo-target'));
  await symlink('../fifo-target', join(dir, 'vm-100-disk-3.qcow2'));
  await symlink('../fifo-target', join(dir, 'vm-100-disk-4.vmdk'));
  await mkdir(join(root, 'images/101'));
  await sh('qemu-img', ['create', '-q', '-f', 'qcow2', join(root, 'images/101/base-101-disk-0.qcow2'), '1M']);
  rescuer = fifoRescuer([join(dir, 'vm-100-disk-0.qcow2'), join(dir, 'vm-100-disk-1.raw'), join(dir, 'base-100-disk-2.qcow2'), join(root, 'images/fifo-target')]);
});
afterEach(async () => {
  if (rescuer) await stopProcess(rescuer);
  await releaseImmutable(base);
  await rm(base, { recursive: true, force: true });
});

/** Every verb on one FIFO volume, one after the other. */
function verbs(ctx: PluginContext<DirConfig>, volname: string): Record<string, () => Promise<unknown>> {
  const volume = vol(volname);
  const all: Record<string, () => Promise<unknown>> = {
    path: () => plugin.path(ctx, { volume }),
    activate: () => plugin.activateVolume(ctx, { volume }),
    sizeInfo: () => plugin.volumeSizeInfo(ctx, { volume }),
    export: () => plugin.volumeExport(ctx, { volume, format: 'raw+size', output: new Collect() }),
    resize: () => plugin.volumeResize(ctx, { volume, size: 2 * MiB }),
    template: () => plugin.createBase(ctx, { volume }),
  };
  if (volume.format === 'qcow2') {
    all['snapshots'] = () => plugin.volumeSnapshotInfo(ctx, { volume });
    all['snapshot'] = () => plugin.volumeSnapshot(ctx, { volume, snapshot: 's1' });
  }
  if (volume.format === 'vmdk') delete all['resize'];
  if (volume.isBase) {
    delete all['template'];
    all['clone'] = () => plugin.cloneImage(ctx, { volume, vmid: 102, name: 'vm-102-disk-0.qcow2' });
  }
  return all;
}

describe.each([
  ['a local storage (synchronous probes)', {}],
  ['a shared storage (thread-pool calls)', { shared: '1' }],
])('FIFOs named like images, on %s', (_what, options) => {
  it(
    'list skips them with a warning; path, activate, size info, export, resize, template, snapshots and clone refuse with CORRUPT',
    async () => {
      const log = new MemoryLog();
      const ctx = dirContext({ path: root, ...options }, undefined, log);
      expect((await plugin.listImages(ctx, {})).map((i) => i.volname)).toEqual(['101/base-101-disk-0.qcow2']);
      expect(log.lines.filter((l) => l.level === 'warn' && /FIFO/.test(l.message))).toHaveLength(2);
      for (const volname of ['100/vm-100-disk-0.qcow2', '100/vm-100-disk-1.raw', '100/vm-100-disk-3.qcow2', '100/vm-100-disk-4.vmdk', '100/base-100-disk-2.qcow2']) {
        for (const [verb, call] of Object.entries(verbs(ctx, volname))) expect(await code(call()), `${verb} of ${volname}`).toBe('CORRUPT');
      }
      expect(await readdir(join(root, 'images'))).toEqual(['100', '101', 'fifo-target']);
    },
    GUARD_MS,
  );
});

describe('through the manager', () => {
  it(
    'freeing a base lists the storage (the linked-clone check) without blocking; a FIFO itself can be freed',
    async () => {
      const storages = await StorageManager.open({ plugins: [DirPlugin], config: [{ type: 'dir', storage: 'local', path: root }], lockDir: join(base, 'locks') });
      try {
        await storages.freeImage('local:101/base-101-disk-0.qcow2');
        await storages.freeImage('local:100/vm-100-disk-0.qcow2');
        expect((await readdir(join(root, 'images/100'))).sort()).toEqual(['base-100-disk-2.qcow2', 'vm-100-disk-1.raw', 'vm-100-disk-3.qcow2', 'vm-100-disk-4.vmdk']);
        expect(await code(storages.volumeSnapshot('local:100/vm-100-disk-3.qcow2', 's1'))).toBe('CORRUPT');
      } finally {
        await storages.close();
      }
    },
    GUARD_MS,
  );
});
