#!/usr/bin/env node
// Bundles the zod that @stowage/core depends on into a few ES modules under
// packages/cli/dist/zod/ (one entry per subpath zod exports for `import`, sharing their code
// through chunks, so that all of them are one zod), with a manifest naming zod's version and the
// file of each subpath. The `stowage` binary imports zod from there instead of zod's own ~95
// files (see src/zod-bundle.ts), when the zod it would load is that same version.
// Does nothing when the bundle is already there for the zod installed; `--force` rebuilds it.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_FORM, BUNDLE_OPTIONS, loadEsbuild } from './bundle-options.mjs';

const cliDir = dirname(dirname(fileURLToPath(import.meta.url)));
/** Where the bundle and its manifest go. */
export const BUNDLE_DIR = join(cliDir, 'dist', 'zod');
const MANIFEST = join(BUNDLE_DIR, 'manifest.json');

/** The `import` target of an export condition object (or string), if any. */
function importTarget(value) {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object') return importTarget(value.import ?? value.default);
  return undefined;
}

/**
 * What zod exports for `import`: the subpaths bundled as entries (`.` → `index`, `./v4/core` →
 * `v4/core`), each with its file inside the zod package; and the files of a wildcard subpath
 * (`./v4/locales/*`, one module per locale), each as the name its directory's index re-exports it
 * by (`./v4/locales/en.js` → `en` of `./v4/locales`): those become small modules re-exporting from
 * the bundled index, not 60-odd entries (each would be a chunk of its own).
 */
function zodEntries(zodDir, exports) {
  const entries = new Map();
  const reexports = new Map();
  for (const [subpath, value] of Object.entries(exports)) {
    const target = importTarget(value);
    if (!target) continue;
    if (!subpath.includes('*')) {
      if (target.endsWith('.js')) entries.set(subpath === '.' ? 'index' : subpath.slice(2), join(zodDir, target)); // not ./package.json
      continue;
    }
    const [before, after] = subpath.split('*');
    const [tBefore, tAfter] = target.split('*');
    if (after !== '' || tAfter !== '' || !before.endsWith('/') || !tBefore.endsWith('/')) throw new Error(`zod's export '${subpath}' has a form this bundler does not know`);
    const index = readFileSync(join(zodDir, tBefore, 'index.js'), 'utf8');
    const names = new Map([...index.matchAll(/export \{ default as (\w+) \} from "\.\/([\w-]+\.js)";/g)].map((m) => [m[2], m[1]]));
    for (const f of readdirSync(join(zodDir, tBefore))) {
      if (!f.endsWith('.js') || f === 'index.js') continue;
      const name = names.get(f);
      if (!name) throw new Error(`zod's ${tBefore}index.js does not re-export ${f} as a name: this bundler cannot map '${before}${f}'`);
      reexports.set(`${before.slice(2)}${f}`, { from: `${before.slice(2, -1)}.js`, name });
    }
  }
  return { entries, reexports };
}

/**
 * Builds the bundle unless it is there for the installed zod.
 *
 * @param {{ force?: boolean }} [options]
 * @returns {Promise<{ built: boolean, dir: string, version: string }>}
 */
export async function bundleZod(options = {}) {
  const require = createRequire(join(cliDir, '..', 'core', 'package.json'));
  const zodPkgPath = require.resolve('zod/package.json');
  const zodDir = dirname(zodPkgPath);
  const zodPkg = JSON.parse(readFileSync(zodPkgPath, 'utf8'));
  const { esbuild, version: esbuildVersion } = await loadEsbuild(cliDir);
  if (!options.force && existsSync(MANIFEST)) {
    const m = JSON.parse(readFileSync(MANIFEST, 'utf8'));
    if (m.zod === zodPkg.version && m.esbuild === esbuildVersion && m.form === BUNDLE_FORM && Object.values(m.entries).every((f) => existsSync(join(BUNDLE_DIR, f)))) {
      return { built: false, dir: BUNDLE_DIR, version: zodPkg.version };
    }
  }
  const { entries, reexports } = zodEntries(zodDir, zodPkg.exports);
  // built beside and swapped in, so that a command running meanwhile finds the old bundle or the new one
  const building = `${BUNDLE_DIR}.${process.pid}.new`;
  rmSync(building, { recursive: true, force: true });
  await esbuild.build({
    ...BUNDLE_OPTIONS,
    entryPoints: Object.fromEntries(entries),
    outdir: building,
  });
  const files = {};
  for (const name of entries.keys()) files[name === 'index' ? '.' : `./${name}`] = `${name}.js`;
  for (const [file, { from, name }] of reexports) {
    if (!entries.has(from.replace(/\.js$/, ''))) throw new Error(`'${file}' re-exports from '${from}', which is not bundled`);
    const out = join(building, file);
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `export { ${name} as default } from ${JSON.stringify(relative(dirname(file), from).replace(/^(?!\.)/, './'))};\n`);
    files[`./${file}`] = file;
  }
  // zod's licence goes with its code
  for (const f of readdirSync(zodDir).filter((n) => /^licen[cs]e/i.test(n))) copyFileSync(join(zodDir, f), join(building, f));
  writeFileSync(join(building, 'manifest.json'), `${JSON.stringify({ zod: zodPkg.version, esbuild: esbuildVersion, form: BUNDLE_FORM, entries: files }, null, 2)}\n`);
  const old = `${BUNDLE_DIR}.${process.pid}.old`;
  if (existsSync(BUNDLE_DIR)) renameSync(BUNDLE_DIR, old);
  renameSync(building, BUNDLE_DIR);
  rmSync(old, { recursive: true, force: true });
  return { built: true, dir: BUNDLE_DIR, version: zodPkg.version };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const r = await bundleZod({ force: process.argv.includes('--force') });
  if (r.built) process.stderr.write(`bundled zod ${r.version} into ${r.dir}\n`);
}
