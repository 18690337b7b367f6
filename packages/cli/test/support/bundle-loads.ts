/**
 * What a run of the binary loaded, told in built modules: each file of the command's bundle
 * (dist/bundle/, see src/cli-bundle.ts) stands for the modules it holds, as its manifest lists
 * them, so that a test of what a command loads holds with the bundle and without it; a file of
 * zod's bundle (dist/zod/) counts as the package `zod`.
 */
import { readFileSync } from 'node:fs';
import { packageOfUrl, type LoadedRun } from '../../../core/test/support/loaded-modules.js';

/** The bundle's directory URL. */
export const BUNDLE_URL = new URL('../../dist/bundle/', import.meta.url);
const ZOD_BUNDLE_URL = new URL('../../dist/zod/', import.meta.url);

const packageOf = (url: string): string | undefined => (url.startsWith(ZOD_BUNDLE_URL.href) ? 'zod' : packageOfUrl(url));

/**
 * `run` with each bundle file it loaded replaced by the built modules that file holds, and its
 * packages counted again.
 *
 * @param run - a run recorded by `runRecordingLoads`
 */
export function inBuiltModules(run: LoadedRun): LoadedRun {
  const bundled = run.urls.some((u) => u.startsWith(BUNDLE_URL.href));
  const manifest = bundled ? (JSON.parse(readFileSync(new URL('manifest.json', BUNDLE_URL), 'utf8')) as { chunks: Record<string, string[]> }) : undefined;
  const urls = run.urls.flatMap((u) => {
    if (manifest === undefined || !u.startsWith(BUNDLE_URL.href)) return [u];
    const held = manifest.chunks[u.slice(BUNDLE_URL.href.length)];
    if (held === undefined) throw new Error(`${u} is not in the bundle's manifest`);
    return held.map((s) => new URL(s, BUNDLE_URL).href);
  });
  return { ...run, urls, packages: new Set(urls.map(packageOf).filter((p): p is string => p !== undefined)) };
}
