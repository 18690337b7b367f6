/**
 * Finding plugin classes: the built-in packages, and third-party packages named by `--plugin`,
 * `$STOWAGE_PLUGINS`, or a `plugins.cfg` file next to the storage configuration. Every class
 * goes through `PluginRegistry.register()`, which checks its type id, schema, capabilities and
 * API version.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { PluginRegistry, StorageError, type StoragePluginClass } from '@stowage/core';

/** Where a registered plugin came from. */
export interface PluginOrigin {
  /** `builtin`, or the package name or path it was loaded from. */
  readonly source: string;
  /** The exported name of the class. */
  readonly exportName: string;
}

/** The registry and where each type came from. */
export interface LoadedPlugins {
  /** The registry every class was checked by. */
  readonly registry: PluginRegistry;
  /** Origin of each registered type. */
  readonly origins: ReadonlyMap<string, PluginOrigin>;
}

/** A module namespace, as `import()` returns it. */
export type ModuleNamespace = Readonly<Record<string, unknown>>;

/** What {@link loadPlugins} loads. */
export interface PluginSources {
  /** Built-in package namespaces, by package name. */
  readonly builtins: ReadonlyArray<readonly [string, ModuleNamespace]>;
  /** Third-party package names or module paths, in order. */
  readonly names: readonly string[];
  /** Directories to resolve package names from, in order. */
  readonly bases: readonly string[];
}

/**
 * Picks the plugin classes out of a module's exports: every exported function whose static side
 * has a non-empty string `type`, a numeric `apiVersion`, a `configSchema` and `capabilities`.
 * Duck-typed on purpose: a third-party package may bring its own copy of `@stowage/core`.
 *
 * @param mod - a module namespace
 * @returns `[exportName, class]` pairs
 */
export function pluginClassesOf(mod: ModuleNamespace): Array<[string, StoragePluginClass]> {
  const found: Array<[string, StoragePluginClass]> = [];
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value !== 'function') continue;
    const c = value as unknown as Record<string, unknown>;
    if (typeof c['type'] === 'string' && c['type'] !== '' && typeof c['apiVersion'] === 'number' && typeof c['configSchema'] === 'object' && typeof c['capabilities'] === 'object') {
      found.push([name, value as unknown as StoragePluginClass]);
    }
  }
  return found;
}

/**
 * Reads a plugin list: one package name per line; `#` starts a comment; blank lines are skipped.
 *
 * @param text - the file's text
 */
export function parsePluginList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.replace(/#.*$/, '').trim())
    .filter((l) => l !== '');
}

/**
 * Splits `$STOWAGE_PLUGINS`: names separated by commas or whitespace.
 *
 * @param value - the variable's value
 */
export function parsePluginEnv(value: string | undefined): string[] {
  return (value ?? '').split(/[\s,]+/).filter((s) => s !== '');
}

/**
 * The `plugins.cfg` file that belongs to a configuration file: same directory.
 *
 * @param configPath - the storage.cfg path
 */
export function pluginListPath(configPath: string): string {
  return join(dirname(configPath), 'plugins.cfg');
}

/**
 * Reads the `plugins.cfg` next to a configuration file, or returns nothing when there is none.
 *
 * @param configPath - the storage.cfg path
 */
export function readPluginList(configPath: string): string[] {
  const path = pluginListPath(configPath);
  return existsSync(path) ? parsePluginList(readFileSync(path, 'utf8')) : [];
}

