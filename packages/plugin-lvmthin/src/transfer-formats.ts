/**
 * Which stream formats an `lvmthin` transfer can use, by what it carries. Pure.
 *
 * @module
 */
import type { StreamFormat } from '@stowage/core';
import type { TransferFormatsRequest } from '@stowage/core/plugin';

/**
 * Export formats, best first: a volume's (or a snapshot's) current state as `raw+size`; a
 * snapshot also as `lvmthin-delta` (every mapped range, so what was never written does not
 * travel), and an increment between two snapshots only as `lvmthin-delta`. Nothing carries all
 * of a volume's snapshots at once.
 *
 * @param request - the volume and what the transfer carries
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_export_formats` (`raw+size` only)
 */
export function exportFormats(request: TransferFormatsRequest): StreamFormat[] {
  if (request.withSnapshots === true) return [];
  if (request.snapshot === undefined) return request.baseSnapshot === undefined ? ['raw+size'] : [];
  if (request.volume.isBase) return [];
  return request.baseSnapshot === undefined ? ['lvmthin-delta', 'raw+size'] : ['lvmthin-delta'];
}

/**
 * Import formats: `raw+size` into a new volume; `lvmthin-delta` when the import ends in a
 * snapshot (`snapshot`) or applies an increment (`baseSnapshot`).
 *
 * @param request - the target volume and what the transfer carries
 * @see Proxmox `PVE::Storage::LvmThinPlugin::volume_import_formats` (`raw+size` only)
 */
export function importFormats(request: TransferFormatsRequest): StreamFormat[] {
  if (request.withSnapshots === true) return [];
  if (request.snapshot === undefined && request.baseSnapshot === undefined) return ['raw+size'];
  return request.volume.isBase ? [] : ['lvmthin-delta'];
}
