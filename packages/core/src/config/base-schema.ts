/**
 * The options every storage has. Each plugin's schema extends this one.
 *
 * @module
 */
import { z } from 'zod';
import { isValidStoreId } from '../volume-id.js';
import { boolOption, contentOption, listOption, nodeNameSchema } from './options.js';

/**
 * The base storage config schema: `type`, `storage` (the id), `content`, `nodes`, `shared`,
 * `disable`. It is strict: an unknown key is an error (`CONFIG_INVALID`).
 *
 * @example
 * ```ts
 * export const dirConfigSchema = baseStorageConfigSchema.extend({
 *   type: z.literal('dir'),
 *   path: fixedOption(z.string().regex(/^\/[-/a-zA-Z0-9_.@]+$/)),
 * });
 * ```
 */
export const baseStorageConfigSchema = z.strictObject({
  /** The plugin type id, e.g. `dir`. */
  type: z.string().min(1),
  /** The storage id. */
  storage: z.string().refine(isValidStoreId, 'invalid storage id'),
  /** The content types this storage holds; the plugin's default when omitted. */
  content: contentOption.optional(),
  /** The nodes that may use this storage; all when omitted. */
  nodes: listOption(nodeNameSchema).optional(),
  /** `true` when all nodes see the same volumes. */
  shared: boolOption.optional(),
  /** `true` to disable the storage. */
  disable: boolOption.optional(),
});

/** A validated storage config: the base options plus any plugin options. */
export type StorageConfig = z.infer<typeof baseStorageConfigSchema> & Record<string, unknown>;

export type { StorageConfigSchema } from './schema-source.js';
