/**
 * What `pnpm testbed capture` records for the zfs plugin: listings, properties and error cases
 * of the ZFS tools, with the command lines Proxmox's ZFS pool plugin uses.
 *
 * @module
 */
import { holdDevice, releaseDevice, type CaptureCase } from './case.js';

const POOL = 'stowage';

/** The zfs capture cases, run in order on fresh pools (later cases use earlier setup). */
export const ZFS_CASES: readonly CaptureCase[] = [
  {
    file: 'zfs-list.json',
    about: 'the storage listing: a zvol, a sparse zvol, a base with its __base__ snapshot, a linked clone of it, and a subvol (filesystem with refquota)',
    setup: [
      ['zfs', 'create', '-V', '1048576k', `${POOL}/vm-100-disk-0`],
      ['zfs', 'create', '-s', '-V', '2097152k', `${POOL}/vm-101-disk-0`],
      ['zfs', 'create', '-V', '1048576k', `${POOL}/vm-102-disk-0`],
      ['zfs', 'rename', `${POOL}/vm-102-disk-0`, `${POOL}/base-102-disk-0`],
      ['zfs', 'snapshot', `${POOL}/base-102-disk-0@__base__`],
      ['zfs', 'clone', `${POOL}/base-102-disk-0@__base__`, `${POOL}/vm-103-disk-0`],
      ['zfs', 'create', '-o', 'acltype=posixacl', '-o', 'xattr=sa', '-o', 'refquota=1048576k', `${POOL}/subvol-104-disk-0`],
      ['zfs', 'snapshot', `${POOL}/vm-100-disk-0@snap1`],
      ['udevadm', 'settle', '--timeout=30'],
      ['dd', 'if=/dev/urandom', `of=/dev/zvol/${POOL}/vm-100-disk-0`, 'bs=1M', 'count=8', 'oflag=direct', 'status=none'],
      ['zfs', 'snapshot', `${POOL}/vm-100-disk-0@snap2`],
    ],
    commands: [['zfs', 'list', '-o', 'name,volsize,origin,type,refquota', '-t', 'volume,filesystem', '-d1', '-Hp', POOL]],
  },
  {
    file: 'zfs-get.json',
    about: 'zfs get -Hp of a zvol size, the pool status, and a subvol quota and usage',
    commands: [
      ['zfs', 'get', '-o', 'value', '-Hp', 'volsize', `${POOL}/vm-100-disk-0`],
      ['zfs', 'get', '-o', 'value', '-Hp', 'available,used', POOL],
      ['zfs', 'get', '-o', 'value', '-Hp', 'refquota,usedbydataset', `${POOL}/subvol-104-disk-0`],
    ],
  },
  {
    file: 'zfs-get-missing.json',
    about: 'zfs get and a snapshot listing of a dataset that does not exist',
    commands: [
      ['zfs', 'get', '-H', 'name', `${POOL}/vm-999-disk-0`],
      ['zfs', 'list', '-H', '-r', '-t', 'snapshot', '-o', 'name', '-s', 'creation', `${POOL}/vm-999-disk-0`],
    ],
  },
  {
    file: 'zfs-snapshot-list.json',
    about: 'the snapshots of a zvol, by creation (rollback check), and with guid and creation time (snapshot info)',
    commands: [
      ['zfs', 'list', '-H', '-r', '-t', 'snapshot', '-o', 'name', '-s', 'creation', `${POOL}/vm-100-disk-0`],
      ['zfs', 'list', '-Hp', '-r', '-t', 'snapshot', '-o', 'name,guid,creation', `${POOL}/vm-100-disk-0`],
    ],
  },
  {
    file: 'zfs-snapshot-exists.json',
    about: 'zfs snapshot with a name that is taken',
    commands: [['zfs', 'snapshot', `${POOL}/vm-100-disk-0@snap1`]],
  },
  {
    file: 'zfs-rollback-not-latest.json',
    about: 'zfs rollback (without -r) to a snapshot that is not the most recent',
    commands: [['zfs', 'rollback', `${POOL}/vm-100-disk-0@snap1`]],
  },
  {
    file: 'zfs-rollback-latest.json',
    about: 'zfs rollback to the most recent snapshot (succeeds)',
    commands: [['zfs', 'rollback', `${POOL}/vm-100-disk-0@snap2`]],
  },
  {
    file: 'zfs-create-exists.json',
    about: 'zfs create of a zvol whose name is taken',
    commands: [['zfs', 'create', '-V', '1048576k', `${POOL}/vm-100-disk-0`]],
  },
  {
    file: 'zfs-create-missing-pool.json',
    about: 'zfs create of a zvol in a pool that does not exist',
    commands: [['zfs', 'create', '-V', '1048576k', 'nosuchpool/vm-100-disk-0']],
  },
  {
    file: 'zfs-create-no-space.json',
    about: 'zfs create of a non-sparse 1 TiB zvol on a 20 GiB pool',
    commands: [['zfs', 'create', '-V', '1073741824k', `${POOL}/vm-105-disk-0`]],
  },
  {
    file: 'zfs-destroy-missing.json',
    about: 'zfs destroy -r of a dataset that does not exist',
    commands: [['zfs', 'destroy', '-r', `${POOL}/vm-999-disk-0`]],
  },
  {
    file: 'zfs-destroy-busy.json',
    about: 'zfs destroy -r of a zvol that a process holds open',
    setup: [holdDevice(`/dev/zvol/${POOL}/vm-101-disk-0`, 'zfs-destroy-busy')],
    commands: [['zfs', 'destroy', '-r', `${POOL}/vm-101-disk-0`]],
    cleanup: [releaseDevice('zfs-destroy-busy')],
  },
  {
    file: 'zfs-destroy-dependent-clones.json',
    about: 'zfs destroy -r of a base whose __base__ snapshot has a linked clone',
    commands: [['zfs', 'destroy', '-r', `${POOL}/base-102-disk-0`]],
  },
  {
    file: 'zpool-list.json',
    about: 'zpool list of the pool, and of a pool that does not exist',
    commands: [
      ['zpool', 'list', '-o', 'name', '-H', POOL],
      ['zpool', 'list', '-o', 'name', '-H', 'nosuchpool'],
    ],
  },
];
