/**
 * The config of a `linstor` storage: its type (and the zod-free values the plugin shares with
 * it). The schema that validates it is in `config-schema.ts`, loaded only when a config is
 * validated, so that a command that reads a configuration validated before loads no zod.
 *
 * @module
 */
export type { LinstorConfig } from './config-schema.js';

/** LINSTOR's rule for resource, group and snapshot names: 2–48 bytes, `[A-Za-z_]` first, then `[A-Za-z0-9_-]`, one letter at least. */
export const LINSTOR_NAME_RE = /^(?=.*[A-Za-z])[A-Za-z_][A-Za-z0-9_-]{1,47}$/;
