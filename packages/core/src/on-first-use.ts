/**
 * Node's built-in modules that take time to load (`node:stream` builds the whole streams
 * machinery, and `node:crypto` loads it too), required synchronously on first use instead of
 * when the core is imported: a program that imports the core and never hashes or streams does
 * not load them.
 *
 * @module
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `node:crypto`, loaded on the first call. */
export function nodeCrypto(): typeof import('node:crypto') {
  return require('node:crypto') as typeof import('node:crypto');
}

/** `node:stream`, loaded on the first call. */
export function nodeStream(): typeof import('node:stream') {
  return require('node:stream') as typeof import('node:stream');
}
