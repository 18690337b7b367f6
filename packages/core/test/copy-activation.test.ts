/**
 * copyVolume activates the target storage before it asks the target's plugin anything (the
 * free-name search lists the target): a directory storage that is only created on activation
 * must still receive copies.
 */
import { afterEach, expect, it } from 'vitest';
import { openFileManager, type FileManagerFixture } from './support/file-manager.js';

let f: FileManagerFixture | undefined;
afterEach(async () => {
  await f?.close();
  f = undefined;
});

it('activates the target storage before listing it for a free name', async () => {
  f = await openFileManager(['src', 'dst']);
  const volid = await f.manager.allocImage('src', { vmid: 100, size: 4096, format: 'raw' });
  const target = f.plugin('dst');
  target.calls.length = 0;
  await f.manager.copyVolume(volid, 'dst');
  const firstActivate = target.calls.indexOf('activateStorage');
  const firstList = target.calls.indexOf('listImages');
  expect(firstActivate).toBeGreaterThanOrEqual(0);
  expect(firstList).toBeGreaterThan(firstActivate);
});
