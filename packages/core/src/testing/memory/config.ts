/**
 * The config schema of the `memory` reference plugin, and the pool its volumes live in.
 *
 * @module
 */
import { z } from 'zod';
import { baseStorageConfigSchema, type StorageConfig } from '../../config/base-schema.js';
import { fixedOption } from '../../config/options.js';
import type { PluginContext } from '../../plugin-types.js';

/**
 * Makes the config schema of a memory plugin type: the base options plus `pool`, the namespace
 * in the {@link MemoryStore} (fixed; the storage id when omitted).
 *
 * @param type - the plugin's type id
 * @returns a strict object schema extending `baseStorageConfigSchema`
 */
export function memoryConfigSchemaFor(type: string) {
  return baseStorageConfigSchema.extend({
    type: z.literal(type),
    pool: fixedOption(z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, 'invalid pool name').optional()),
  });
}

/** The config schema of the `memory` plugin. */
export const memoryConfigSchema = memoryConfigSchemaFor('memory');

/** A validated memory storage config. */
export type MemoryConfig = StorageConfig & { readonly pool?: string | undefined };

/** The property that marks a volume being imported; its value is the importer's owner token. */
export const INCOMPLETE_PROP = 'stowage-incomplete';

/** The pool a storage uses: its `pool` option, else its storage id. */
export function memoryPool(ctx: PluginContext<MemoryConfig>): string {
  return ctx.config.pool ?? ctx.storeId;
}
