/**
 * The config of a `zfspool` storage: its type. The schema that validates it is in
 * `config-schema.ts`, loaded only when a config is validated, so that a command that reads a
 * configuration validated before loads no zod.
 *
 * @module
 */
export type { ZfsPoolConfig } from './config-schema.js';