const PACKAGE_NAME_RE = /^(?:@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/;

/**
 * Finds the file to import for a plugin name: a path (starting with `.`, `/` or `file:`) is
 * taken relative to the first base; a package name is looked up in `node_modules` folders from
 * each base upwards, and its `exports` (`import`, `node` or `default` condition), `module` or
 * `main` entry is used.
 *
 * @param name - package name or path
 * @param bases - directories to search from
 * @returns a `file:` URL, or `undefined` when not found
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for a name that is neither
 */
export function resolvePluginModule(name: string, bases: readonly string[]): string | undefined {
  if (name.startsWith('file:')) return name;
  if (name.startsWith('.') || isAbsolute(name)) {
    const path = resolve(bases[0] ?? process.cwd(), name);
    return existsSync(path) ? pathToFileURL(path).href : undefined;
  }
  if (!PACKAGE_NAME_RE.test(name)) {
    throw new StorageError('INVALID_ARGUMENT', `'${name}' is not a package name or a path`, { details: { plugin: name } });
  }
  for (const base of bases) {
    for (let dir = resolve(base); ; dir = dirname(dir)) {
      const pkgDir = join(dir, 'node_modules', name);
      const entry = packageEntry(pkgDir);
      if (entry) return pathToFileURL(entry).href;
      if (dirname(dir) === dir) break;
    }
  }
  return undefined;
}

function packageEntry(pkgDir: string): string | undefined {
  const manifest = join(pkgDir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  const exp = pkg['exports'];
  const root = typeof exp === 'object' && exp !== null && !Array.isArray(exp) && '.' in exp ? (exp as Record<string, unknown>)['.'] : exp;
  const target = pickCondition(root) ?? (typeof pkg['module'] === 'string' ? pkg['module'] : undefined) ?? (typeof pkg['main'] === 'string' ? pkg['main'] : 'index.js');
  const file = resolve(pkgDir, target);
  return existsSync(file) ? file : undefined;
}

function pickCondition(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const conditions = value as Record<string, unknown>;
  for (const c of ['import', 'node', 'default']) {
    const hit = pickCondition(conditions[c]);
    if (hit) return hit;
  }
  return undefined;
}

/**
 * Imports one third-party plugin module by package name or path.
 *
 * @param name - package name or path
 * @param bases - directories to resolve from
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when it cannot be found; `INVALID_ARGUMENT` when it
 *   cannot be loaded
 */
export async function importPlugin(name: string, bases: readonly string[]): Promise<ModuleNamespace> {
  const url = resolvePluginModule(name, bases);
  if (url === undefined) {
    throw new StorageError('NOT_FOUND', `plugin package '${name}' not found (searched node_modules from ${bases.join(', ')})`, {
      details: { plugin: name, bases },
    });
  }
  try {
    return (await import(url)) as ModuleNamespace;
  } catch (cause) {
    throw new StorageError('INVALID_ARGUMENT', `plugin package '${name}' could not be loaded: ${cause instanceof Error ? cause.message : String(cause)}`, {
      cause,
      details: { plugin: name, url },
    });
  }
}

/**
 * Registers the built-in plugins and then every third-party plugin, each checked by
 * `PluginRegistry.register()`.
 *
 * @param sources - built-in namespaces, third-party names, and where to resolve them from
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (a package that is not installed), `INVALID_ARGUMENT`
 *   (one that exports no plugin class or fails to load), and whatever `register()` throws
 *   (`API_VERSION_MISMATCH`, `ALREADY_EXISTS`, `CONFIG_INVALID`, `INVALID_ARGUMENT`)
 */
export async function loadPlugins(sources: PluginSources): Promise<LoadedPlugins> {
  const registry = new PluginRegistry();
  const origins = new Map<string, PluginOrigin>();
  const add = (source: string, mod: ModuleNamespace, required: boolean): void => {
    const classes = pluginClassesOf(mod);
    if (required && classes.length === 0) {
      throw new StorageError('INVALID_ARGUMENT', `'${source}' exports no storage plugin class`, { details: { plugin: source } });
    }
    for (const [exportName, cls] of classes) {
      registry.register(cls);
      if (!origins.has(cls.type)) origins.set(cls.type, { source, exportName });
    }
  };
  for (const [name, mod] of sources.builtins) add(name === '' ? 'builtin' : `builtin (${name})`, mod, false);
  const seen = new Set<string>();
  for (const name of sources.names) {
    if (seen.has(name)) continue;
    seen.add(name);
    add(name, await importPlugin(name, sources.bases), true);
  }
  return { registry, origins };
}
