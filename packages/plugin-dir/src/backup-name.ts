/**
 * What a backup's file name says: the kind of guest, and for a standard vzdump name the guest
 * and the time the backup was started. Pure.
 *
 * @module
 */
import type { BackupSubtype } from '@stowage/core';

/** What {@link parseBackupName} reads from a backup's name. */
export interface BackupName {
  /** `qemu`, `lxc` or `openvz` for a `vzdump-<type>-…` name, else `unknown`. */
  readonly subtype: BackupSubtype;
  /**
   * For a standard name (`vzdump-<type>-<vmid>-YYYY_MM_DD-hh_mm_ss.<ext>`): the time in it, in
   * seconds since the epoch, read as local time (vzdump writes it in the node's local time).
   */
  readonly ctime: number | undefined;
}

const ARCHIVE_RE = /^vzdump-(lxc|openvz|qemu)-.+\.(tgz|(?:tar|vma)(?:\.(?:gz|lzo|zst|bz2))?)$/;

/** Days in a month of a year (month 1..12). */
function daysIn(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}

/**
 * Reads a backup's file name as Proxmox's `archive_info` does. A standard name whose date is
 * not a real one (month 13, February 30th, ...) makes `archive_info` fail as a whole, so
 * Proxmox reports such a backup with subtype `unknown` and the file's own ctime: so does this.
 *
 * @param name - the file name (no directory)
 * @example
 * ```ts
 * parseBackupName('vzdump-lxc-16112-2020_03_30-21_39_30.tar.lzo'); // { subtype: 'lxc', ctime: 1585604370 } (with TZ=UTC)
 * parseBackupName('my-backup.vma'); // { subtype: 'unknown', ctime: undefined }
 * ```
 * @see Proxmox `PVE::Storage::archive_info`
 */
export function parseBackupName(name: string): BackupName {
  const m = ARCHIVE_RE.exec(name);
  if (!m) return { subtype: 'unknown', ctime: undefined };
  const type = m[1] as BackupSubtype;
  const ext = m[2] ?? '';
  const std = new RegExp(`^vzdump-${type}-[1-9][0-9]{2,8}-(\\d{4})_(\\d{2})_(\\d{2})-(\\d{2})_(\\d{2})_(\\d{2})\\.${ext.replaceAll('.', '\\.')}$`).exec(name);
  if (!std) return { subtype: type, ctime: undefined };
  const [year, month, day, hour, minute, second] = std.slice(1).map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > daysIn(year, month) || hour > 23 || minute > 59 || second > 59) {
    return { subtype: 'unknown', ctime: undefined };
  }
  const at = new Date(year, month - 1, day, hour, minute, second);
  at.setFullYear(year); // years 0..99 are not shifted to the 1900s
  return { subtype: type, ctime: Math.floor(at.getTime() / 1000) };
}
