/**
 * The values of a `linstor` config that its schema uses and the plugin shares: zod-free, so that
 * the plugin's runtime modules use them too (through `config.ts`) without loading zod.
 *
 * @module
 */

/** LINSTOR's rule for resource, group and snapshot names: 2–48 bytes, `[A-Za-z_]` first, then `[A-Za-z0-9_-]`, one letter at least. */
export const LINSTOR_NAME_RE = /^(?=.*[A-Za-z])[A-Za-z_][A-Za-z0-9_-]{1,47}$/;
