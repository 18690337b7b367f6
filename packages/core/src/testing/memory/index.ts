/**
 * The `memory` reference plugin and its in-process storage tool.
 *
 * @module
 */
export { MEMORY_TOOL } from './commands.js';
export { memoryCapabilities, memoryConfigSchema, memoryConfigSchemaFor, memoryPool, type MemoryBehaviour, type MemoryConfig } from './config.js';
export { parseMemoryVolname } from './names.js';
export { MemoryPlugin, type MemoryListedVolume } from './plugin.js';
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
