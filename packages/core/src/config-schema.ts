/**
 * `@stowage/core/config`: the zod building blocks of a plugin's config schema: the base schema
 * every plugin's extends, options that read the same from an object and from `storage.cfg`, and
 * fixed options. Apart from `@stowage/core/plugin` so that a plugin's runtime modules load no zod:
 * a plugin keeps its schema in a module of its own (`config-schema.ts`) that imports this one,
 * and gives `configSchema` as a loader of that module.
 *
 * @example
 * ```ts
 * // config-schema.ts
 * import { baseStorageConfigSchema, fixedOption } from '@stowage/core/config';
 * import { z } from 'zod';
 * export const xfsConfigSchema = baseStorageConfigSchema.extend({ type: z.literal('xfs'), path: fixedOption(z.string()) });
 *
 * // xfs-plugin.ts
 * static override readonly configSchema = async () => (await import('./config-schema.js')).xfsConfigSchema;
 * ```
 *
 * @module config
 */
export { baseStorageConfigSchema, type StorageConfig, type StorageConfigSchema } from './config/base-schema.js';
export {
  boolOption,
  contentOption,
  contentTypeSchema,
  type ContentTypeValues,
  FIXED_META_KEY,
  fixedKeys,
  fixedOption,
  intOption,
  listOption,
  nodeNameSchema,
} from './config/options.js';
