import { isStorageError } from '@stowage/core';
import { describe, expect, it } from 'vitest';
import { flattenOwner, hiddenLvName, hiddenVolname, lvDevicePath, parseLvmThinVolname, snapshotLvName, splitSnapshotLvName, targetLvName } from '../src/names.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isStorageError(e) ? e.code : 'not a StorageError';
  }
  return undefined;
}

describe('parseLvmThinVolname', () => {
  it('parses vm- and base- names as Proxmox does', () => {
    expect(parseLvmThinVolname('vm-100-disk-0')).toEqual({
      volname: 'vm-100-disk-0',
      vtype: 'images',
      name: 'vm-100-disk-0',
      vmid: 100,
      baseName: undefined,
      baseVmid: undefined,
      isBase: false,
      format: 'raw',
    });
    expect(parseLvmThinVolname('base-7-disk-3')).toMatchObject({ vmid: 7, isBase: true, format: 'raw' });
    expect(parseLvmThinVolname('vm-101-cloudinit')).toMatchObject({ vmid: 101, isBase: false });
    expect(parseLvmThinVolname('vm-101-state-snap_1')).toMatchObject({ vmid: 101 });
  });

  it.each([
    '',
    'vm-100',
    'vm-100-',
    'vm-0-disk-0',
    'foo-100-disk-0',
    '100/vm-100-disk-0',
    'vm-100-disk-0/../x',
    '..',
    'vm-100-disk-0;reboot',
    'vm-100-$(reboot)',
    'vm-100-disk 0',
    'vm-100-dïsk-0',
    'vm-100-disk-0:x',
    'base-100-disk-0/vm-101-disk-0',
    'vm-100-disk_tmeta',
    'vm-100-x_rimage_0',
    `vm-100-${'x'.repeat(130)}`,
  ])('refuses %j with INVALID_VOLUME_ID', (name) => {
    expect(codeOf(() => parseLvmThinVolname(name))).toBe('INVALID_VOLUME_ID');
  });
});

describe('snapshot LV names', () => {
  it('are snap_<volume>_<snapshot>', () => {
    expect(snapshotLvName('vm-100-disk-0', 'before')).toBe('snap_vm-100-disk-0_before');
    expect(targetLvName('vm-100-disk-0', undefined)).toBe('vm-100-disk-0');
    expect(targetLvName('vm-100-disk-0', 's')).toBe('snap_vm-100-disk-0_s');
  });

  it('refuses names LVM cannot hold', () => {
    expect(codeOf(() => snapshotLvName(`vm-1-${'x'.repeat(100)}`, 'y'.repeat(40)))).toBe('INVALID_ARGUMENT');
  });

  it('splits to the longest existing volume', () => {
    const vols = ['vm-1-a', 'vm-1-a_b'];
    expect(splitSnapshotLvName('snap_vm-1-a_b_s', vols)).toEqual({ volname: 'vm-1-a_b', snapshot: 's' });
    expect(splitSnapshotLvName('snap_vm-1-a_s', vols)).toEqual({ volname: 'vm-1-a', snapshot: 's' });
    expect(splitSnapshotLvName('snap_vm-2-a_s', vols)).toBeUndefined();
    expect(splitSnapshotLvName('vm-1-a', vols)).toBeUndefined();
  });

  it('device paths are /dev/<vg>/<lv>', () => {
    expect(lvDevicePath('pve', 'vm-1-disk-0')).toBe('/dev/pve/vm-1-disk-0');
  });
});

describe('flattenOwner', () => {
  it('reads the owner token of a flatten tag among other tags', () => {
    expect(flattenOwner({ tags: ['stowage-hidden', 'stowage-flatten=pve1:0badc0de:7:9'] })).toBe('pve1:0badc0de:7:9');
    expect(flattenOwner({ tags: ['stowage-incomplete=pve1:0badc0de:7:9'] })).toBeUndefined();
  });
});

describe('hiddenLvName and hiddenVolname', () => {
  it('name a hidden volume stowage_hidden_<volname> and back', () => {
    expect(hiddenLvName('base-100-disk-0')).toBe('stowage_hidden_base-100-disk-0');
    expect(hiddenVolname('stowage_hidden_base-100-disk-0')).toBe('base-100-disk-0');
    expect(hiddenVolname('base-100-disk-0')).toBeUndefined();
  });

  it('refuses a volname too long to hide (the LV name would pass LVM\'s 127 characters)', () => {
    const longest = `base-1-${'x'.repeat(127 - 15 - 7)}`;
    expect(hiddenLvName(longest)).toHaveLength(127);
    expect(codeOf(() => hiddenLvName(`${longest}x`))).toBe('INVALID_ARGUMENT');
  });
});
