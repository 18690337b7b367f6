// What the two bundle scripts (bundle-zod.mjs, bundle-cli.mjs) share: how a bundle is made, the
// form recorded in each manifest, and the esbuild the command's package depends on.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * How a bundle is made, recorded in its manifest: a bundle of another form is made again.
 * Split ES modules; whitespace and syntax minified, names kept (stack traces still name
 * functions): less text for Node to read, hash against its compile cache and parse lazily
 * (a third less for the command's bundle, a sixth for zod's).
 */
export const BUNDLE_FORM = 'esm-split-minified';

/** The esbuild options of that form; each script adds its entries and output directory. */
export const BUNDLE_OPTIONS = Object.freeze({
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  chunkNames: 'chunks/[name]-[hash]',
  legalComments: 'eof',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
});

/**
 * The esbuild that the command's package depends on, and its version.
 *
 * @param {string} cliDir - the command's package directory
 * @returns {Promise<{ esbuild: typeof import('esbuild'), version: string }>}
 */
export async function loadEsbuild(cliDir) {
  const require = createRequire(join(cliDir, 'package.json'));
  const version = JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')).version;
  return { esbuild: await import(pathToFileURL(require.resolve('esbuild')).href), version };
}
