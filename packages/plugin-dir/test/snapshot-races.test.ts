/**
 * Issue 11, items 12 and 13 (their snapshot parts): an image another process holds is BUSY, not
 * COMMAND_FAILED; a qcow2 with an external data file cannot have internal snapshots
 * (NOT_SUPPORTED before qemu-img runs, instead of its "-95"); duplicate snapshot names under
 * concurrency are refused with ALREADY_EXISTS.
 */
import { spawn } from 'node:child_process';
import { readFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalRunner, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { CommandError, StorageManager } from '@stowage/core';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { toolFailures } from '../src/errors.js';
import { code, dirContext, releaseImmutable, sh } from './helpers.js';
import { stopProcess } from './hostile.js';

const plugin = new DirPlugin();
const vol = (v: string) => plugin.parseVolname(v);
const MiB = 1024 * 1024;
const fixtures = join(import.meta.dirname, 'fixtures');

let root: string;
let ctx: PluginContext<DirConfig>;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-snap-'));
  ctx = dirContext({ path: root });
  await plugin.activateStorage(ctx);
});
afterEach(async () => {
  await releaseImmutable(root);
  await rm(root, { recursive: true, force: true });
});

/** Tells whether another process holds a lock on the image (qemu-img info without -U fails). */
async function locked(path: string): Promise<boolean> {
  return sh('qemu-img', ['info', '-f', 'qcow2', path]).then(
    () => false,
    () => true,
  );
}

describe('an image another process holds open', () => {
  it('snapshot, rollback, snapshot delete and resize fail with BUSY (qemu-io holds the lock)', async () => {
    const volname = await plugin.allocImage(ctx, { vmid: 100, format: 'qcow2', name: 'vm-100-disk-0.qcow2', size: MiB });
    await plugin.volumeSnapshot(ctx, { volume: vol(volname), snapshot: 'before' });
    const path = join(root, 'images', volname);
    const hold = () => spawn('qemu-io', ['-f', 'qcow2', '-c', 'sleep 600000', path], { stdio: 'ignore' });
    let holder = hold();
    try {
      // the probe's own read lock can make qemu-io's start fail ("Failed to get "write" lock"):
      // it is started again then
      for (let tries = 0; !(await locked(path)); tries++) {
        if (tries >= 400) throw new Error('qemu-io never held the image');
        if (holder.exitCode !== null || holder.signalCode !== null) holder = hold();
        await new Promise((r) => setTimeout(r, 50));
      }
      const volume = vol(volname);
      expect(await code(plugin.volumeSnapshot(ctx, { volume, snapshot: 's1' }))).toBe('BUSY');
      expect(await code(plugin.volumeSnapshotRollback(ctx, { volume, snapshot: 'before' }))).toBe('BUSY');
      expect(await code(plugin.volumeSnapshotDelete(ctx, { volume, snapshot: 'before' }))).toBe('BUSY');
      expect(await code(plugin.volumeResize(ctx, { volume, size: 2 * MiB }))).toBe('BUSY');
      // reading is still possible (qemu-img info -U)
      expect((await plugin.volumeSnapshotInfo(ctx, { volume })).map((s) => s.name)).toEqual(['before']);
    } finally {
      await stopProcess(holder);
    }
  });

  it('the captured standard error of qemu-img snapshot and resize classifies as BUSY', async () => {
    for (const name of ['qemu-img-snapshot-locked.stderr', 'qemu-img-resize-locked.stderr']) {
      const stderr = await readFile(join(fixtures, name), 'utf8');
      const failed = new CommandError('qemu-img failed', { argv: ['qemu-img'], exitCode: 1, stderr, stdout: '' });
      expect((toolFailures.classify(failed) as CommandError).code, name).toBe('BUSY');
    }
  });
});

describe('a qcow2 whose data lives in an external data file', () => {
  it('snapshot, rollback and snapshot delete are NOT_SUPPORTED before any qemu-img snapshot runs; listing snapshots works', async () => {
    const ran: string[][] = [];
    const local = new LocalRunner();
    const runner: CommandRunner = { description: 'recording', run: (argv, o) => (ran.push([...argv]), local.run(argv, o)) };
    const c = dirContext({ path: root }, runner);
    const dir = join(root, 'images/100');
    await sh('mkdir', ['-p', dir]);
    await sh('qemu-img', ['create', '-q', '-f', 'qcow2', '-o', `data_file=${join(dir, 'vm-100-disk-0.data')}`, join(dir, 'vm-100-disk-0.qcow2'), '1M']);
    const volume = vol('100/vm-100-disk-0.qcow2');
    expect(await code(plugin.volumeSnapshot(c, { volume, snapshot: 's1' }))).toBe('NOT_SUPPORTED');
    expect(await code(plugin.volumeSnapshotRollback(c, { volume, snapshot: 's1' }))).toBe('NOT_SUPPORTED');
    expect(await code(plugin.volumeSnapshotDelete(c, { volume, snapshot: 's1' }))).toBe('NOT_SUPPORTED');
    expect(ran.filter((argv) => argv[1] === 'snapshot')).toEqual([]);
    expect(await plugin.volumeSnapshotInfo(c, { volume })).toEqual([]);
  });
});

describe('duplicate snapshot names', () => {
  it('two parallel snapshots with one name through the manager: one is made, the other is ALREADY_EXISTS', async () => {
    const storages = await StorageManager.open({ plugins: [DirPlugin], config: [{ type: 'dir', storage: 'local', path: root }], lockDir: join(root, '.locks') });
    try {
      const volid = await storages.allocImage('local', { vmid: 100, size: MiB, format: 'qcow2' });
      for (let round = 0; round < 3; round++) {
        const name = `same${round}`;
        const codes = await Promise.all([code(storages.volumeSnapshot(volid, name)), code(storages.volumeSnapshot(volid, name))]);
        expect(codes.sort()).toEqual(['ALREADY_EXISTS', 'ok']);
      }
      const listed = await sh('qemu-img', ['snapshot', '-U', '-l', join(root, 'images/100/vm-100-disk-0.qcow2')]);
      for (const name of ['same0', 'same1', 'same2']) expect(listed.split('\n').filter((l) => l.split(/\s+/).includes(name)), name).toHaveLength(1);
    } finally {
      await storages.close();
    }
  });
});
