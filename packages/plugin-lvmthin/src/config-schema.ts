/**
 * The zod schema of a `lvmthin` storage's config (`@stowage/plugin-lvmthin/config-schema`). The plugin
 * class gives it as a loader of this module, so zod is loaded only when a config is validated.
 *
 * @module
 */
import { baseStorageConfigSchema, boolOption, fixedOption } from '@stowage/core/config';
import { z } from 'zod';

/**
 * An LVM name as the tools accept it for a volume group or a logical volume: letters, digits and
 * `+_.-`, not starting with `-`, not `.` or `..`, at most 127 characters.
 */
export const lvmNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9+_.][A-Za-z0-9+_.-]{0,126}$/, 'invalid LVM name')
  .refine((s) => s !== '.' && s !== '..', 'invalid LVM name');

/**
 * The schema of an `lvmthin` storage: the base options plus the volume group and the thin pool,
 * both fixed once the storage exists. A thin pool is local to one node, so `shared` may only be
 * left out or `false`. Raw is the only image format.
 *
 * @example
 * ```ts
 * lvmThinConfigSchema.parse({ type: 'lvmthin', storage: 'thin', vgname: 'pve', thinpool: 'data' });
 * ```
 * @see Proxmox `PVE::Storage::LvmThinPlugin::options`
 */
export const lvmThinConfigSchema = baseStorageConfigSchema.extend({
  /** The storage type id. */
  type: z.literal('lvmthin'),
  /** The volume group that holds the thin pool (fixed). */
  vgname: fixedOption(lvmNameSchema),
  /** The thin pool LV inside `vgname` (fixed). */
  thinpool: fixedOption(lvmNameSchema),
  /** Always local: `true` is refused. */
  shared: boolOption.refine((v) => !v, 'an lvmthin storage is local to one node and cannot be shared').optional(),
});

/** A validated `lvmthin` storage config. */
export type LvmThinConfig = z.infer<typeof lvmThinConfigSchema>;
