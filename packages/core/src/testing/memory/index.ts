/**
 * The `memory` reference plugin and its in-process storage tool.
 *
 * @module
 */
export { MEMORY_TOOL } from './commands.js';
export { memoryCapabilities, type MemoryBehaviour } from './capabilities.js';
export { memoryConfigSchema, memoryConfigSchemaFor, memoryPool, type MemoryConfig } from './config.js';
export { parseMemoryVolname } from './names.js';
export { MemoryPlugin } from './memory-plugin.js';
export { MemoryRunner, type MemoryRunnerOptions } from './runner.js';
export {
  MemoryStore,
  MemoryToolError,
  type MemorySnapshotRecord,
  type MemoryStoreOptions,
  type MemoryUsage,
  type MemoryVolumeRecord,
} from './store.js';
export { defineMemoryPlugin, type MemoryPluginOptions } from './variant.js';
export { memoryVolumeData } from './volume-data.js';
