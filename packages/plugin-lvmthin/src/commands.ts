/**
 * Pure builders of every command the `lvmthin` plugin runs. Each returns an argv array (program
 * first) that a `CommandRunner` passes on unchanged, locally or over ssh: never a shell string.
 *
 * Sizes handed to LVM are whole KiB (`<n>k`), rounded up from bytes, as Proxmox does; LVM then
 * rounds up to its extent size.
 *
 * @module
 */
/** The fields every `lvs` call reports, in this order. */
export const LVS_FIELDS = [
  'vg_name',
  'lv_name',
  'lv_attr',
  'lv_size',
  'pool_lv',
  'origin',
  'data_percent',
  'metadata_percent',
  'lv_metadata_size',
  'lv_time',
  'thin_id',
  'vg_extent_size',
  'lv_uuid',
  'lv_tags',
] as const;

/** The fields every `vgs` call reports, in this order. */
export const VGS_FIELDS = ['vg_name', 'vg_size', 'vg_free', 'lv_count'] as const;

/** Report options shared by `lvs` and `vgs`: JSON, sizes in bytes without a unit, times in epoch seconds. */
const REPORT_OPTIONS = ['--reportformat', 'json', '--units', 'b', '--nosuffix', '--config', 'report/time_format="%s"'];

/**
 * Rounds a byte count up to whole KiB, the unit LVM sizes are given in.
 *
 * @param bytes - a positive byte count
 */
export function toKiB(bytes: number): number {
  return Math.ceil(bytes / 1024);
}

/**
 * `lvs` over a whole volume group (or one LV of it), in JSON with sizes in bytes.
 *
 * @param vg - the volume group
 * @param lv - only this LV, when given
 * @example
 * ```ts
 * lvsArgs('pve'); // ['lvs', '--reportformat', 'json', ..., '-o', 'vg_name,lv_name,...', 'pve']
 * ```
 * @see Proxmox `PVE::Storage::LVMPlugin::lvm_list_volumes`
 */
export function lvsArgs(vg: string, lv?: string): string[] {
  return ['lvs', ...REPORT_OPTIONS, '-o', LVS_FIELDS.join(','), lv === undefined ? vg : `${vg}/${lv}`];
}

/**
 * `vgs` for one volume group, in JSON with sizes in bytes.
 *
 * @param vg - the volume group
 * @see Proxmox `PVE::Storage::LVMPlugin::lvm_vgs`
 */
export function vgsArgs(vg: string): string[] {
  return ['vgs', ...REPORT_OPTIONS, '-o', VGS_FIELDS.join(','), vg];
}

/** What {@link lvcreateThinArgs} creates. */
export interface ThinLvSpec {
  /** The volume group. */
  readonly vg: string;
  /** The thin pool in it. */
  readonly pool: string;
  /** The new LV's name. */
  readonly name: string;
  /** The virtual size in bytes (rounded up to KiB). */
  readonly size: number;
  /** Tags the LV gets in the same `lvcreate` (`--addtag`), e.g. the mark of an unfinished volume. */
  readonly tags?: readonly string[] | undefined;
}

/**
 * `lvcreate` of a new thin LV, activated now but flagged to skip activation otherwise (`-ky`,
 * activated here with `-K`), so that no boot-time or VG-wide activation brings it up behind our
 * back. This is what Proxmox gets from a second command, `lvchange --setautoactivation n`
 * (`lvcreate` refuses that option for thin LVs); one command keeps allocation as fast as the
 * bare `lvcreate`. Activation through the plugin uses `-K`, as Proxmox's does.
 *
 * @param spec - volume group, pool, name and size
 * @see Proxmox `PVE::Storage::LvmThinPlugin::alloc_image`
 */
export function lvcreateThinArgs(spec: ThinLvSpec): string[] {
  const tags = (spec.tags ?? []).flatMap((t) => ['--addtag', t]);
  return ['lvcreate', '-ay', '-ky', '-K', '-V', `${toKiB(spec.size)}k`, '--name', spec.name, ...tags, '--thinpool', `${spec.vg}/${spec.pool}`];
}

/** What {@link lvcreateSnapshotArgs} creates. */
export interface ThinSnapshotSpec {
  /** The volume group. */
  readonly vg: string;
  /** The LV to snapshot. */
  readonly origin: string;
  /** The new LV's name. */
  readonly name: string;
  /**
   * `true` for a writable LV, active now and flagged to skip activation otherwise like a new
   * volume (a linked clone, or the new state of a rolled-back volume); `false` for a read-only,
   * inactive snapshot (LVM's default for thin snapshots).
   */
  readonly writable: boolean;
  /** Tags the LV gets in the same `lvcreate` (`--addtag`), e.g. the mark of an unfinished volume. */
  readonly tags?: readonly string[] | undefined;
}

/**
 * `lvcreate -s` of a thin snapshot of a thin LV: a read-only snapshot, or (writable) a linked
 * clone or the new state of a rolled-back volume.
 *
 * @param spec - volume group, origin, name, writability
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_snapshot`, `clone_image`, `volume_snapshot_rollback`
 */
export function lvcreateSnapshotArgs(spec: ThinSnapshotSpec): string[] {
  const mode = spec.writable ? ['-prw', '-ky', '-K'] : ['-pr'];
  const tags = (spec.tags ?? []).flatMap((t) => ['--addtag', t]);
  return ['lvcreate', '-n', spec.name, ...mode, ...tags, '-s', `${spec.vg}/${spec.origin}`];
}

