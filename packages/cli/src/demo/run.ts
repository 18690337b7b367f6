/**
 * The demo: the whole library in one run, on fresh temporary directory storages with the real
 * `qemu-img`. Every step checks what it claims; the result is the number of checks that failed.
 *
 * @module
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStorageError, StorageManager } from '@stowage/core';
import { DirPlugin } from '@stowage/plugin-dir';
import { formatSize } from '../sizes.js';
import { exportBytes, firstDiff, importBytes, knownData, qemuIoWrite } from './bytes.js';
import { DemoReport } from './report.js';

const MiB = 1024 ** 2;
const DISK = 16 * MiB;

/**
 * Runs the demo, printing each step and check.
 *
 * @param write - where the report goes
 * @returns how many checks did not hold (0: everything held)
 */
export async function runDemo(write: (text: string) => void): Promise<number> {
  const r = new DemoReport(write);
  const dir = await mkdtemp(join(tmpdir(), 'stowage-demo-'));
  write(`stowage demo: two directory storages in ${dir}\n`);
  const storages = await StorageManager.open({
    plugins: [DirPlugin],
    config: [
      { type: 'dir', storage: 'demo', path: join(dir, 'demo'), content: ['images'] },
      { type: 'dir', storage: 'backup', path: join(dir, 'backup'), content: ['images'] },
    ],
    lockDir: join(dir, 'locks'),
  });
  try {
    await steps(storages, r);
  } catch (e) {
    r.check(false, `unexpected error: ${isStorageError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  } finally {
    await storages.close();
    await removeAll(dir);
  }
  write(r.failures === 0 ? '\nEverything held.\n' : `\n${r.failures} check(s) did not hold.\n`);
  return r.failures;
}

/** Removes the demo's directory, also when a failed run left an immutable template file behind. */
async function removeAll(dir: string): Promise<void> {
  await promisify(execFile)('chattr', ['-R', '-i', dir]).catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
}

async function steps(storages: StorageManager, r: DemoReport): Promise<void> {
  const original = knownData(DISK, 'stowage-demo');

  r.step('Allocate a raw disk and write known data through its path');
  const disk = await storages.allocImage('demo', { vmid: 100, size: DISK, format: 'raw' });
  r.note(`allocated ${disk}`);
  const { path } = await storages.path(disk);
  await writeFile(path, original);
  r.check((await storages.volumeSizeInfo(disk)).size === DISK, `size is ${formatSize(DISK)}`);
  r.check(firstDiff(await exportBytes(storages, disk), original) === -1, 'an export reads back exactly the bytes written');

  r.step('Turn it into a template');
  const base = await storages.createBase(disk);
  r.note(`template ${base}`);
  const listed = await storages.listImages('demo', { vmid: 100 });
  r.check(listed.length === 1 && listed[0]?.volid === base && listed[0].isBase, 'listed as the only image of guest 100, a base');

  r.step('Make two linked clones of the template');
  const clone1 = await storages.cloneImage(base, { vmid: 101 });
  const clone2 = await storages.cloneImage(base, { vmid: 102 });
  r.note(`clones ${clone1} and ${clone2}`);
  const images = await storages.listImages('demo');
  const parentOf = (volid: string) => images.find((i) => i.volid === volid)?.parent;
  r.check(parentOf(clone1) === base && parentOf(clone2) === base, 'both list the template as their parent');
  r.check(firstDiff(await exportBytes(storages, clone1), original) === -1, 'a clone holds the template\'s data');
  try {
    await storages.freeImage(base);
    r.check(false, 'freeing the template while clones use it is refused');
  } catch (e) {
    r.check(isStorageError(e, 'IN_USE') && (e.details['clones'] as string[]).length === 2, 'freeing the template while clones use it is refused (IN_USE, both clones named)');
  }

  r.step('Snapshot a clone, overwrite it, roll back');
  await storages.volumeSnapshot(clone1, 'pristine');
  const clonePath = (await storages.path(clone1)).path;
  await qemuIoWrite(clonePath, 0x5a, MiB);
  const changed = await exportBytes(storages, clone1);
  r.check(changed[0] === 0x5a && changed[MiB - 1] === 0x5a && firstDiff(changed.subarray(MiB), original.subarray(MiB)) === -1, 'after qemu-io wrote 1 MiB of 0x5a, the clone holds the new bytes');
  r.check(firstDiff(await exportBytes(storages, clone2), original) === -1, 'the other clone is untouched');
  r.check((await storages.volumeSnapshotInfo(clone1)).map((s) => s.name).join() === 'pristine', 'the snapshot is listed');
  await storages.volumeSnapshotRollback(clone1, 'pristine');
  r.check(firstDiff(await exportBytes(storages, clone1), original) === -1, 'after the rollback the clone holds the original data again');

  r.step('Export a clone and import it again as a new volume');
  const exported = await exportBytes(storages, clone1);
  const reimported = await importBytes(storages, 'demo:110/vm-110-disk-0.raw', exported);
  r.note(`imported ${reimported}`);
  r.check(firstDiff(await exportBytes(storages, reimported), original) === -1, 'the re-imported volume is byte-identical');

  r.step('Copy a clone to the second storage');
  let progressed = 0;
  const copied = await storages.copyVolume(clone2, 'backup', { onProgress: (p) => (progressed = p.done) });
  r.note(`copied to ${copied}`);
  r.check(copied.startsWith('backup:'), 'the copy lives on the backup storage');
  r.check(progressed >= DISK, `progress was reported up to ${formatSize(progressed)}`);
  r.check(firstDiff(await exportBytes(storages, copied), original) === -1, 'the copy is byte-identical');
  r.check((await storages.listImages('backup'))[0]?.parent === undefined, 'the copy stands alone: it has no parent on the backup storage');

  r.step('List both storages');
  for (const id of ['demo', 'backup']) {
    for (const i of await storages.listImages(id)) r.note(`${i.volid.padEnd(56)} ${i.format.padEnd(6)} ${formatSize(i.size).padStart(6)}${i.parent ? `  <- ${i.parent}` : ''}`);
  }
  r.check((await storages.listImages('demo')).length === 4 && (await storages.listImages('backup')).length === 1, 'demo holds 4 images (template, 2 clones, re-import), backup 1');

  r.step('Check capacity');
  for (const id of ['demo', 'backup']) {
    const s = await storages.status(id);
    r.note(`${id}: ${formatSize(s.used)} used, ${formatSize(s.available)} available of ${formatSize(s.total)}`);
    r.check(s.active && s.total > 0 && s.available > 0 && s.used + s.available <= s.total, `${id} is active and its numbers add up`);
  }

  r.step('Free everything');
  for (const volid of [clone1, clone2, reimported, copied, base]) {
    await storages.freeImage(volid);
    r.note(`freed ${volid}`);
  }
  r.check((await storages.listImages('demo')).length === 0 && (await storages.listImages('backup')).length === 0, 'both storages are empty');
}
