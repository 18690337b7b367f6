/**
 * Variants of the `memory` plugin with fewer capabilities, so that both sides of every
 * capability (and the conformance kit's refusal checks) can be exercised.
 *
 * @module
 */
import type { PluginCapabilities } from '../../capabilities.js';
import { memoryCapabilities, type MemoryBehaviour } from './capabilities.js';
import { memoryConfigSchemaFor } from './config.js';
import { MemoryPlugin } from './memory-plugin.js';

/**
 * Options of {@link defineMemoryPlugin}.
 *
 * @example
 * ```ts
 * const options: MemoryPluginOptions = { type: 'memorynotes', attributes: ['notes'] };
 * ```
 */
export interface MemoryPluginOptions extends MemoryBehaviour {
  /** The type id of the variant: lowercase letters and digits, e.g. `memorystrict`. */
  readonly type: string;
}

/**
 * Makes a memory plugin class with its own type id and behaviour, e.g. one that, like ZFS, rolls
 * back only to the newest snapshot, clones only from bases and cannot shrink.
 *
 * @param options - the type id and which optional behaviours are on
 * @returns a subclass of {@link MemoryPlugin} to pass to `StorageManager.open({ plugins })`
 * @example
 * ```ts
 * const ZfsLikeMemory = defineMemoryPlugin({ type: 'memoryzfs', rollbackAnySnapshot: false, cloneFromSnapshot: false, shrink: false });
 * ```
 */
export function defineMemoryPlugin(options: MemoryPluginOptions): typeof MemoryPlugin {
  const { type, ...behaviour } = options;
  return class extends MemoryPlugin {
    static override readonly type: string = type;
    static override readonly configSchema = memoryConfigSchemaFor(type);
    static override readonly capabilities: PluginCapabilities = memoryCapabilities(behaviour);
  };
}
