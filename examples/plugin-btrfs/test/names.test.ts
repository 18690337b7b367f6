import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { parseBtrfsVolname } from '../src/names.js';
import { parseSubvolEntry, parseUnfinishedName, subvolPath, unfinishedName } from '../src/names.js';

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
