import { isStorageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import {
  assertNameForFormat,
  freeDiskName,
  originOf,
  parentOf,
  parseZfsVolname,
  subvolPath,
  volnameOf,
  zvolPath,
} from '../src/names.js';

function code(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
}

describe('parseZfsVolname', () => {
  it.each([
    ['vm-100-disk-0', { name: 'vm-100-disk-0', vmid: 100, isBase: false, format: 'raw', baseName: undefined, baseVmid: undefined }],
    ['base-100-disk-0', { name: 'base-100-disk-0', vmid: 100, isBase: true, format: 'raw' }],
    ['subvol-101-disk-1', { name: 'subvol-101-disk-1', vmid: 101, isBase: false, format: 'subvol' }],
    ['basevol-101-disk-1', { name: 'basevol-101-disk-1', vmid: 101, isBase: true, format: 'subvol' }],
    ['base-100-disk-0/vm-101-disk-0', { name: 'vm-101-disk-0', vmid: 101, isBase: false, baseName: 'base-100-disk-0', baseVmid: 100, format: 'raw' }],
    ['basevol-100-disk-0/subvol-102-disk-3', { name: 'subvol-102-disk-3', vmid: 102, baseName: 'basevol-100-disk-0', baseVmid: 100, format: 'subvol' }],
    ['vm-100-cloudinit', { name: 'vm-100-cloudinit', vmid: 100 }],
    ['vm-100-state-snap_1.x', { name: 'vm-100-state-snap_1.x', vmid: 100 }],
  ])('parses %s', (volname, expected) => {
    expect(parseZfsVolname(volname)).toMatchObject({ volname, vtype: 'images', ...expected });
  });

  it.each([
    '',
    'vm-100',
    'vm-0-disk-0',
    'vm-100-disk-0/',
    '/vm-100-disk-0',
    'vm-100-disk-0/vm-101-disk-0',
    'base-100-disk-0/base-101-disk-0/vm-102-disk-0',
    '../vm-100-disk-0',
    'vm-100-disk-0/..',
    'vm-100-disk;0',
    'vm-100-disk-$(id)',
    'vm-100-disk 0',
    'vm-100-disk-0@snap',
    'vm-100-disk+0',
    'tank/vm-100-disk-0',
    'images/vm-100-disk-0',
    `vm-100-${'x'.repeat(130)}`,
  ])('refuses %j with INVALID_VOLUME_ID', (volname) => {
    expect(code(() => parseZfsVolname(volname))).toBe('INVALID_VOLUME_ID');
  });
});

describe('dataset names and paths', () => {
  it('makes zvol and subvol paths', () => {
    expect(zvolPath('tank/vm', 'vm-100-disk-0')).toBe('/dev/zvol/tank/vm/vm-100-disk-0');
    expect(zvolPath('tank', 'vm-100-disk-0', 's1')).toBe('/dev/zvol/tank/vm-100-disk-0@s1');
    expect(subvolPath('/tank/', 'subvol-100-disk-0')).toBe('/tank/subvol-100-disk-0');
    expect(subvolPath('/tank', 'subvol-100-disk-0', 's1')).toBe('/tank/subvol-100-disk-0/.zfs/snapshot/s1');
  });

  it('names clones of a base as <base>/<name> and reports their parent', () => {
    expect(volnameOf('tank', 'vm-101-disk-0', 'tank/base-100-disk-0@__base__')).toBe('base-100-disk-0/vm-101-disk-0');
    expect(parentOf('local-zfs', 'tank', 'tank/base-100-disk-0@__base__')).toBe('local-zfs:base-100-disk-0');
    expect(volnameOf('tank', 'vm-101-disk-0', 'tank/vm-100-disk-0@s1')).toBe('vm-101-disk-0');
    expect(parentOf('local-zfs', 'tank', 'tank/vm-100-disk-0@s1')).toBe('local-zfs:vm-100-disk-0@s1');
    expect(parentOf('local-zfs', 'tank', 'tank/base-100-disk-0@s1')).toBe('local-zfs:base-100-disk-0@s1');
  });

  it('names clones of a hidden base (its __base__ renamed to __hidden__) as before', () => {
    expect(volnameOf('tank', 'vm-101-disk-0', 'tank/base-100-disk-0@__hidden__')).toBe('base-100-disk-0/vm-101-disk-0');
    expect(parentOf('local-zfs', 'tank', 'tank/base-100-disk-0@__hidden__')).toBe('local-zfs:base-100-disk-0');
    expect(volnameOf('tank', 'subvol-101-disk-0', 'tank/basevol-100-disk-0@__hidden__')).toBe('basevol-100-disk-0/subvol-101-disk-0');
    expect(parentOf('local-zfs', 'tank', 'tank/vm-100-disk-0@__hidden__')).toBe('local-zfs:vm-100-disk-0@__hidden__');
  });

  it('ignores origins outside the storage', () => {
    expect(volnameOf('tank/a', 'vm-101-disk-0', 'tank/b/base-100-disk-0@__base__')).toBe('vm-101-disk-0');
    expect(parentOf('s', 'tank/a', 'tank/b/base-100-disk-0@__base__')).toBeUndefined();
    expect(parentOf('s', 'tank', 'tank/other@x')).toBeUndefined();
    expect(originOf('tank', undefined)).toBeUndefined();
    expect(originOf('tank', 'tank/vm-1-disk-0')).toBeUndefined();
  });

  it('checks that a name fits the format', () => {
    expect(() => assertNameForFormat('vm-1-disk-0', 'raw')).not.toThrow();
    expect(() => assertNameForFormat('basevol-1-disk-0', 'subvol')).not.toThrow();
    expect(code(() => assertNameForFormat('subvol-1-disk-0', 'raw'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertNameForFormat('vm-1-disk-0', 'subvol'))).toBe('INVALID_ARGUMENT');
    expect(code(() => assertNameForFormat('vm-1-disk-0;x', 'raw'))).toBe('INVALID_ARGUMENT');
  });
});

describe('freeDiskName', () => {
  it('counts every kind of name of the guest, and only that guest', () => {
    const names = ['vm-100-disk-0', 'base-100-disk-1', 'subvol-100-disk-2', 'basevol-100-disk-4', 'vm-1000-disk-3', 'vm-100-cloudinit'];
    expect(freeDiskName(100, names, 'raw')).toBe('vm-100-disk-3');
    expect(freeDiskName(100, names, 'subvol')).toBe('subvol-100-disk-3');
    expect(freeDiskName(100, names, 'raw', true)).toBe('base-100-disk-3');
    expect(freeDiskName(100, names, 'subvol', true)).toBe('basevol-100-disk-3');
    expect(freeDiskName(1000, names, undefined)).toBe('vm-1000-disk-0');
  });

  it('gives up with NO_SPACE after index 1023', () => {
    const names = Array.from({ length: 1024 }, (_, i) => `vm-7-disk-${i}`);
    expect(code(() => freeDiskName(7, names, 'raw'))).toBe('NO_SPACE');
  });
});
