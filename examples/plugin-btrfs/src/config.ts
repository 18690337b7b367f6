/**
 * The config of a `btrfs` storage, as the plugin's runtime modules use it. The schema that
 * validates it is in `config-schema.ts`, which loads zod; this module imports only its type, so
 * that importing the plugin loads no zod (the manager loads the schema when it validates a
 * config). Zod-free helpers of the config belong here; one the schema needs goes in a module of
 * its own that both import (`config-schema.ts` must not import this module, which imports it).
 *
 * @module
 */
export type { BtrfsConfig } from './config-schema.js';
