import { describe, expect, it } from 'vitest';
import {
  zfsPromoteArgs,
  zfsDestroySnapshotsArgs,
  ddWriteArgs,
  refquotaValue,
  toKiB,
  udevSettleArgs,
  zfsCloneArgs,
  zfsCreateSubvolArgs,
  zfsCreateVolumeArgs,
  zfsDestroyArgs,
  zfsListChildrenArgs,
  zfsRecvArgs,
  zfsInheritArgs,
  zfsRenameArgs,
  zfsRollbackArgs,
  zfsSendArgs,
  zfsSnapshotArgs,
  zpoolImportArgs,
  zvolSize,
} from '../src/commands.js';

const MiB = 1024 * 1024;

describe('argv builders', () => {
  it('rounds zvol sizes up to whole MiB, other sizes to KiB', () => {
    expect(zvolSize(1)).toBe(MiB);
    expect(zvolSize(MiB)).toBe(MiB);
    expect(zvolSize(1.5 * MiB)).toBe(2 * MiB);
    expect(toKiB(1025)).toBe(2);
    expect(refquotaValue(0)).toBe('none');
    expect(refquotaValue(1000)).toBe('1k');
  });

  it('lists only the direct children, zvols and file systems, exact and tab-separated', () => {
    expect(zfsListChildrenArgs('tank/vm')).toEqual(['zfs', 'list', '-Hp', '-d1', '-t', 'volume,filesystem', '-o', 'name,type,volsize,refquota,origin,usedbydataset,creation,guid,stowage:incomplete,stowage:flatten,stowage:hidden', 'tank/vm']);
  });

  it('promotes a clone, and destroys a range of snapshots with or without their clones', () => {
    expect(zfsPromoteArgs('tank/stowage-flatten-new-vm-1-disk-0')).toEqual(['zfs', 'promote', 'tank/stowage-flatten-new-vm-1-disk-0']);
    expect(zfsDestroySnapshotsArgs('tank/vm-1-disk-0', 'a', 'c')).toEqual(['zfs', 'destroy', 'tank/vm-1-disk-0@a%c']);
    expect(zfsDestroySnapshotsArgs('tank/vm-1-disk-0', 'a', 'c', true)).toEqual(['zfs', 'destroy', '-R', 'tank/vm-1-disk-0@a%c']);
  });

  it('sends an increment with every snapshot between, without a replication stream (a clone stays no clone)', () => {
    expect(zfsSendArgs({ snapshot: 'tank/v@b', base: 'tank/v@a', intermediates: true })).toEqual(['zfs', 'send', '-p', '-I', 'tank/v@a', '--', 'tank/v@b']);
    expect(zfsSendArgs({ snapshot: 'tank/v@a', intermediates: true })).toEqual(['zfs', 'send', '-p', '--', 'tank/v@a']);
  });

  it('creates zvols with -s and -b only when asked', () => {
    expect(zfsCreateVolumeArgs({ dataset: 'tank/vm-1-disk-0', size: 4 * MiB })).toEqual(['zfs', 'create', '-V', '4096k', 'tank/vm-1-disk-0']);
    expect(zfsCreateVolumeArgs({ dataset: 'tank/vm-1-disk-0', size: 4 * MiB, sparse: true, blocksize: '16k' })).toEqual(['zfs', 'create', '-s', '-b', '16k', '-V', '4096k', 'tank/vm-1-disk-0']);
    expect(zfsCreateVolumeArgs({ dataset: 'tank/vm-1-disk-0', size: MiB, properties: { 'stowage:incomplete': 'n:0badc0de:7:9' } })).toEqual([
      'zfs', 'create', '-o', 'stowage:incomplete=n:0badc0de:7:9', '-V', '1024k', 'tank/vm-1-disk-0',
    ]);
    expect(zfsCreateSubvolArgs('tank/subvol-1-disk-0', 0)).toEqual(['zfs', 'create', '-o', 'acltype=posixacl', '-o', 'xattr=sa', '-o', 'refquota=none', 'tank/subvol-1-disk-0']);
  });

  it('destroys datasets with their snapshots, and single snapshots without -r', () => {
    expect(zfsDestroyArgs('tank/vm-1-disk-0')).toEqual(['zfs', 'destroy', '-r', 'tank/vm-1-disk-0']);
    expect(zfsDestroyArgs('tank/vm-1-disk-0@s')).toEqual(['zfs', 'destroy', 'tank/vm-1-disk-0@s']);
  });

  it('rolls back with -r only when newer snapshots may go', () => {
    expect(zfsRollbackArgs('t/v@s')).toEqual(['zfs', 'rollback', 't/v@s']);
    expect(zfsRollbackArgs('t/v@s', true)).toEqual(['zfs', 'rollback', '-r', 't/v@s']);
  });

  it('passes properties as separate -o arguments', () => {
    expect(zfsSnapshotArgs('t/v@s', { 'pve-storage:refquota': '1048576' })).toEqual(['zfs', 'snapshot', '-o', 'pve-storage:refquota=1048576', 't/v@s']);
    expect(zfsCloneArgs('t/b@__base__', 't/v', { refquota: '1024k' })).toEqual(['zfs', 'clone', '-o', 'refquota=1024k', 't/b@__base__', 't/v']);
  });

  it('sends one snapshot with its properties, or a replication stream; increments with -i or -I', () => {
    expect(zfsSendArgs({ snapshot: 't/v@b' })).toEqual(['zfs', 'send', '-p', '--', 't/v@b']);
    expect(zfsSendArgs({ snapshot: 't/v@b', base: 't/v@a' })).toEqual(['zfs', 'send', '-p', '-i', 't/v@a', '--', 't/v@b']);
    expect(zfsSendArgs({ snapshot: 't/v@b', base: 't/v@a', withSnapshots: true })).toEqual(['zfs', 'send', '-R', '-I', 't/v@a', '--', 't/v@b']);
  });

  it('receives a full stream without -F, an increment with it', () => {
    expect(zfsRecvArgs('t/v')).toEqual(['zfs', 'recv', '-x', 'encryption', '--', 't/v']);
    expect(zfsRecvArgs('t/v', true)).toEqual(['zfs', 'recv', '-F', '-x', 'encryption', '--', 't/v']);
    expect(zfsRecvArgs('t/v', false, { 'stowage:incomplete': 'n:0badc0de:7:9' })).toEqual(['zfs', 'recv', '-x', 'encryption', '-o', 'stowage:incomplete=n:0badc0de:7:9', '--', 't/v']);
    expect(zfsInheritArgs('stowage:incomplete', 't/v')).toEqual(['zfs', 'inherit', 'stowage:incomplete', 't/v']);
  });

  it('imports a pool from /dev/disk/by-id without a cache file', () => {
    expect(zpoolImportArgs('tank')).toEqual(['zpool', 'import', '-d', '/dev/disk/by-id/', '-o', 'cachefile=none', 'tank']);
  });

  it('settles udev for at least a second, until the link exists', () => {
    expect(udevSettleArgs('/dev/zvol/t/v', 0.2)).toEqual(['udevadm', 'settle', '--timeout=1', '--exit-if-exists=/dev/zvol/t/v']);
  });

  it('writes whole blocks, skipping zeros, flushed before dd exits', () => {
    expect(ddWriteArgs('/dev/zvol/t/v')).toEqual(['dd', 'of=/dev/zvol/t/v', 'bs=1M', 'iflag=fullblock', 'conv=sparse,fsync', 'status=none']);
  });

  it('keeps each name one argument, whatever it holds', () => {
    expect(zfsRenameArgs('t/v;rm -rf /', 't/$(x)')).toEqual(['zfs', 'rename', 't/v;rm -rf /', 't/$(x)']);
  });
});
