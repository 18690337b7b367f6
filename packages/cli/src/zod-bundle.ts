/**
 * zod from one bundle: zod's own package is some 95 modules (each of its 60-odd locales is one),
 * and loading that many files is a large share of the command's start-up. The build bundles the
 * zod that the core depends on into a few modules under `dist/zod/` (`scripts/bundle-zod.mjs`,
 * with a manifest naming zod's version and the file of each subpath). {@link useZodBundle}
 * registers a module resolution hook that imports `zod` (and `zod/<subpath>`) from there instead,
 * whoever imports it (the core, a built-in plugin, a third-party plugin), but only where zod
 * would otherwise load from a zod package of that very version: all of them then share the one
 * bundled zod, as they would share the package. A plugin that brings another zod version keeps
 * its own, as without the bundle; `require('zod')` keeps zod's CommonJS build.
 *
 * Only the `stowage` binary uses it (not `runCli` embedded in another program, whose
 * module resolution is its own).
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import module from 'node:module';

/** The bundle's manifest, written by `scripts/bundle-zod.mjs`. */
export interface ZodBundleManifest {
  /** The version of zod bundled. */
  readonly zod: string;
  /** Each subpath zod exports for `import` (`.`, `./mini`, `./v4/locales/en.js`, ...) and its file in the bundle. */
  readonly entries: Readonly<Record<string, string>>;
}

/** The zod package a resolved module URL lies in: its directory's URL (ending in `/`). */
const ZOD_PACKAGE_RE = /^(file:\/\/.*\/node_modules\/zod\/)[^/]/;

/**
 * Makes `zod` imports load from the bundle in `dir` (see the module's description). Does
 * nothing when Node lacks `module.registerHooks` (before 22.15) or there is no bundle.
 *
 * @param dir - the bundle's directory (`dist/zod/`, ending in `/`)
 * @returns the bundle's manifest when the hook is registered, else `undefined`
 */
export function useZodBundle(dir: URL): ZodBundleManifest | undefined {
  if (typeof module.registerHooks !== 'function') return undefined;
  let manifest: ZodBundleManifest;
  try {
    manifest = JSON.parse(readFileSync(new URL('manifest.json', dir), 'utf8')) as ZodBundleManifest;
  } catch {
    return undefined; // not built (`tsc -b` alone): zod loads from its package
  }
  // zod package directory → whether it holds the bundled version
  const sameVersion = new Map<string, boolean>();
  const isBundledVersion = (pkgDir: string): boolean => {
    let same = sameVersion.get(pkgDir);
    if (same === undefined) {
      try {
        same = (JSON.parse(readFileSync(new URL('package.json', pkgDir), 'utf8')) as { version?: unknown }).version === manifest.zod;
      } catch {
        same = false;
      }
      sameVersion.set(pkgDir, same);
    }
    return same;
  };
  module.registerHooks({
    resolve(specifier, context, nextResolve) {
      const resolved = nextResolve(specifier, context);
      if (specifier !== 'zod' && !specifier.startsWith('zod/')) return resolved;
      const file = manifest.entries[`.${specifier.slice(3)}`];
      const pkgDir = ZOD_PACKAGE_RE.exec(resolved.url)?.[1];
      if (file === undefined || pkgDir === undefined || !context.conditions.includes('import') || !isBundledVersion(pkgDir)) return resolved;
      return { url: new URL(file, dir).href, format: 'module', shortCircuit: true };
    },
  });
  return manifest;
}
