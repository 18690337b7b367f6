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
import { fileURLToPath, pathToFileURL } from 'node:url';
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
    if (typeof c['type'] === 'string' && c['type'] !== '' && typeof c['apiVersion'] === 'number' && (typeof c['configSchema'] === 'object' || typeof c['configSchema'] === 'function') && typeof c['capabilities'] === 'object') {
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

/** Where a plugin name led: the file to import, or why there is none. */
export type PluginLocation =
  | { readonly found: true; readonly url: string }
  /** No such file (a path), or no package of that name in any `node_modules` searched (`searched`, each once). */
  | { readonly found: false; readonly reason: 'not-installed'; readonly searched: readonly string[] }
  /** The package is installed at `packageDir`, but the file its manifest names (`entry`) does not exist: not built. */
  | { readonly found: false; readonly reason: 'not-built'; readonly packageDir: string; readonly entry: string };

/**
 * Finds the file to import for a plugin name: a path (starting with `.`, `/` or `file:`) is
 * taken relative to the first base; a package name is looked up in `node_modules` folders from
 * each base upwards (each folder once), and its `exports` (`import`, `node` or `default`
 * condition), `module` or `main` entry is used.
 *
 * @param name - package name or path
 * @param bases - directories to search from
 * @returns the file's URL, or why there is none (not installed, or installed but not built)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for a name that is neither
 */
export function locatePlugin(name: string, bases: readonly string[]): PluginLocation {
  if (name.startsWith('file:')) return { found: true, url: name };
  if (name.startsWith('.') || isAbsolute(name)) {
    const path = resolve(bases[0] ?? process.cwd(), name);
    return existsSync(path) ? { found: true, url: pathToFileURL(path).href } : { found: false, reason: 'not-installed', searched: [path] };
  }
  if (!PACKAGE_NAME_RE.test(name)) {
    throw new StorageError('INVALID_ARGUMENT', `'${name}' is not a package name or a path`, { details: { plugin: name } });
  }
  const searched: string[] = [];
  for (const base of bases) {
    for (let dir = resolve(base); ; dir = dirname(dir)) {
      const modules = join(dir, 'node_modules');
      if (!searched.includes(modules)) {
        searched.push(modules);
        const pkgDir = join(modules, name);
        const entry = packageEntry(pkgDir);
        if (entry !== undefined) {
          return existsSync(entry) ? { found: true, url: pathToFileURL(entry).href } : { found: false, reason: 'not-built', packageDir: pkgDir, entry };
        }
      }
      if (dirname(dir) === dir) break;
    }
  }
  return { found: false, reason: 'not-installed', searched };
}

/**
 * The file to import for a plugin name, as {@link locatePlugin} finds it.
 *
 * @param name - package name or path
 * @param bases - directories to search from
 * @returns a `file:` URL, or `undefined` when not found (or not built)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for a name that is neither
 */
export function resolvePluginModule(name: string, bases: readonly string[]): string | undefined {
  const at = locatePlugin(name, bases);
  return at.found ? at.url : undefined;
}

/** The file a package's manifest names as its entry (which may not exist), or `undefined` when the package is not there. */
function packageEntry(pkgDir: string): string | undefined {
  const manifest = join(pkgDir, 'package.json');
  if (!existsSync(manifest)) return undefined;
  const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as Record<string, unknown>;
  const exp = pkg['exports'];
  const root = typeof exp === 'object' && exp !== null && !Array.isArray(exp) && '.' in exp ? (exp as Record<string, unknown>)['.'] : exp;
  const target = pickCondition(root) ?? (typeof pkg['module'] === 'string' ? pkg['module'] : undefined) ?? (typeof pkg['main'] === 'string' ? pkg['main'] : 'index.js');
  return resolve(pkgDir, target);
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

const NOT_FOUND_CODES = new Set(['ERR_MODULE_NOT_FOUND', 'MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED', 'ERR_UNSUPPORTED_DIR_IMPORT']);

/** The module a failed import could not find (`Cannot find package 'x' imported from ...`), if that is why it failed. */
function missingDependency(cause: unknown): string | undefined {
  const e = cause as { code?: unknown; message?: unknown } | undefined;
  if (typeof e?.code !== 'string' || !NOT_FOUND_CODES.has(e.code)) return undefined;
  const m = /Cannot find (?:package|module) '([^']+)'/.exec(String(e.message));
  return m?.[1] ?? String(e.message);
}

/**
 * Imports one third-party plugin module by package name or path.
 *
 * @param name - package name or path
 * @param bases - directories to resolve from
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when it is not installed
 *   (`details.reason` `not-installed`, with the folders searched), installed but not built
 *   (`not-built`, with the missing entry file), or when a module it imports is not installed
 *   (`dependency-missing`, with `details.dependency`); `INTERNAL` when it fails while loading
 *   (a fault in the plugin)
 */
export async function importPlugin(name: string, bases: readonly string[]): Promise<ModuleNamespace> {
  const at = locatePlugin(name, bases);
  if (!at.found && at.reason === 'not-built') {
    throw new StorageError(
      'NOT_FOUND',
      `plugin package '${name}' is installed at ${at.packageDir} but not built: its entry file ${at.entry} does not exist (build the package, e.g. 'npm run build' in ${at.packageDir})`,
      { details: { plugin: name, reason: at.reason, packageDir: at.packageDir, entry: at.entry } },
    );
  }
  if (!at.found) {
    const path = name.startsWith('.') || isAbsolute(name);
    throw new StorageError(
      'NOT_FOUND',
      path
        ? `plugin file '${name}' does not exist (${at.searched[0]})`
        : `plugin package '${name}' is not installed: searched ${at.searched.join(', ')} (install it with 'npm install ${name}' beside storage.cfg or in the working directory, or name its path)`,
      { details: { plugin: name, reason: at.reason, searched: at.searched } },
    );
  }
  try {
    return (await import(at.url)) as ModuleNamespace;
  } catch (cause) {
    const dependency = missingDependency(cause);
    if (dependency !== undefined && at.url.startsWith('file:') && dependency === fileURLToPath(at.url)) {
      throw new StorageError('NOT_FOUND', `plugin file '${name}' does not exist`, { cause, details: { plugin: name, reason: 'not-installed', searched: [dependency] } });
    }
    if (dependency !== undefined) {
      throw new StorageError(
        'NOT_FOUND',
        `plugin package '${name}' could not be loaded: a module it imports, '${dependency}', is not installed (install the package's dependencies, e.g. 'npm install' in its folder)`,
        { cause, details: { plugin: name, reason: 'dependency-missing', dependency, url: at.url } },
      );
    }
    throw new StorageError('INTERNAL', `plugin package '${name}' failed while loading: ${cause instanceof Error ? cause.message : String(cause)} (a fault in the plugin)`, {
      cause,
      details: { plugin: name, url: at.url },
    });
  }
}

/**
 * Registers the built-in plugins and then every third-party plugin, each checked by
 * `PluginRegistry.register()`.
 *
 * @param sources - built-in namespaces, third-party names, and where to resolve them from
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (a package that is not installed or not
 *   built, or whose dependencies are not), `INTERNAL` (one that fails while loading), `INVALID_ARGUMENT` (one that
 *   exports no plugin class), and whatever `register()` throws
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
