#!/usr/bin/env node
// Bundles the command (dist/main.js) with the workspace packages it loads (@stowage/core and its
// `./plugin` subpath, the built-in plugins, the etcd cluster package) into a few ES modules under
// packages/cli/dist/bundle/, one entry per package export, sharing their code through chunks:
// loading 40-odd files instead of 120 is a large share of the command's start-up. npm
// dependencies (zod, execa, ...) stay outside, each imported as from the package that imports it.
// The manifest says, relative to the bundle's directory: each entry's file and the built module
// it stands for; each package bundled with its version and build stamp (the binary uses the
// bundle only while they are unchanged); each chunk's source modules (for the tests of what a
// command loads); each external specifier and a module it is resolved from. See src/cli-bundle.ts
// (built by `tsc -b` before this runs).
// `--force` rebuilds it even when it is current.
import { existsSync, readFileSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { BUNDLE_FORM, BUNDLE_OPTIONS, loadEsbuild } from './bundle-options.mjs';

const cliDir = dirname(dirname(fileURLToPath(import.meta.url)));
/** Where the bundle and its manifest go. */
export const CLI_BUNDLE_DIR = join(cliDir, 'dist', 'bundle');
const MANIFEST = join(CLI_BUNDLE_DIR, 'manifest.json');

/** The package subpaths a running command never loads (test support). */
const LEFT_OUT = new Set(['./testing']);

/** The built file of an export condition object (or string). */
function defaultTarget(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return defaultTarget(value.import ?? value.default);
  return undefined;
}

/** The workspace packages the command depends on, and the core: name → real directory. */
function workspacePackages() {
  const cliPkg = JSON.parse(readFileSync(join(cliDir, 'package.json'), 'utf8'));
  const names = Object.entries(cliPkg.dependencies ?? {}).filter(([, v]) => String(v).startsWith('workspace:')).map(([n]) => n);
  return new Map(names.map((n) => [n, realpathSync(join(cliDir, 'node_modules', n))]));
}

/** Entry name → built file: the command's main module and every export of each package. */
function entryPoints(packages) {
  const entries = { main: join(cliDir, 'dist', 'main.js') };
  for (const [name, dir] of packages) {
    const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
    for (const [subpath, value] of Object.entries(pkg.exports ?? {})) {
      const target = defaultTarget(value);
      if (LEFT_OUT.has(subpath) || !target?.endsWith('.js')) continue;
      entries[`${name.replace(/^@stowage\//, '')}${subpath === '.' ? '' : `-${subpath.slice(2).replaceAll('/', '-')}`}`] = join(dir, target);
    }
  }
  return entries;
}

const bundleUrl = pathToFileURL(`${CLI_BUNDLE_DIR}/`);
const { currentCliBundle, packageStamp } = await import(new URL('../dist/cli-bundle.js', import.meta.url).href);

/** The current manifest, when every file it names is there and every package it bundled is as it was. */
function currentManifest() {
  const m = currentCliBundle(bundleUrl);
  return m && m.form === BUNDLE_FORM && Object.keys(m.chunks).every((f) => existsSync(join(CLI_BUNDLE_DIR, f))) ? m : undefined;
}

/**
 * Builds the bundle unless it is current.
 *
 * @param {{ force?: boolean }} [options]
 * @returns {Promise<{ built: boolean, dir: string }>}
 */
export async function bundleCli(options = {}) {
  if (!options.force && currentManifest()) return { built: false, dir: CLI_BUNDLE_DIR };
  const packages = workspacePackages();
  const bundled = [...packages.values()].map((d) => `${d}/`);
  const isBundled = (path) => !path.includes('/node_modules/') && (path.startsWith(`${cliDir}/`) || bundled.some((d) => path.startsWith(d)));
  const { esbuild } = await loadEsbuild(cliDir);
  // built beside and swapped in, so that a command running meanwhile finds the old bundle or the new one
  const building = `${CLI_BUNDLE_DIR}.${process.pid}.new`;
  rmSync(building, { recursive: true, force: true });
  const rel = (path) => relative(CLI_BUNDLE_DIR, path);
  // external specifier → [the module it is resolved from, the file it resolves to]
  const externals = new Map();
  const outside = {
    name: 'npm-dependencies-outside',
    setup(build) {
      build.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.path.startsWith('node:') || args.pluginData === 'inner') return undefined;
        const r = await build.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'inner' });
        if (r.errors.length > 0) return { errors: r.errors };
        if (isBundled(r.path)) return { path: r.path };
        const seen = externals.get(args.path);
        if (seen && seen[1] !== r.path) throw new Error(`'${args.path}' resolves to ${seen[1]} from ${seen[0]} but to ${r.path} from ${args.importer}: one bundle cannot hold both`);
        if (!seen) externals.set(args.path, [args.importer, r.path]);
        return { path: args.path, external: true };
      });
    },
  };
  const entries = entryPoints(packages);
  // stamped before the modules are read: a build meanwhile leaves the bundle older than its stamp says
  const stamps = {};
  for (const dir of [cliDir, ...packages.values()]) stamps[`${rel(dir)}/`] = packageStamp(pathToFileURL(`${dir}/`));
  const result = await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: entries,
    outdir: building,
    metafile: true,
    plugins: [outside],
  });
  const declared = new Set(Object.values(entries));
  const chunks = {};
  const entryFiles = {};
  for (const [out, info] of Object.entries(result.metafile.outputs)) {
    if (!out.endsWith('.js')) continue;
    const file = relative(building, resolve(out));
    chunks[file] = Object.keys(info.inputs).map((i) => rel(resolve(i)));
    // the packages' exports, not the chunks of dynamic imports
    if (info.entryPoint && declared.has(resolve(info.entryPoint))) entryFiles[rel(resolve(info.entryPoint))] = file;
  }
  const manifest = {
    form: BUNDLE_FORM,
    entries: entryFiles,
    packages: stamps,
    chunks,
    externals: Object.fromEntries([...externals].map(([spec, [importer]]) => [spec, rel(importer)])),
  };
  writeFileSync(join(building, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  const old = `${CLI_BUNDLE_DIR}.${process.pid}.old`;
  if (existsSync(CLI_BUNDLE_DIR)) renameSync(CLI_BUNDLE_DIR, old);
  renameSync(building, CLI_BUNDLE_DIR);
  rmSync(old, { recursive: true, force: true });
  return { built: true, dir: CLI_BUNDLE_DIR };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await bundleCli({ force: process.argv.includes('--force') });
  if (r.built) process.stderr.write(`bundled the command into ${r.dir}\n`);
}
