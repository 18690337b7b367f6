import { describe, expect, it } from 'vitest';
import {
  lvchangeAddtagArgs,
  blockdevSizeArgs,
  ddReadArgs,
  ddWriteArgs,
  lvchangeActivateArgs,
  lvchangeBaseArgs,
  lvchangeDeactivateArgs,
  lvchangeUnbaseArgs,
  lvcreateSnapshotArgs,
  lvcreateThinArgs,
  lvextendArgs,
  lvremoveArgs,
  lvremoveByUuidArgs,
  lvchangeDeltagArgs,
  lvrenameArgs,
  lvsArgs,
  toKiB,
  udevadmSettleArgs,
  vgsArgs,
} from '../src/commands.js';

describe('argv builders', () => {
  it('adds a tag to an LV', () => {
    expect(lvchangeAddtagArgs('pve', 'vm-100-disk-0', 'stowage-hidden')).toEqual(['lvchange', '--addtag', 'stowage-hidden', 'pve/vm-100-disk-0']);
  });

  it('lvs reports the whole VG or one LV as JSON in bytes with epoch times', () => {
    expect(lvsArgs('pve')).toEqual([
      'lvs',
      '--reportformat',
      'json',
      '--units',
      'b',
      '--nosuffix',
      '--config',
      'report/time_format="%s"',
      '-o',
      'vg_name,lv_name,lv_attr,lv_size,pool_lv,origin,data_percent,metadata_percent,lv_metadata_size,lv_time,thin_id,vg_extent_size,lv_uuid,lv_tags',
      'pve',
    ]);
    expect(lvsArgs('pve', 'data').at(-1)).toBe('pve/data');
  });

  it('vgs reports one VG', () => {
    expect(vgsArgs('pve')).toEqual([
      'vgs',
      '--reportformat',
      'json',
      '--units',
      'b',
      '--nosuffix',
      '--config',
      'report/time_format="%s"',
      '-o',
      'vg_name,vg_size,vg_free,lv_count',
      'pve',
    ]);
  });

  it('rounds sizes up to whole KiB', () => {
    expect(toKiB(1)).toBe(1);
    expect(toKiB(1024)).toBe(1);
    expect(toKiB(1025)).toBe(2);
    expect(toKiB(4 * 2 ** 30)).toBe(4 * 2 ** 20);
  });

  it('lvcreate of a thin LV: active now, skipped by other activation, in the pool', () => {
    expect(lvcreateThinArgs({ vg: 'pve', pool: 'data', name: 'vm-100-disk-0', size: 4 * 2 ** 30 + 1 })).toEqual([
      'lvcreate',
      '-ay',
      '-ky',
      '-K',
      '-V',
      '4194305k',
      '--name',
      'vm-100-disk-0',
      '--thinpool',
      'pve/data',
    ]);
  });

  it('lvcreate -s: read-only inactive snapshot, or writable active clone', () => {
    expect(lvcreateSnapshotArgs({ vg: 'pve', origin: 'vm-100-disk-0', name: 'snap_vm-100-disk-0_s1', writable: false })).toEqual([
      'lvcreate',
      '-n',
      'snap_vm-100-disk-0_s1',
      '-pr',
      '-s',
      'pve/vm-100-disk-0',
    ]);
    expect(lvcreateSnapshotArgs({ vg: 'pve', origin: 'base-100-disk-0', name: 'vm-101-disk-0', writable: true })).toEqual([
      'lvcreate',
      '-n',
      'vm-101-disk-0',
      '-prw',
      '-ky',
      '-K',
      '-s',
      'pve/base-100-disk-0',
    ]);
  });

  it('lvremove -f of several LVs, never none', () => {
    expect(lvremoveArgs('pve', ['snap_vm-1-disk-0_a', 'vm-1-disk-0'])).toEqual(['lvremove', '-f', 'pve/snap_vm-1-disk-0_a', 'pve/vm-1-disk-0']);
    expect(() => lvremoveArgs('pve', [])).toThrow(TypeError);
  });

  it('removes by UUID through LVM selection, and marks and unmarks with tags', () => {
    expect(lvremoveByUuidArgs('pve', 'kn1Fl0-0E9j-3ezw-foeS-7jwL-NzIp-jKCcvH')).toEqual(['lvremove', '-f', '-S', 'lv_uuid=kn1Fl0-0E9j-3ezw-foeS-7jwL-NzIp-jKCcvH', 'pve']);
    expect(() => lvremoveByUuidArgs('pve', 'x || lv_name=vm-1-disk-0')).toThrow(TypeError);
    expect(lvcreateThinArgs({ vg: 'pve', pool: 'data', name: 'vm-1-disk-0', size: 1024, tags: ['stowage-incomplete=n:0badc0de:7:9'] })).toEqual([
      'lvcreate', '-ay', '-ky', '-K', '-V', '1k', '--name', 'vm-1-disk-0', '--addtag', 'stowage-incomplete=n:0badc0de:7:9', '--thinpool', 'pve/data',
    ]);
    expect(lvchangeDeltagArgs('pve', 'vm-1-disk-0', 't')).toEqual(['lvchange', '--deltag', 't', 'pve/vm-1-disk-0']);
  });

  it('lvrename, lvchange, lvextend', () => {
    expect(lvrenameArgs('pve', 'vm-1-disk-0', 'base-1-disk-0')).toEqual(['lvrename', 'pve', 'vm-1-disk-0', 'base-1-disk-0']);
    expect(lvchangeActivateArgs('pve', 'x')).toEqual(['lvchange', '-ay', '-K', 'pve/x']);
    expect(lvchangeDeactivateArgs('pve', 'x')).toEqual(['lvchange', '-an', 'pve/x']);
    expect(lvchangeBaseArgs('pve', 'x')).toEqual(['lvchange', '-pr', '-ky', 'pve/x']);
    expect(lvchangeUnbaseArgs('pve', 'x')).toEqual(['lvchange', '-prw', 'pve/x']);
    expect(lvextendArgs('pve', 'x', 8 * 2 ** 20)).toEqual(['lvextend', '-L', '8192k', 'pve/x']);
  });

  it('udevadm, blockdev, dd', () => {
    expect(udevadmSettleArgs()).toEqual(['udevadm', 'settle', '--timeout=30']);
    expect(udevadmSettleArgs(5)).toEqual(['udevadm', 'settle', '--timeout=5']);
    expect(blockdevSizeArgs('/dev/pve/x')).toEqual(['blockdev', '--getsize64', '/dev/pve/x']);
    expect(ddReadArgs('/dev/pve/x')).toEqual(['dd', 'if=/dev/pve/x', 'bs=64k', 'status=none']);
    expect(ddWriteArgs('/dev/pve/x')).toEqual(['dd', 'of=/dev/pve/x', 'bs=64k', 'iflag=fullblock', 'conv=sparse,fsync', 'status=none']);
  });

  it('passes hostile-looking names as single arguments, never through a shell', () => {
    const argv = lvcreateThinArgs({ vg: 'pve', pool: 'data', name: 'vm-1-$(reboot)', size: 1024 });
    expect(argv).toContain('vm-1-$(reboot)');
    expect(argv.every((a) => typeof a === 'string')).toBe(true);
  });
});
