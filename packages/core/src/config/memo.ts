/**
 * Validated configs kept between runs: what lets a command that only reads skip loading the
 * plugins' schemas (and zod) when the configuration has not changed.
 *
 * @module
 */
import type { StorageConfig } from './base-schema.js';

/**
 * Validated configs recorded by an earlier validation, which the manager takes instead of
 * validating a section of the configuration again. A memo must answer only for a raw config
 * exactly like the one validated (same type, id, options and values as read from the file), and
 * only while the plugin code that validated it is the same: the memo is what decides that (the
 * command's keeps its records with the build stamps of the packages it was made from). The
 * manager checks everything that is not the schema's (the storage can be locked, ...) as always.
 *
 * @example
 * ```ts
 * const records = new Map<string, StorageConfig>();
 * const memo: ConfigMemo = {
 *   recall: (raw) => records.get(JSON.stringify(raw)),
 *   remember: (raw, config) => void records.set(JSON.stringify(raw), config),
 * };
 * const manager = await StorageManager.open({ plugins: [DirPlugin], configFile, configMemo: memo });
 * ```
 */
export interface ConfigMemo {
  /**
   * The validated config of a section, when one exactly like it was validated before; a fresh
   * object each time (the manager may keep it).
   *
   * @param raw - the section's config as read (`type`, `storage` and the options as text or flags)
   */
  recall(raw: Readonly<Record<string, unknown>>): StorageConfig | undefined;
  /**
   * Records a section's validated config.
   *
   * @param raw - the section's config as read
   * @param config - what validating it gave
   */
  remember(raw: Readonly<Record<string, unknown>>, config: StorageConfig): void;
}
