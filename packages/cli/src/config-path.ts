/**
 * Which `storage.cfg` the command uses: `--config`, then `$STOWAGE_CONFIG`, then
 * `./storage.cfg`, then `/etc/stowage/storage.cfg`. With a cluster configured, the cluster's
 * storage.cfg replaces the last two (the file found is where `cluster.cfg` is looked for).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';

/** The system-wide configuration file. */
export const SYSTEM_CONFIG_PATH = '/etc/stowage/storage.cfg';

/** Where a configuration path came from. */
export type ConfigSource = 'flag' | 'env' | 'cwd' | 'system';

/** The configuration file chosen. */
export interface ConfigLocation {
  /** Absolute path. */
  readonly path: string;
  /** Where the choice came from. */
  readonly source: ConfigSource;
  /** `true` when the file exists now. */
  readonly exists: boolean;
}

/** What {@link findConfigFile} looks at; injectable for tests. */
export interface ConfigLookup {
  /** The `--config` value. */
  readonly flag?: string | undefined;
  /** The environment (for `STOWAGE_CONFIG`). */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory. */
  readonly cwd: string;
  /** Tells whether a file exists. */
  readonly exists?: (path: string) => boolean;
  /** The system-wide file; {@link SYSTEM_CONFIG_PATH} by default. */
  readonly systemPath?: string;
}

/**
 * Chooses the configuration file. An explicit `--config` or `$STOWAGE_CONFIG` is used whether
 * or not the file exists (so `storage add` can create it); otherwise the first existing file of
 * `./storage.cfg` and `/etc/stowage/storage.cfg`, else the system path, marked as missing.
 *
 * @param lookup - flag, environment, working directory
 * @returns the path, its source, and whether it exists
 */
export function findConfigFile(lookup: ConfigLookup): ConfigLocation {
  const exists = lookup.exists ?? existsSync;
  const system = lookup.systemPath ?? SYSTEM_CONFIG_PATH;
  const at = (path: string, source: ConfigSource): ConfigLocation => {
    const abs = resolve(lookup.cwd, path);
    return { path: abs, source, exists: exists(abs) };
  };
  if (lookup.flag) return at(lookup.flag, 'flag');
  const env = lookup.env['STOWAGE_CONFIG'];
  if (env) return at(env, 'env');
  const local = at('storage.cfg', 'cwd');
  if (local.exists) return local;
  return at(system, 'system');
}
