/**
 * Pure builders of the commands of `lvmthin-delta` transfers: the pool's metadata snapshot
 * (`dmsetup message`), `thin_delta` and `thin_dump` on it, and the two small `sh` loops that read
 * and write a list of byte ranges of a device with `dd` (one process per range, through one
 * command, so also over one ssh session). Each returns an argv, never a shell string.
 *
 * @module
 */
import type { DeltaRange } from './delta-frame.js';

/**
 * The device-mapper name of an LV: `<vg>-<lv>`, each `-` inside a name doubled (LVM's escaping).
 *
 * @param vg - the volume group
 * @param lv - the LV (or a sub-LV such as `pool_tmeta`)
 * @example
 * ```ts
 * dmName('pve', 'data_tmeta'); // 'pve-data_tmeta'
 * dmName('my-vg', 'thin-pool'); // 'my--vg-thin--pool'
 * ```
 */
export function dmName(vg: string, lv: string): string {
  return `${vg.replace(/-/g, '--')}-${lv.replace(/-/g, '--')}`;
}

/**
 * The thin pool's kernel device while a thin LV of it is active: `<vg>-<pool>-tpool`.
 *
 * @param vg - the volume group
 * @param pool - the thin pool
 */
export function tpoolDevice(vg: string, pool: string): string {
  return `${dmName(vg, pool)}-tpool`;
}

/**
 * The pool's metadata device, which the tools read: `/dev/mapper/<vg>-<pool>_tmeta`.
 *
 * @param vg - the volume group
 * @param pool - the thin pool
 */
export function tmetaPath(vg: string, pool: string): string {
  return `/dev/mapper/${dmName(vg, `${pool}_tmeta`)}`;
}

/**
 * `dmsetup message <vg>-<pool>-tpool 0 reserve_metadata_snap|release_metadata_snap`: takes (or
 * gives back) the pool's one metadata snapshot, a frozen copy of its mappings the tools can read
 * while the pool is in use.
 *
 * @param vg - the volume group
 * @param pool - the thin pool
 * @param message - reserve or release
 * @see the kernel's Documentation/admin-guide/device-mapper/thin-provisioning.rst
 */
export function metadataSnapArgs(vg: string, pool: string, message: 'reserve_metadata_snap' | 'release_metadata_snap'): string[] {
  return ['dmsetup', 'message', tpoolDevice(vg, pool), '0', message];
}

/**
 * `dmsetup status <vg>-<pool>-tpool`: the pool's status line (its held metadata root among it).
 *
 * @param vg - the volume group
 * @param pool - the thin pool
 */
export function tpoolStatusArgs(vg: string, pool: string): string[] {
  return ['dmsetup', 'status', tpoolDevice(vg, pool)];
}

/**
 * `thin_delta --metadata-snap --snap1 A --snap2 B <tmeta>`: how two thin devices' mappings
 * differ, read from the reserved metadata snapshot.
 *
 * @param vg - the volume group
 * @param pool - the thin pool
 * @param older - the older device's thin id (`lvs -o thin_id`)
 * @param newer - the newer device's thin id
 */
export function thinDeltaArgs(vg: string, pool: string, older: number, newer: number): string[] {
  return ['thin_delta', '--metadata-snap', '--snap1', String(older), '--snap2', String(newer), tmetaPath(vg, pool)];
}

/**
 * `thin_dump --metadata-snap --dev-id N <tmeta>`: the mappings of one thin device, read from the
 * reserved metadata snapshot.
 *
 * @param vg - the volume group
 * @param pool - the thin pool
 * @param devId - the device's thin id
 */
export function thinDumpArgs(vg: string, pool: string, devId: number): string[] {
  return ['thin_dump', '--metadata-snap', '--dev-id', String(devId), tmetaPath(vg, pool)];
}

/** Reads `<offset> <length>` lines and writes those bytes of the device, one after the other. */
const READ_SCRIPT = `dev=$1
while read -r off len; do
  dd if="$dev" bs=64k skip="$off" count="$len" iflag=skip_bytes,count_bytes,fullblock status=none || exit 1
done`;

/**
 * Reads `d <offset> <length>` lines, each followed by that many bytes, and `z <offset> <length>`
 * lines, and writes them into the device; then flushes it. Anything else stops it.
 */
const APPLY_SCRIPT = `dev=$1
while read -r kind off len; do
  case $kind in
    d) dd of="$dev" bs=64k seek="$off" count="$len" iflag=fullblock,count_bytes oflag=seek_bytes conv=notrunc status=none || exit 1 ;;
    z) dd if=/dev/zero of="$dev" bs=64k seek="$off" count="$len" iflag=count_bytes oflag=seek_bytes conv=notrunc status=none || exit 1 ;;
    *) echo "stowage-apply-ranges: bad line" >&2; exit 2 ;;
  esac
done
sync "$dev"`;

/**
 * `sh -c <script> stowage-read-ranges <device>`: writes the bytes of the ranges given on
 * standard input (see {@link readRangesInput}) to standard output, in order.
 *
 * @param device - the device path
 */
export function readRangesArgs(device: string): string[] {
  return ['sh', '-c', READ_SCRIPT, 'stowage-read-ranges', device];
}

/**
 * The standard input of {@link readRangesArgs}: one `<offset> <length>` line per data range.
 *
 * @param ranges - the ranges (zero ranges are skipped: nothing is read for them)
 */
export function readRangesInput(ranges: readonly DeltaRange[]): string {
  return ranges
    .filter((r) => r.kind === 'data')
    .map((r) => `${r.offset} ${r.length}\n`)
    .join('');
}

/**
 * `sh -c <script> stowage-apply-ranges <device>`: writes the ranges given on standard input (see
 * {@link applyRangeLine}) into the device, then flushes it (`sync <device>`).
 *
 * @param device - the device path
 */
export function applyRangesArgs(device: string): string[] {
  return ['sh', '-c', APPLY_SCRIPT, 'stowage-apply-ranges', device];
}

/**
 * The line that starts a range on the standard input of {@link applyRangesArgs}: `d` ranges are
 * followed by their bytes.
 *
 * @param range - the range
 */
export function applyRangeLine(range: DeltaRange): string {
  return `${range.kind === 'data' ? 'd' : 'z'} ${range.offset} ${range.length}\n`;
}