/**
 * `lvremove -f` of one or more LVs of a volume group, in the order given.
 *
 * @param vg - the volume group
 * @param lvs - the LVs to remove (at least one)
 * @see Proxmox `PVE::Storage::LvmThinPlugin::free_image`
 */
export function lvremoveArgs(vg: string, lvs: readonly string[]): string[] {
  if (lvs.length === 0) throw new TypeError('lvremoveArgs needs at least one LV');
  return ['lvremove', '-f', ...lvs.map((lv) => `${vg}/${lv}`)];
}

/**
 * `lvremove -f` of the one LV of a volume group that has this UUID, chosen by LVM's selection
 * (`-S lv_uuid=…`) in the same command that removes it: an LV that took the name meanwhile is
 * never removed. Nothing selected is no error.
 *
 * @param vg - the volume group
 * @param uuid - the LV's UUID, as `lvs` reports it
 */
export function lvremoveByUuidArgs(vg: string, uuid: string): string[] {
  if (!/^[A-Za-z0-9-]+$/.test(uuid)) throw new TypeError(`not an LV UUID: '${uuid}'`);
  return ['lvremove', '-f', '-S', `lv_uuid=${uuid}`, vg];
}

/**
 * `lvchange --deltag`: takes a tag off an LV.
 *
 * @param vg - the volume group
 * @param lv - the LV
 * @param tag - the tag
 */
export function lvchangeDeltagArgs(vg: string, lv: string, tag: string): string[] {
  return ['lvchange', '--deltag', tag, `${vg}/${lv}`];
}

/**
 * `lvchange --addtag`: puts a tag on an LV.
 *
 * @param vg - the volume group
 * @param lv - the LV
 * @param tag - the tag
 */
export function lvchangeAddtagArgs(vg: string, lv: string, tag: string): string[] {
  return ['lvchange', '--addtag', tag, `${vg}/${lv}`];
}

/**
 * `lvrename` of an LV inside its volume group.
 *
 * @param vg - the volume group
 * @param from - the current name
 * @param to - the new name
 * @see Proxmox `PVE::Storage::LVMPlugin::rename_volume`
 */
export function lvrenameArgs(vg: string, from: string, to: string): string[] {
  return ['lvrename', vg, from, to];
}

/**
 * `lvchange -ay -K`: activates an LV, also one flagged to skip activation (snapshots, bases).
 *
 * @param vg - the volume group
 * @param lv - the LV
 * @see Proxmox `PVE::Storage::LvmThinPlugin::activate_volume`
 */
export function lvchangeActivateArgs(vg: string, lv: string): string[] {
  return ['lvchange', '-ay', '-K', `${vg}/${lv}`];
}

/**
 * `lvchange -an`: deactivates an LV.
 *
 * @param vg - the volume group
 * @param lv - the LV
 * @see Proxmox `PVE::Storage::LvmThinPlugin::deactivate_volume`
 */
export function lvchangeDeactivateArgs(vg: string, lv: string): string[] {
  return ['lvchange', '-an', `${vg}/${lv}`];
}

/**
 * `lvchange -pr -ky`: makes an LV read-only and skipped by activation (a base).
 *
 * @param vg - the volume group
 * @param lv - the LV
 * @see Proxmox `PVE::Storage::LvmThinPlugin::create_base`
 */
export function lvchangeBaseArgs(vg: string, lv: string): string[] {
  return ['lvchange', '-pr', '-ky', `${vg}/${lv}`];
}

/**
 * `lvchange -prw`: makes an LV writable again (undoes {@link lvchangeBaseArgs}; the activation
 * skip flag stays, as every volume has it).
 *
 * @param vg - the volume group
 * @param lv - the LV
 */
export function lvchangeUnbaseArgs(vg: string, lv: string): string[] {
  return ['lvchange', '-prw', `${vg}/${lv}`];
}

/**
 * `lvextend -L`: grows an LV to a new size.
 *
 * @param vg - the volume group
 * @param lv - the LV
 * @param size - the new size in bytes (rounded up to KiB)
 * @see Proxmox `PVE::Storage::LVMPlugin::volume_resize`
 */
export function lvextendArgs(vg: string, lv: string, size: number): string[] {
  return ['lvextend', '-L', `${toKiB(size)}k`, `${vg}/${lv}`];
}

/**
 * `udevadm settle`: waits until udev has handled every queued event (device nodes created or
 * released), bounded by a timeout.
 *
 * @param timeoutSeconds - the bound
 */
export function udevadmSettleArgs(timeoutSeconds = 30): string[] {
  return ['udevadm', 'settle', `--timeout=${timeoutSeconds}`];
}

/**
 * `blockdev --getsize64`: the size of a block device in bytes.
 *
 * @param path - the device path
 */
export function blockdevSizeArgs(path: string): string[] {
  return ['blockdev', '--getsize64', path];
}

/**
 * `dd` reading a whole device to standard output in 64 KiB blocks.
 *
 * @param path - the device path
 * @see Proxmox `PVE::Storage::LVMPlugin::volume_export`
 */
export function ddReadArgs(path: string): string[] {
  return ['dd', `if=${path}`, 'bs=64k', 'status=none'];
}

/**
 * `dd` writing standard input to a device in 64 KiB blocks, skipping zero blocks (a fresh thin LV
 * already reads as zeros) and flushing before it exits.
 *
 * @param path - the device path
 * @see Proxmox `PVE::Storage::LVMPlugin::volume_import`
 */
export function ddWriteArgs(path: string): string[] {
  return ['dd', `of=${path}`, 'bs=64k', 'iflag=fullblock', 'conv=sparse,fsync', 'status=none'];
}
