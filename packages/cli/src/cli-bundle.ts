/**
 * The command and the workspace packages it loads from one bundle: the build bundles
 * `dist/main.js` with `@stowage/core` (`.` and `./plugin`), the built-in plugins and the etcd
 * cluster package into a few modules under `dist/bundle/` (`scripts/bundle-cli.mjs`), some 40
 * files loaded instead of 120. {@link useCliBundle} registers a module resolution hook that loads
 * each bundled module's entry from there, whoever imports it: the binary's own `./main.js`, and
 * `@stowage/core` imported by a third-party plugin (`--plugin`, `$STOWAGE_PLUGINS`,
 * `plugins.cfg`) whose import leads to that very core. Every module then shares the one core
 * (its `StorageError` class, its registries), as without the bundle. A plugin that brings its own
 * copy of the core keeps it, as without the bundle. npm dependencies are not bundled: the
 * bundle's imports of them are resolved as from the module that imports them.
 *
 * The bundle is used only while every package it was made of is as it was: the same version and
 * the same `tsconfig.tsbuildinfo` (size and mtime; `tsc -b` rewrites it whenever it builds
 * anything of the package). After a `tsc -b` that changed a bundled package, and until the
 * bundle is made again, the command loads the built modules themselves. Checking the packages
 * rather than each of the 200-odd modules keeps the check under a millisecond.
 * Only the `stowage` binary uses it (not `runCli` embedded in another program).
 *
 * @module
 */
import { readFileSync, statSync } from 'node:fs';
import module from 'node:module';

/** The bundle's manifest, written by `scripts/bundle-cli.mjs`; paths relative to its directory. */
export interface CliBundleManifest {
  /** Each built module that is a package export (or the command's main module), and its entry file in the bundle. */
  readonly entries: Readonly<Record<string, string>>;
  /**
   * Each package bundled (its directory), with its version and its `tsconfig.tsbuildinfo`'s size
   * and mtime (ms) when it was, `null` without one.
   */
  readonly packages: Readonly<Record<string, { readonly version: string; readonly buildInfo: readonly [number, number] | null }>>;
  /** Each file of the bundle, with the source modules it holds. */
  readonly chunks: Readonly<Record<string, readonly string[]>>;
  /** Each npm dependency the bundle imports, with a source module it is resolved from. */
  readonly externals: Readonly<Record<string, string>>;
}

/**
 * The version and build stamp {@link CliBundleManifest.packages} records of a package.
 *
 * @param dir - the package's directory (ending in `/`)
 * @returns `undefined` when its package.json cannot be read
 */
export function packageStamp(dir: URL): CliBundleManifest['packages'][string] | undefined {
  let version: unknown;
  try {
    version = (JSON.parse(readFileSync(new URL('package.json', dir), 'utf8')) as { version?: unknown }).version;
  } catch {
    return undefined;
  }
  const st = statSync(new URL('tsconfig.tsbuildinfo', dir), { throwIfNoEntry: false });
  return { version: String(version), buildInfo: st === undefined ? null : [st.size, st.mtimeMs] };
}

/**
 * Reads the bundle's manifest in `dir`, if it is there and every package it was made of is as
 * it was.
 *
 * @param dir - the bundle's directory (`dist/bundle/`, ending in `/`)
 */
export function currentCliBundle(dir: URL): CliBundleManifest | undefined {
  try {
    const manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as CliBundleManifest;
    for (const [pkg, was] of Object.entries(manifest.packages)) {
      const is = packageStamp(new URL(pkg, dir));
      if (is === undefined || is.version !== was.version || is.buildInfo?.[0] !== was.buildInfo?.[0] || is.buildInfo?.[1] !== was.buildInfo?.[1]) return undefined;
    }
    return manifest;
  } catch {
    return undefined; // not built (`tsc -b` alone), or a manifest of another form
  }
}

/**
 * Makes the modules the bundle in `dir` holds load from it (see the module's description). Does
 * nothing when Node lacks `module.registerHooks` (before 22.15), or the bundle is missing or
 * older than a package it was made of.
 *
 * @param dir - the bundle's directory (`dist/bundle/`, ending in `/`)
 * @returns the bundle's manifest when the hook is registered, else `undefined`
 */
export function useCliBundle(dir: URL): CliBundleManifest | undefined {
  if (typeof module.registerHooks !== 'function') return undefined;
  const manifest = currentCliBundle(dir);
  if (manifest === undefined) return undefined;
  const at = (file: string): string => new URL(file, dir).href;
  const entries = new Map(Object.entries(manifest.entries).map(([source, file]) => [at(source), at(file)]));
  const externals = new Map(Object.entries(manifest.externals).map(([specifier, from]) => [specifier, at(from)]));
  const inside = dir.href;
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      if (context.parentURL?.startsWith(inside)) {
        // the bundle's files import each other by relative names, all ES modules made together:
        // no lookup on disk, no package.json to read for their format
        if (specifier.startsWith('./') || specifier.startsWith('../')) return { url: new URL(specifier, context.parentURL).href, format: 'module', shortCircuit: true };
        const from = externals.get(specifier);
        return nextResolve(specifier, from === undefined ? context : { ...context, parentURL: from });
      }
      const resolved = nextResolve(specifier, context);
      const file = entries.get(resolved.url);
      return file === undefined ? resolved : { url: file, format: 'module', shortCircuit: true };
    },
  });
  return manifest;
}
