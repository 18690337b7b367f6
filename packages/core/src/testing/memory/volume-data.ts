/**
 * The conformance kit's data hook for the `memory` plugin: writes straight into the
 * {@link MemoryStore}, the way a guest writes its disk, beside the plugin.
 *
 * @module
 */
import type { KitVolumeData } from '../options.js';
import type { MemoryStore } from './store.js';

const PREFIX = 'memory://';

/**
 * A {@link KitVolumeData} for the `memory` plugin: each fill is written into the store at the
 * volume's `memory://<pool>/<name>` path.
 *
 * @param store - the store the suite's runner works on (`runner.store`)
 * @returns the hook for `setup`'s `volumeData`
 * @example
 * ```ts
 * const runner = new MemoryRunner();
 * describeStoragePlugin({
 *   name: 'memory',
 *   plugin: MemoryPlugin,
 *   setup: () => ({ config: { type: 'memory', storage: 'kit' }, runner, volumeData: memoryVolumeData(runner.store) }),
 * });
 * ```
 */
export function memoryVolumeData(store: MemoryStore): KitVolumeData {
  return {
    fill: async ({ path, offset, length, byte }) => {
      const slash = path.lastIndexOf('/');
      if (!path.startsWith(PREFIX) || slash < PREFIX.length || path.includes('@')) throw new Error(`not the path of a memory volume: ${path}`);
      store.writeAt(path.slice(PREFIX.length, slash), path.slice(slash + 1), offset, Buffer.alloc(length, byte));
    },
  };
}
