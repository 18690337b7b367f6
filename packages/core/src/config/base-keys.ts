/**
 * The keys of the base storage config schema, as plain data: modules that only need the names
 * (the plugin registry) read them here without building any zod schema.
 *
 * @module
 */

/** The options every storage has, in the order of `baseStorageConfigSchema`'s shape. */
export const BASE_CONFIG_KEYS: readonly string[] = ['type', 'storage', 'content', 'nodes', 'shared', 'disable'];
