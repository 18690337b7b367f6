import { describe, expect, it } from 'vitest';
import { assertSafeVolname, baseNameFor, findFreeDiskIndex, formatDiskName, parseDiskName } from '../src/plugin.js';
import { formatVolumeId, isStorageError, isValidStoreId, parseVolumeId } from '../src/index.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isStorageError(e) ? e.code : 'not a StorageError';
  }
  return undefined;
}

describe('storage ids', () => {
  it.each(['local', 'local-lvm', 'a1', 'tank_2', 'nfs.backup', 'LOCAL'])('accepts %s', (id) => {
    expect(isValidStoreId(id)).toBe(true);
  });
  it.each(['', 'a', '1local', 'local-', 'lo cal', 'lo:cal', 'local.', '-x', 'x/y', 'ünï'])('refuses %j', (id) => {
    expect(isValidStoreId(id)).toBe(false);
  });
});

describe('parseVolumeId', () => {
  it('splits at the first colon', () => {
    expect(parseVolumeId('local:100/vm-100-disk-0.qcow2')).toEqual({ storeId: 'local', volname: '100/vm-100-disk-0.qcow2' });
    expect(parseVolumeId('tank:base-100-disk-0/vm-101-disk-0')).toEqual({ storeId: 'tank', volname: 'base-100-disk-0/vm-101-disk-0' });
  });
  it('round-trips with formatVolumeId', () => {
    const v = parseVolumeId('local:iso/debian-12.iso');
    expect(formatVolumeId(v.storeId, v.volname)).toBe('local:iso/debian-12.iso');
  });
  it.each([
    'no-colon',
    ':vm-100-disk-0',
    '1bad:vm-100-disk-0',
    'local:',
    'local:../etc/passwd',
    'local:100/../../x',
    'local:/abs',
    'local:100//vm-100-disk-0.raw',
    'local:vm-100-disk-0;rm -rf /',
    'local:$(reboot)',
    'local:vm 100',
    'local:vm-100-disk-0\n',
    'local:vm-ü-disk-0',
    'local:a:b',
    'local:import/x.ova/OS\tdisk.vmdk',
    'local:import/x.ova/OS disk.vmdk\n',
    'local:import/x y.ova',
    'local:import/x.ova/../y.vmdk',
    'local:100/vm-100-disk-0=x.raw',
    `local:${'x'.repeat(256)}`,
  ])('refuses %j with INVALID_VOLUME_ID', (volid) => {
    expect(codeOf(() => parseVolumeId(volid))).toBe('INVALID_VOLUME_ID');
  });
  it('throws TypeError on a non-string (programmer error)', () => {
    expect(() => parseVolumeId(42 as unknown as string)).toThrow(TypeError);
  });
});

describe('assertSafeVolname', () => {
  it('accepts the names Proxmox storages use', () => {
    for (const n of ['100/vm-100-disk-0.qcow2', '100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2', 'iso/x.iso', 'base-100-disk-0/vm-101-disk-0', 'vm-100-state-snap_1@x+y', 'import/a=b.ova', 'import/x.ova/OS disk.vmdk']) {
      expect(() => assertSafeVolname(n)).not.toThrow();
    }
  });
});

describe('disk names', () => {
  it('parses vm- and base- names with and without extension', () => {
    expect(parseDiskName('vm-100-disk-0')).toEqual({ isBase: false, vmid: 100, index: 0, ext: undefined });
    expect(parseDiskName('base-7-disk-12.qcow2')).toEqual({ isBase: true, vmid: 7, index: 12, ext: 'qcow2' });
  });
  it.each(['vm-100-disk-01', 'vm-0-disk-0', 'vm-100-cloudinit', 'subvol-100-disk-0', 'vm-100-disk-0.'])('is not a disk name: %s', (n) => {
    expect(parseDiskName(n)).toBeUndefined();
  });
  it('formats names', () => {
    expect(formatDiskName({ vmid: 100, index: 3 })).toBe('vm-100-disk-3');
    expect(formatDiskName({ isBase: true, vmid: 100, index: 0, ext: 'raw' })).toBe('base-100-disk-0.raw');
  });
});

describe('baseNameFor', () => {
  it('turns vm- into base- and subvol- into basevol-, keeping the rest of the name', () => {
    expect(baseNameFor('vm-100-disk-0')).toBe('base-100-disk-0');
    expect(baseNameFor('vm-100-disk-0.qcow2')).toBe('base-100-disk-0.qcow2');
    expect(baseNameFor('subvol-100-disk-0')).toBe('basevol-100-disk-0');
  });
  it.each(['base-100-disk-0', 'basevol-100-disk-0', 'disk-0', 'vm100-disk-0'])('refuses %s with INVALID_ARGUMENT', (n) => {
    expect(codeOf(() => baseNameFor(n))).toBe('INVALID_ARGUMENT');
  });
});

describe('findFreeDiskIndex', () => {
  it('returns the lowest free index, counting vm- and base- alike and ignoring other guests', () => {
    expect(findFreeDiskIndex(100, [])).toBe(0);
    expect(findFreeDiskIndex(100, ['vm-100-disk-0', 'base-100-disk-1', 'vm-101-disk-2', 'vm-100-disk-3'])).toBe(2);
  });
  it('fails past 1023', () => {
    const all = Array.from({ length: 1024 }, (_, i) => (i % 2 ? `vm-5-disk-${i}` : `base-5-disk-${i}`));
    expect(codeOf(() => findFreeDiskIndex(5, all))).toBe('NO_SPACE');
    expect(findFreeDiskIndex(5, all.slice(0, 1023))).toBe(1023);
  });
});
