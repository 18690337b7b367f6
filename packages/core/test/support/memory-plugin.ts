/** The memory reference plugin for core's own tests; it lives in src/testing/memory and ships in @stowage/core/testing. */
export { defineMemoryPlugin, MemoryPlugin, MemoryRunner, MemoryStore } from '../../src/testing/memory/index.js';
