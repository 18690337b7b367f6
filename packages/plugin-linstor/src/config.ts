/**
 * The config of a `linstor` storage: its type, and the zod-free name rule the plugin shares with
 * its schema. The schema that validates it is in `config-schema.ts`, loaded only when a config is
 * validated, so that a command that reads a configuration validated before loads no zod.
 *
 * @module
 */
export type { LinstorConfig } from './config-schema.js';

export { LINSTOR_NAME_RE } from './config-options.js';
