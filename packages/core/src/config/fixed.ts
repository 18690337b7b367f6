/**
 * Fixed options: set when a storage is added, never changed afterwards. Kept apart from the
 * option schemas so that the manager can read the marks without building (or loading) zod.
 *
 * @module
 */
import type { z } from 'zod';

/** The key under which {@link fixedOption} marks an option in zod's metadata. */
export const FIXED_META_KEY = 'stowageFixed';

/**
 * Marks an option as fixed: set when the storage is added, never changed or removed afterwards
 * (Proxmox's `fixed`). The manager enforces it on every update.
 *
 * @param schema - the option's schema
 * @example
 * ```ts
 * const schema = baseStorageConfigSchema.extend({ type: z.literal('dir'), path: fixedOption(z.string()) });
 * ```
 */
export function fixedOption<T extends z.ZodType>(schema: T): T {
  return schema.meta({ [FIXED_META_KEY]: true }) as T;
}

/**
 * Lists the fixed options of an object schema (those made with {@link fixedOption}).
 *
 * @param schema - a storage config schema
 */
export function fixedKeys(schema: z.ZodObject): string[] {
  return Object.entries(schema.shape)
    .filter(([, s]) => (s as z.ZodType).meta()?.[FIXED_META_KEY] === true)
    .map(([k]) => k);
}
