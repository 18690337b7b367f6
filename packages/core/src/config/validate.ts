/**
 * Validation of storage configs against a plugin's zod schema, and updates that respect fixed
 * options.
 *
 * @module
 */
import type { z } from 'zod';
import { ConfigError, type ConfigIssue, type StorageError } from '../errors.js';
import type { StoragePluginClass } from '../storage-plugin.js';
import type { StorageConfig } from './base-schema.js';
import { fixedKeys } from './fixed.js';
import { configSchemaOf } from './schema-source.js';

/** Where a config came from, so that issues can name file lines. */
export interface ConfigSource {
  /** The line of the section header. */
  readonly line?: number;
  /** The line of each option. */
  readonly optionLines?: Readonly<Record<string, number>>;
}

function storeIdOf(raw: Readonly<Record<string, unknown>>): string {
  return typeof raw['storage'] === 'string' ? raw['storage'] : '?';
}

function lineOf(source: ConfigSource | undefined, key: string | undefined): number | undefined {
  if (!source) return undefined;
  return (key !== undefined ? source.optionLines?.[key] : undefined) ?? source.line;
}

function zodIssues(storeId: string, error: z.ZodError, source: ConfigSource | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    const path = issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p));
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push(withLine({ path: [storeId, ...path, key], message: `unknown option '${key}'` }, lineOf(source, key)));
      }
      continue;
    }
    const key = typeof path[0] === 'string' ? path[0] : undefined;
    out.push(withLine({ path: [storeId, ...path], message: key ? `${key}: ${issue.message}` : issue.message }, lineOf(source, key)));
  }
  return out;
}

function withLine(issue: ConfigIssue, line: number | undefined): ConfigIssue {
  return line === undefined ? issue : { ...issue, line };
}

/**
 * Throws a `CONFIG_INVALID` {@link ConfigError} for a storage's issues, naming their lines.
 *
 * @param storeId - the storage
 * @param issues - what is wrong
 * @throws {@link ConfigError} always
 */
export function failConfig(storeId: string, issues: readonly ConfigIssue[]): never {
  throw new ConfigError(`invalid config for storage '${storeId}': ${describeConfigIssues(issues)}`, issues, { details: { storeId } });
}

/**
 * Issues as one line of text for a message: `line 3: unknown option 'colour'; ...`.
 *
 * @param issues - what is wrong
 */
export function describeConfigIssues(issues: readonly ConfigIssue[]): string {
  return issues.map((i) => (i.line !== undefined ? `line ${i.line}: ${i.message}` : i.message)).join('; ');
}

/**
 * Validates one storage's config with its plugin's schema. The schema is strict: a key it does
 * not know is an error. Values may be typed (`true`, `['images']`) or file text (`1`,
 * `images,iso`); the result is typed.
 *
 * @param cls - the plugin class whose `configSchema` applies (loaded, when it is a loader)
 * @param raw - the config object, with `type` and `storage`
 * @param source - file lines, to put in the issues when the config came from `storage.cfg`
 * @returns the validated config
 * @throws {@link ConfigError} `CONFIG_INVALID` listing every issue (unknown keys, bad values,
 *   missing required options, a `type` that is not the plugin's); {@link StorageError}
 *   `INVALID_ARGUMENT` when the class gives its schema as a loader that has not run yet (await
 *   `loadConfigSchema(cls)` first)
 * @example
 * ```ts
 * const config = validateStorageConfig(DirPlugin, { type: 'dir', storage: 'local', path: '/var/lib/vz' });
 * ```
 * @see Proxmox `PVE::SectionConfig::check_config`
 */
export function validateStorageConfig(cls: StoragePluginClass, raw: Readonly<Record<string, unknown>>, source?: ConfigSource): StorageConfig {
  const storeId = storeIdOf(raw);
  if (raw['type'] !== cls.type) {
    failConfig(storeId, [withLine({ path: [storeId, 'type'], message: `type '${String(raw['type'])}' is not '${cls.type}'` }, source?.line)]);
  }
  const schema = configSchemaOf(cls);
  const empty = emptyValueIssues(schema, storeId, raw, source);
  const result = schema.safeParse(raw);
  if (!result.success || empty.length > 0) {
    const named = new Set(empty.map((i) => i.path[1]));
    const others = result.success ? [] : zodIssues(storeId, result.error, source).filter((i) => !named.has(i.path[1]));
    failConfig(storeId, [...empty, ...others]);
  }
  return result.data as StorageConfig;
}

/**
 * Options given an empty value: a blank string (which `storage.cfg` cannot hold: written as a
 * bare key it reads back as the flag `true`), or, from a file, a bare key for an option that is
 * not a flag.
 */
function emptyValueIssues(schema: z.ZodObject, storeId: string, raw: Readonly<Record<string, unknown>>, source: ConfigSource | undefined): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const [key, value] of Object.entries(raw)) {
    if (key === 'type' || key === 'storage') continue;
    const field = schema.shape[key] as z.ZodType | undefined;
    if (typeof value === 'string' && value.trim() === '') {
      out.push(withLine({ path: [storeId, key], message: `${key}: an empty value is not allowed (leave the option out, or delete it)` }, lineOf(source, key)));
    } else if (value === true && source !== undefined && field !== undefined && !field.safeParse(true).success) {
      out.push(withLine({ path: [storeId, key], message: `${key}: the key is written without a value` }, lineOf(source, key)));
    }
  }
  return out;
}

