import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { parseBtrfsVolname } from '../src/names.js';
import { hiddenAmong, hiddenMarker, parseSubvolEntry, parseSwapName, parseUnfinishedName, subvolPath, swapName, unfinishedName } from '../src/names.js';

describe('parseBtrfsVolname', () => {
  it.each([
    ['100/vm-100-disk-0.raw', { vmid: 100, isBase: false, name: 'vm-100-disk-0.raw' }],
    ['100/base-100-disk-3.raw', { vmid: 100, isBase: true, name: 'base-100-disk-3.raw' }],
    ['999999999/vm-999999999-disk-1023.raw', { vmid: 999999999, isBase: false, name: 'vm-999999999-disk-1023.raw' }],
  ])('parses %s', (volname, expected) => {
    expect(parseBtrfsVolname(volname)).toEqual({ volname, vtype: 'images', format: 'raw', baseName: undefined, baseVmid: undefined, ...expected });
  });

  it.each([
    '100/vm-101-disk-0.raw',
    '100/vm-100-disk-0.qcow2',
    '100/vm-100-disk-0',
    'vm-100-disk-0.raw',
    '100/vm-100-disk-0.raw/101/vm-101-disk-0.raw',
    '100/vm-100-disk-01.raw',
    '../100/vm-100-disk-0.raw',
    '100/vm-100-disk-0@snap.raw',
    '0/vm-0-disk-0.raw',
  ])('refuses %s with INVALID_VOLUME_ID', (volname) => {
    let caught: unknown;
    try {
      parseBtrfsVolname(volname);
    } catch (e) {
      caught = e;
    }
    expect(isStorageError(caught, 'INVALID_VOLUME_ID')).toBe(true);
  });
});

describe('layout', () => {
  it('puts a volume and its snapshots in images/<vmid>/', () => {
    const v = parseBtrfsVolname('100/vm-100-disk-0.raw');
    expect(subvolPath('/mnt/b', v)).toBe('/mnt/b/images/100/vm-100-disk-0');
    expect(subvolPath('/mnt/b', v, 'before')).toBe('/mnt/b/images/100/vm-100-disk-0@before');
  });
  it('reads directory entries', () => {
    expect(parseSubvolEntry('vm-100-disk-0')).toEqual({ name: 'vm-100-disk-0', snapshot: undefined });
    expect(parseSubvolEntry('base-100-disk-2@s1')).toEqual({ name: 'base-100-disk-2', snapshot: 's1' });
    expect(parseSubvolEntry('.vm-100-disk-0.rollback-42')).toBeUndefined();
    expect(parseSubvolEntry('vm-100-disk-0@')).toBeUndefined();
    expect(parseSubvolEntry('notes.txt')).toBeUndefined();
  });
});

describe('unfinishedName', () => {
  it('hides a volume being made behind a dot and carries its owner token, and reads back', () => {
    const entry = unfinishedName('vm-100-disk-0', 'pve1:3f9a1c07:4711:123456');
    expect(entry).toBe('.vm-100-disk-0.tmp-pve1:3f9a1c07:4711:123456');
    expect(parseSubvolEntry(entry)).toBeUndefined();
    expect(parseUnfinishedName(entry)).toEqual({ name: 'vm-100-disk-0', owner: 'pve1:3f9a1c07:4711:123456' });
  });

  it.each(['vm-100-disk-0', '.vm-100-disk-0', '.vm-100-disk-0.rollback-12', '.vm-100-disk-0.tmp-', '.x-100-disk-0.tmp-a:1'])('reads %s as no unfinished volume', (entry) => {
    expect(parseUnfinishedName(entry)).toBeUndefined();
  });
});

describe('swapName and the hidden marker', () => {
  const owner = 'pve1:3f9a1c07:4711:123456';
  it.each([
    ['flat', undefined, `.vm-100-disk-0.flat-${owner}`],
    ['olds', undefined, `.vm-100-disk-0.olds-${owner}`],
    ['drop', 'before-upgrade', `.vm-100-disk-0@before-upgrade.drop-${owner}`],
  ] as const)('%s of %s reads back, and is no volume, snapshot or unfinished volume', (kind, snapshot, entry) => {
    expect(swapName('vm-100-disk-0', kind, owner, snapshot)).toBe(entry);
    expect(parseSwapName(entry)).toEqual({ name: 'vm-100-disk-0', snapshot, kind, owner });
    expect(parseSubvolEntry(entry)).toBeUndefined();
    expect(parseUnfinishedName(entry)).toBeUndefined();
  });

  it.each(['vm-100-disk-0', `.vm-100-disk-0.tmp-${owner}`, '.vm-100-disk-0.flat-', '.vm-100-disk-0.hidden'])('reads %s as no swap entry', (entry) => {
    expect(parseSwapName(entry)).toBeUndefined();
  });

  it('the hidden marker sits next to the subvolume, and is found among directory entries', () => {
    expect(hiddenMarker('/s/images/100/base-100-disk-0')).toBe('/s/images/100/.base-100-disk-0.hidden');
    expect([...hiddenAmong(['base-100-disk-0', '.base-100-disk-0.hidden', 'x.hidden'])]).toEqual(['base-100-disk-0']);
    expect(parseSubvolEntry('.base-100-disk-0.hidden')).toBeUndefined();
  });
});
