/**
 * Config schema and capabilities of the `memory` reference plugin.
 *
 * @module
 */
import { z } from 'zod';
import type { PluginCapabilities, VolumeAttribute } from '../../capabilities.js';
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

/**
 * What a memory plugin variant can do; everything is on for the `memory` plugin itself.
 *
 * @example
 * ```ts
 * const zfsLike: MemoryBehaviour = { rollbackAnySnapshot: false, cloneFromSnapshot: false, shrink: false };
 * ```
 */
export interface MemoryBehaviour {
  /**
   * Any snapshot can be rolled back to; when `false`, only the newest (ZFS-like), and older ones
   * report the newer snapshots as blockers.
   * @default true
   */
  readonly rollbackAnySnapshot?: boolean;
  /**
   * A volume can be cloned from one of its snapshots, not only from a base.
   * @default true
   */
  readonly cloneFromSnapshot?: boolean;
  /**
   * A volume can be made smaller; when `false`, shrinking fails with `CANNOT_SHRINK`.
   * @default true
   */
  readonly shrink?: boolean;
  /**
   * The volume attributes kept.
   * @default ['notes', 'protected']
   */
  readonly attributes?: readonly VolumeAttribute[];
  /**
   * Declares `capabilities.exclusiveCreate` (its store refuses every taken name); when `false`,
   * the manager lists the storage under the lock before each create that needs a free name.
   * @default true
   */
  readonly exclusiveCreate?: boolean;
}

/**
 * The capabilities of a memory plugin with the given behaviour: raw images only, ZFS-like
 * feature matrix, `raw+size` export and import.
 *
 * @param behaviour - which optional behaviours are on
 * @returns capabilities as data
 */
export function memoryCapabilities(behaviour: MemoryBehaviour = {}): PluginCapabilities {
  const fromSnapshot = behaviour.cloneFromSnapshot ?? true;
  return {
    content: ['images'],
    defaultContent: ['images'],
    formats: ['raw'],
    defaultFormat: 'raw',
    shared: false,
    features: {
      snapshot: { current: ['raw'], snap: ['raw'] },
      clone: fromSnapshot ? { base: ['raw'], snap: ['raw'] } : { base: ['raw'] },
      template: { current: ['raw'] },
      copy: { base: ['raw'], current: ['raw'], snap: ['raw'] },
      sparseinit: { base: ['raw'], current: ['raw'] },
      rename: { current: ['raw'] },
    },
    exportFormats: ['raw+size'],
    importFormats: ['raw+size'],
    rollbackAnySnapshot: behaviour.rollbackAnySnapshot ?? true,
    cloneFromSnapshot: fromSnapshot,
    attributes: behaviour.attributes ?? ['notes', 'protected'],
    shrink: behaviour.shrink ?? true,
    exclusiveCreate: behaviour.exclusiveCreate ?? true,
  };
}
