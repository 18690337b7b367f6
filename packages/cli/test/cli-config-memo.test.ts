/**
 * The built `stowage` binary and its memo of validated configs (src/config-memo.ts), by what it
 * loads (never by the clock): the first command on a storage.cfg validates it (loading zod) and
 * writes the memo; the next one on the same text loads no zod and writes nothing; a section
 * edited to a bad value is reported CONFIG_INVALID (the memo never answers for another text); a
 * memo file that others may write is ignored, whatever it holds. The binary uses the memo only
 * while its bundles are current: they are built here (as `pnpm build` does; nothing to do when
 * they are current), and the tests are skipped when they still are not.
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runRecordingLoads } from '../../core/test/support/loaded-modules.js';
// @ts-expect-error -- a build script without type declarations
import { bundleCli } from '../scripts/bundle-cli.mjs';
// @ts-expect-error -- a build script without type declarations
import { bundleZod } from '../scripts/bundle-zod.mjs';
import { currentCliBundle } from '../src/cli-bundle.js';
import { BUNDLE_URL } from './support/bundle-loads.js';
import { assertBuilt, BIN, jsonError } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

/** What a memo file holds. */
interface MemoFile {
  stamp: string;
  entries: Array<[string, Record<string, unknown>]>;
}

describe('the stowage binary remembers validated configs', () => {
  /** Whether the binary runs from current bundles (and so passes a build stamp for the memo). */
  let bundled = false;
  beforeAll(async () => {
    assertBuilt();
    await (bundleZod as () => Promise<unknown>)();
    await (bundleCli as () => Promise<unknown>)();
    bundled = existsSync(new URL('../dist/zod/manifest.json', import.meta.url)) && currentCliBundle(BUNDLE_URL) !== undefined;
  });
  let s: Sandbox;
  let cache: string;
  let memoFile: string;
  beforeEach((ctx) => {
    if (!bundled) ctx.skip();
    s = makeSandbox('memo');
    cache = join(s.dir, 'cache');
    memoFile = join(cache, 'stowage', 'config-memo.json');
    mkdirSync(join(s.dir, 'local'));
  });
  afterEach(() => s?.remove());

  const env = (): Record<string, string> => ({ ...s.env, XDG_CACHE_HOME: cache, STOWAGE_CONFIG_MEMO: '' });
  const stowage = (args: readonly string[]) => runRecordingLoads([BIN, ...args], { cwd: s.dir, env: env() });
  const zodUrls = (urls: readonly string[]): string[] => urls.filter((u) => u.includes('/zod/'));
  /** Sets the memo's mtime an hour back, to see whether a run writes it. */
  const ageMemo = (): number => {
    const past = new Date(Date.now() - 3600_000);
    utimesSync(memoFile, past, past);
    return statSync(memoFile).mtimeMs;
  };

  it('the second command on an unchanged storage.cfg loads no zod; an edited section is validated again and reported CONFIG_INVALID', async () => {
    writeFileSync(s.config, `dir: local\n\tpath ${s.dir}/local\n\tcontent images\n`);

    const first = await stowage(['list', 'local', '--json']);
    expect(first.code, first.stderr).toBe(0);
    // the first run validated the section: it loaded zod (else this test could not fail) and wrote the memo
    expect(zodUrls(first.urls).length).toBeGreaterThan(0);
    const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as MemoFile;
    expect(memo.entries.map(([raw]) => JSON.parse(raw) as unknown)).toEqual([{ type: 'dir', storage: 'local', path: `${s.dir}/local`, content: 'images' }]);
    expect(statSync(memoFile).mode & 0o777).toBe(0o600);
    const mtime = ageMemo();

    const second = await stowage(['list', 'local', '--json']);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toBe(first.stdout);
    expect(zodUrls(second.urls)).toEqual([]);
    // nothing new validated: the memo is not written again
    expect(statSync(memoFile).mtimeMs).toBe(mtime);

    // the section edited to a bad path: validated (zod loaded again), refused, not remembered
    writeFileSync(s.config, `dir: local\n\tpath relative/local\n\tcontent images\n`);
    const edited = await stowage(['list', 'local', '--json']);
    expect(edited.code).not.toBe(0);
    expect(jsonError(edited.stderr)).toMatchObject({ code: 'CONFIG_INVALID', details: { storeId: 'local' } });
    expect(zodUrls(edited.urls).length).toBeGreaterThan(0);
    expect(statSync(memoFile).mtimeMs).toBe(mtime);
    expect(JSON.parse(readFileSync(memoFile, 'utf8'))).toEqual(memo);

    // STOWAGE_CONFIG_MEMO=0: validated every time
    writeFileSync(s.config, `dir: local\n\tpath ${s.dir}/local\n\tcontent images\n`);
    const off = await runRecordingLoads([BIN, 'list', 'local', '--json'], { cwd: s.dir, env: { ...env(), STOWAGE_CONFIG_MEMO: '0' } });
    expect(off.code, off.stderr).toBe(0);
    expect(zodUrls(off.urls).length).toBeGreaterThan(0);
  });

  it.each([
    ['group-writable', 0o620],
    ['world-writable', 0o602],
  ])('a planted memo file that is %s is ignored, though it has the right stamp and a config for the exact section', async (_what, mode) => {
    // a run on another configuration, for the stamp of this build
    writeFileSync(s.config, `dir: local\n\tpath ${s.dir}/local\n`);
    const seed = await stowage(['list', 'local', '--json']);
    expect(seed.code, seed.stderr).toBe(0);
    const { stamp } = JSON.parse(readFileSync(memoFile, 'utf8')) as MemoFile;

    // a section with a bad path, and a memo that says it is fine
    mkdirSync(join(s.dir, 'planted'));
    writeFileSync(s.config, `dir: planted\n\tpath relative/planted\n`);
    const planted: MemoFile = {
      stamp,
      entries: [[JSON.stringify({ type: 'dir', storage: 'planted', path: 'relative/planted' }), { type: 'dir', storage: 'planted', path: `${s.dir}/planted`, content: ['images'] }]],
    };
    const text = `${JSON.stringify(planted)}\n`;
    writeFileSync(memoFile, text);
    chmodSync(memoFile, 0o600);
    // the user's own file is trusted: the record is of the right form (else this test could not fail)
    const trusted = await stowage(['list', 'planted', '--json']);
    expect(trusted.code, trusted.stderr).toBe(0);
    expect(zodUrls(trusted.urls)).toEqual([]);

    chmodSync(memoFile, mode);
    const ignored = await stowage(['list', 'planted', '--json']);
    expect(ignored.code).not.toBe(0);
    expect(jsonError(ignored.stderr)).toMatchObject({ code: 'CONFIG_INVALID', details: { storeId: 'planted' } });
    // left as it was
    expect(readFileSync(memoFile, 'utf8')).toBe(text);
    expect(statSync(memoFile).mode & 0o777).toBe(mode);
  });
});
