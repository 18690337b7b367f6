/**
 * A plugin's config schema, given as the schema or as a function that loads it. A plugin whose
 * schema is loaded on demand costs a command that only reads nothing for zod: the manager loads
 * the schema when it validates a section it has not validated before (see `ConfigMemo`), when
 * it changes the configuration, and when it checks config objects.
 *
 * Imports zod's types only.
 *
 * @module
 */
import type { z } from 'zod';
import { BASE_CONFIG_KEYS } from './base-keys.js';
import { StorageError } from '../errors.js';

/** The schema type a plugin's `configSchema` must have: an object schema extending the base one. */
export type StorageConfigSchema = z.ZodObject;

/** A function that loads a plugin's schema, typically `async () => (await import('./config-schema.js')).mySchema`. */
export type ConfigSchemaLoader = () => Promise<StorageConfigSchema>;

/** What a plugin class gives as its `configSchema`: the schema itself, or a loader of it. */
export type ConfigSchemaSource = StorageConfigSchema | ConfigSchemaLoader;

/** What each loader gave, or is giving (two classes may share a loader). */
const loads = new WeakMap<ConfigSchemaLoader, Promise<StorageConfigSchema>>();
/** Each class's loaded schema, once checked for that class. */
const loadedBy = new WeakMap<object, StorageConfigSchema>();

/** How a schema came to be checked: given to `register()`, or given back by the plugin's loader. */
type SchemaArrival = 'registered' | 'loaded';

function invalid(type: string, why: string, arrival: SchemaArrival): never {
  const what = arrival === 'loaded' ? `the config schema that plugin '${type}' loaded cannot be used` : `cannot register plugin '${type}'`;
  throw new StorageError('INVALID_ARGUMENT', `${what}: ${why}`, { details: { type, reason: why } });
}

/**
 * A zod object schema, told by its shape rather than by `instanceof`: the core does not import
 * zod for this (the plugins bring it).
 */
function isObjectSchema(schema: unknown): schema is z.ZodObject {
  if (typeof schema !== 'object' || schema === null) return false;
  const s = schema as { safeParse?: unknown; shape?: unknown; _zod?: { def?: { type?: unknown } } };
  return typeof s.safeParse === 'function' && typeof s.shape === 'object' && s.shape !== null && s._zod?.def?.type === 'object';
}

/**
 * Checks that a schema can be a plugin's: a zod object schema with the base keys, whose `type`
 * accepts the plugin's type.
 *
 * @param type - the plugin's type
 * @param schema - its schema
 * @param arrival - how it came: given to `register()` (the default), or given back by the
 *   plugin's loader; the message says which
 * @throws {@link StorageError} `INVALID_ARGUMENT` naming what is wrong
 */
export function checkConfigSchema(type: string, schema: unknown, arrival: SchemaArrival = 'registered'): asserts schema is StorageConfigSchema {
  if (!isObjectSchema(schema)) invalid(type, 'configSchema is not a zod object schema (nor a function that loads one)', arrival);
  const shape = schema.shape;
  const missing = BASE_CONFIG_KEYS.filter((k) => !(k in shape));
  if (missing.length > 0) invalid(type, `configSchema lacks the base keys ${missing.join(', ')} (extend baseStorageConfigSchema)`, arrival);
  const typeKey = shape['type'] as z.ZodType;
  if (!typeKey.safeParse(type).success) invalid(type, `configSchema's 'type' does not accept '${type}'`, arrival);
}

/**
 * The plugin's schema when it is at hand: given as the schema, or given as a loader that
 * {@link loadConfigSchema} has run.
 *
 * @param cls - the plugin class
 * @returns the schema, or `undefined` while a loader has not run
 */
export function loadedConfigSchema(cls: { readonly type: string; readonly configSchema: ConfigSchemaSource }): StorageConfigSchema | undefined {
  const source = cls.configSchema;
  return typeof source === 'function' ? loadedBy.get(cls) : source;
}

/**
 * The plugin's schema, loading it the first time (a loader runs once; its schema is checked
 * as `register()` checks a schema given directly).
 *
 * @param cls - the plugin class
 * @returns the schema
 * @throws {@link StorageError} `INVALID_ARGUMENT` when the loaded schema cannot be a plugin's;
 *   what the loader throws
 * @example
 * ```ts
 * const schema = await loadConfigSchema(DirPlugin);
 * schema.shape.path; // the `path` option's schema
 * ```
 */
export async function loadConfigSchema(cls: { readonly type: string; readonly configSchema: ConfigSchemaSource }): Promise<StorageConfigSchema> {
  const source = cls.configSchema;
  if (typeof source !== 'function') return source;
  const done = loadedBy.get(cls);
  if (done !== undefined) return done;
  let pending = loads.get(source);
  if (pending === undefined) {
    pending = source();
    loads.set(source, pending);
    pending.catch(() => loads.delete(source)); // a failed load is tried again next time
  }
  const schema = await pending;
  checkConfigSchema(cls.type, schema, 'loaded');
  loadedBy.set(cls, schema);
  return schema;
}

/**
 * The plugin's schema, which must be at hand: the synchronous functions that validate configs
 * use it.
 *
 * @param cls - the plugin class
 * @returns the schema
 * @throws {@link StorageError} `INVALID_ARGUMENT` when the class gives a loader that has not run
 *   (call {@link loadConfigSchema} first)
 */
export function configSchemaOf(cls: { readonly type: string; readonly configSchema: ConfigSchemaSource }): StorageConfigSchema {
  const schema = loadedConfigSchema(cls);
  if (schema === undefined) {
    throw new StorageError('INVALID_ARGUMENT', `the config schema of storage type '${cls.type}' is not loaded yet: await loadConfigSchema() first`, {
      details: { type: cls.type },
    });
  }
  return schema;
}
