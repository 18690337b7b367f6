/**
 * `@stowage/core/testing`: the conformance kit that every storage plugin runs, and the `memory`
 * reference plugin.
 *
 * @packageDocumentation
 */
export * from './memory/index.js';
