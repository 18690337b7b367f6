/**
 * Validation of storage configs against a plugin's zod schema, and updates that respect fixed
 * options.
 *
 * @module
 */
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from '../errors.js';
import type { StoragePluginClass } from '../storage-plugin.js';
import type { StorageConfig } from './base-schema.js';
import { fixedKeys } from './options.js';

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

function fail(storeId: string, issues: readonly ConfigIssue[]): never {
  const text = issues.map((i) => (i.line !== undefined ? `line ${i.line}: ${i.message}` : i.message)).join('; ');
  throw new ConfigError(`invalid config for storage '${storeId}': ${text}`, issues, { details: { storeId } });
}

/**
 * Validates one storage's config with its plugin's schema. The schema is strict: a key it does
 * not know is an error. Values may be typed (`true`, `['images']`) or file text (`1`,
 * `images,iso`); the result is typed.
 *
 * @param cls - the plugin class whose `configSchema` applies
 * @param raw - the config object, with `type` and `storage`
 * @param source - file lines, to put in the issues when the config came from `storage.cfg`
 * @returns the validated config
 * @throws {@link ConfigError} `CONFIG_INVALID` listing every issue (unknown keys, bad values,
 *   missing required options, a `type` that is not the plugin's)
 * @example
 * ```ts
 * const config = validateStorageConfig(DirPlugin, { type: 'dir', storage: 'local', path: '/var/lib/vz' });
 * ```
 * @see Proxmox `PVE::SectionConfig::check_config`
 */
export function validateStorageConfig(cls: StoragePluginClass, raw: Readonly<Record<string, unknown>>, source?: ConfigSource): StorageConfig {
  const storeId = storeIdOf(raw);
  if (raw['type'] !== cls.type) {
    fail(storeId, [withLine({ path: [storeId, 'type'], message: `type '${String(raw['type'])}' is not '${cls.type}'` }, source?.line)]);
  }
  const result = cls.configSchema.safeParse(raw);
  if (!result.success) fail(storeId, zodIssues(storeId, result.error, source));
  return result.data as StorageConfig;
}

function isRequired(schema: z.ZodObject, key: string): boolean {
  const field = schema.shape[key] as z.ZodType | undefined;
  return field !== undefined && !field.safeParse(undefined).success;
}

function sameValue(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
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
 * @throws {@link ConfigError} `CONFIG_INVALID`
 * @see Proxmox `PVE::API2::Storage::Config` `update`, `PVE::SectionConfig::delete_from_config`
 */
export function applyConfigUpdate(
  cls: StoragePluginClass,
  current: StorageConfig,
  changes: Readonly<Record<string, unknown>>,
  deleteKeys: readonly string[] = [],
): StorageConfig {
  const storeId = current.storage;
  const schema = cls.configSchema;
  const fixed = new Set(fixedKeys(schema));
  const issues: ConfigIssue[] = [];
  for (const key of ['type', 'storage']) {
    if (key in changes && !sameValue(changes[key], current[key])) issues.push({ path: [storeId, key], message: `'${key}' cannot be changed` });
  }
  for (const key of deleteKeys) {
    if (!(key in schema.shape)) issues.push({ path: [storeId, key], message: `no such option '${key}'` });
    else if (key === 'type' || key === 'storage' || fixed.has(key)) issues.push({ path: [storeId, key], message: `cannot delete fixed option '${key}'` });
    else if (isRequired(schema, key)) issues.push({ path: [storeId, key], message: `cannot delete required option '${key}'` });
    if (key in changes) issues.push({ path: [storeId, key], message: `cannot set and delete '${key}' at once` });
  }
  if (issues.length > 0) fail(storeId, issues);

  const merged: Record<string, unknown> = { ...current };
  for (const key of deleteKeys) delete merged[key];
  Object.assign(merged, changes);
  const next = validateStorageConfig(cls, merged);

  for (const key of fixed) {
    if (key in changes && !sameValue(next[key], current[key])) {
      issues.push({ path: [storeId, key], message: `cannot change fixed option '${key}'` });
    }
  }
  if (issues.length > 0) fail(storeId, issues);
  return next;
}
