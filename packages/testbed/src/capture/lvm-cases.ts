/**
 * What `pnpm testbed capture` records for the lvmthin plugin: reports and error cases of the
 * LVM tools, with the command lines Proxmox's LVM-thin plugin uses.
 *
 * @module
 */
import { holdDevice, releaseDevice, sh, type CaptureCase } from './case.js';

const VG = 'stowage';
const POOL = 'data';

/** `lvs` with the exact flags and fields of Proxmox's LVM plugin (`lvm_list_volumes`). */
export const LVS_REPORT = [
  'lvs',
  '--separator', ':',
  '--noheadings',
  '--units', 'b',
  '--unbuffered',
  '--nosuffix',
  '--config', 'report/time_format="%s"',
  '--options', 'vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,metadata_size,time,origin',
];

/** `vgs` with the flags and fields of Proxmox's LVM plugin (`lvm_vgs`). */
export const VGS_REPORT = [
  'vgs',
  '--separator', ':',
  '--noheadings',
  '--units', 'b',
  '--unbuffered',
  '--nosuffix',
  '--options', 'vg_name,vg_size,vg_free,lv_count',
];

const thinLv = (name: string, kib: number, pool = POOL): string[] => ['lvcreate', '-aly', '-V', `${kib}k`, '--name', name, '--thinpool', `${VG}/${pool}`];

/** The lvmthin capture cases, run in order on fresh pools (later cases use earlier setup). */
export const LVM_CASES: readonly CaptureCase[] = [
  {
    file: 'lvs-report.json',
    about: 'lvs over all VGs and over VG stowage: a thin pool, a thin LV with a tag and data, a base (read-only, activation skip, inactive), a linked clone of it, and a thin snapshot',
    setup: [
      thinLv('vm-100-disk-0', 1048576),
      ['lvchange', '--setautoactivation', 'n', `${VG}/vm-100-disk-0`],
      ['lvchange', '--addtag', 'pve-vm-100', `${VG}/vm-100-disk-0`],
      ['dd', 'if=/dev/urandom', `of=/dev/${VG}/vm-100-disk-0`, 'bs=1M', 'count=16', 'oflag=direct', 'status=none'],
      thinLv('vm-101-disk-0', 2097152),
      ['lvrename', VG, 'vm-101-disk-0', 'base-101-disk-0'],
      ['lvchange', '-pr', '-ky', `${VG}/base-101-disk-0`],
      ['lvchange', '-an', `${VG}/base-101-disk-0`],
      ['lvcreate', '-n', 'vm-102-disk-0', '-prw', '-kn', '-s', `${VG}/base-101-disk-0`],
      ['lvcreate', '-n', 'snap_vm-100-disk-0_before', '-pr', '-s', `${VG}/vm-100-disk-0`],
    ],
    commands: [LVS_REPORT, [...LVS_REPORT, VG]],
  },
  {
    file: 'vgs-report.json',
    about: 'vgs over all VGs and over VG stowage',
    commands: [VGS_REPORT, [...VGS_REPORT, VG]],
  },
  {
    file: 'lvs-missing-vg.json',
    about: 'lvs and vgs naming a volume group that does not exist',
    commands: [
      [...LVS_REPORT, 'nosuchvg'],
      [...VGS_REPORT, 'nosuchvg'],
    ],
  },
  {
    file: 'lvs-size.json',
    about: 'the size of one LV by device path, and of a missing one',
    commands: [
      ['lvs', '--separator', ':', '--noheadings', '--units', 'b', '--unbuffered', '--nosuffix', '--options', 'lv_size', `/dev/${VG}/vm-100-disk-0`],
      ['lvs', '--separator', ':', '--noheadings', '--units', 'b', '--unbuffered', '--nosuffix', '--options', 'lv_size', `/dev/${VG}/vm-999-disk-0`],
    ],
  },
  {
    file: 'lvcreate-exists.json',
    about: 'lvcreate of a thin LV whose name is taken',
    commands: [thinLv('vm-100-disk-0', 1048576)],
  },
  {
    file: 'lvcreate-missing-vg.json',
    about: 'lvcreate of a thin LV in a volume group that does not exist',
    commands: [['lvcreate', '-aly', '-V', '1048576k', '--name', 'vm-100-disk-0', '--thinpool', 'nosuchvg/data']],
  },
  {
    file: 'lvcreate-missing-pool.json',
    about: 'lvcreate of a thin LV in a thin pool that does not exist',
    commands: [thinLv('vm-105-disk-0', 1048576, 'nosuchpool')],
  },
  {
    file: 'lvcreate-pool-full.json',
    about: 'a full 8 MiB thin pool (error when full): lvcreate of a new thin LV in it, then lvs of the pool',
    setup: [
      ['lvcreate', '-q', '--type', 'thin-pool', '-L', '8M', '-n', 'tiny', VG],
      ['lvchange', '--errorwhenfull', 'y', `${VG}/tiny`],
      thinLv('filler', 65536, 'tiny'),
      sh(`dd if=/dev/urandom of=/dev/${VG}/filler bs=1M count=16 oflag=direct status=none 2>/dev/null; true`),
    ],
    commands: [thinLv('vm-105-disk-0', 1048576, 'tiny'), [...LVS_REPORT, `${VG}/tiny`]],
    cleanup: [['lvremove', '-f', `${VG}/filler`, `${VG}/tiny`]],
  },
  {
    file: 'lvcreate-vg-full.json',
    about: 'lvcreate of a thin pool larger than the free space of the volume group',
    commands: [['lvcreate', '--type', 'thin-pool', '-L', '100G', '-n', 'big', VG]],
  },
  {
    file: 'lvcreate-snapshot-exists.json',
    about: 'lvcreate of a thin snapshot whose name is taken',
    commands: [['lvcreate', '-n', 'snap_vm-100-disk-0_before', '-pr', '-s', `${VG}/vm-100-disk-0`]],
  },
  {
    file: 'lvremove-missing.json',
    about: 'lvremove -f of an LV that does not exist',
    commands: [['lvremove', '-f', `${VG}/vm-999-disk-0`]],
  },
  {
    file: 'lvremove-busy.json',
    about: 'lvremove -f of a thin LV that a process holds open',
    setup: [holdDevice(`/dev/${VG}/vm-102-disk-0`, 'lvremove-busy')],
    commands: [['lvremove', '-f', `${VG}/vm-102-disk-0`]],
    cleanup: [releaseDevice('lvremove-busy')],
  },
  {
    file: 'lvrename-exists.json',
    about: 'lvrename onto a name that is taken',
    commands: [['lvrename', VG, 'vm-100-disk-0', 'vm-102-disk-0']],
  },
  {
    file: 'lvrename-missing.json',
    about: 'lvrename of an LV that does not exist',
    commands: [['lvrename', VG, 'vm-999-disk-0', 'vm-998-disk-0']],
  },
  {
    file: 'lvextend-smaller.json',
    about: 'lvextend to a size smaller than the current one',
    commands: [['lvextend', '-L', '524288k', `/dev/${VG}/vm-100-disk-0`]],
  },
];