function isRequired(schema: z.ZodObject, key: string): boolean {
  const field = schema.shape[key] as z.ZodType | undefined;
  return field !== undefined && !field.safeParse(undefined).success;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * What an update may not do, checked before the new config is made: change `type` or
 * `storage`; delete a fixed option (one made with `fixedOption`, Proxmox's `fixed`), a required
 * option, or an option the schema does not know (unless the current config has it: deleting it
 * is how a section with an unknown key is repaired); set and delete the same key.
 *
 * @param cls - the plugin class
 * @param current - the current config (validated, or a section's raw values)
 * @param changes - options to set
 * @param deleteKeys - options to remove
 * @returns every refusal, empty when the update may go ahead
 */
export function updateRefusals(
  cls: StoragePluginClass,
  current: Readonly<Record<string, unknown>>,
  changes: Readonly<Record<string, unknown>>,
  deleteKeys: readonly string[],
): ConfigIssue[] {
  const storeId = storeIdOf(current);
  const schema = configSchemaOf(cls);
  const fixed = new Set(fixedKeys(schema));
  const issues: ConfigIssue[] = [];
  for (const key of ['type', 'storage']) {
    if (key in changes && !sameValue(changes[key], current[key])) issues.push({ path: [storeId, key], message: `'${key}' cannot be changed` });
  }
  for (const key of deleteKeys) {
    if (!(key in schema.shape)) {
      if (!(key in current)) issues.push({ path: [storeId, key], message: `no such option '${key}'` });
    } else if (key === 'type' || key === 'storage' || fixed.has(key)) issues.push({ path: [storeId, key], message: `cannot delete fixed option '${key}'` });
    else if (isRequired(schema, key)) issues.push({ path: [storeId, key], message: `cannot delete required option '${key}'` });
    if (key in changes) issues.push({ path: [storeId, key], message: `cannot set and delete '${key}' at once` });
  }
  return issues;
}

/**
 * The fixed options an update would change. A fixed option keeps its value once set: setting it
 * to the value it has is not a change. In `repair` mode (the current config never validated), a
 * fixed option the config lacks may be set.
 *
 * @param cls - the plugin class
 * @param before - the current config (validated, or a section's raw values)
 * @param after - the validated config after the update
 * @param changed - the keys the update sets
 * @param repair - whether `before` is a bad config being repaired
 * @returns an issue per fixed option that would change
 */
export function fixedOptionChanges(
  cls: StoragePluginClass,
  before: Readonly<Record<string, unknown>>,
  after: StorageConfig,
  changed: readonly string[],
  repair = false,
): ConfigIssue[] {
  const storeId = storeIdOf(before);
  const schema = configSchemaOf(cls);
  const issues: ConfigIssue[] = [];
  for (const key of fixedKeys(schema)) {
    if (!changed.includes(key) || (repair && before[key] === undefined)) continue;
    const old = (schema.shape[key] as z.ZodType).safeParse(before[key]);
    if (!sameValue(after[key], old.success ? old.data : before[key])) issues.push({ path: [storeId, key], message: `cannot change fixed option '${key}'` });
  }
  return issues;
}

/**
 * Applies changes to a storage's validated config and validates the result.
 *
 * Refused (nothing changes): changing `type` or `storage`; changing or deleting a fixed option
 * (one made with `fixedOption`, Proxmox's `fixed`) — setting it to the value it already has is
 * allowed; deleting a required option or an option the schema does not know; setting and
 * deleting the same key.
 *
 * @param cls - the plugin class
 * @param current - the storage's current, validated config
 * @param changes - options to set (typed or file text)
 * @param deleteKeys - options to remove
 * @returns the new validated config
 * @throws {@link ConfigError} `CONFIG_INVALID`; {@link StorageError} `INVALID_ARGUMENT` when the
 *   class's schema is a loader that has not run yet (see {@link validateStorageConfig})
 * @see Proxmox `PVE::API2::Storage::Config` `update`, `PVE::SectionConfig::delete_from_config`
 */
export function applyConfigUpdate(
  cls: StoragePluginClass,
  current: StorageConfig,
  changes: Readonly<Record<string, unknown>>,
  deleteKeys: readonly string[] = [],
): StorageConfig {
  const refused = updateRefusals(cls, current, changes, deleteKeys);
  if (refused.length > 0) failConfig(current.storage, refused);
  const merged: Record<string, unknown> = { ...current };
  for (const key of deleteKeys) delete merged[key];
  Object.assign(merged, changes);
  const next = validateStorageConfig(cls, merged);
  const fixed = fixedOptionChanges(cls, current, next, Object.keys(changes));
  if (fixed.length > 0) failConfig(current.storage, fixed);
  return next;
}

