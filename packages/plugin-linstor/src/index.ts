/**
 * `@stowage/plugin-linstor`: DRBD-replicated volumes through the LINSTOR controller's REST API,
 * with templates and clones.
 *
 * @packageDocumentation
 */
export { LinstorPlugin } from './linstor-plugin.js';
export { LINSTOR_NAME_RE, type LinstorConfig } from './config.js';
export { linstorCapabilities } from './capabilities.js';
export { parseLinstorVolname, formatLinstorVolname } from './names.js';
