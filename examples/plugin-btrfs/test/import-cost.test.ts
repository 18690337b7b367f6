/**
 * What loading the plugin costs, by what it loads (never by the clock): importing the plugin
 * loads no zod, and loading its schema does. The test runs the built plugin (`dist/`, `tsc -b`)
 * in a child process that records every module it loads.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const exec = promisify(execFile);
const index = new URL('../dist/index.js', import.meta.url).href;

const PROGRAM = `
import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ load(url, context, next) { seen.push(url); return next(url, context); } });
const zod = () => seen.some((u) => /\\/node_modules\\/zod\\//.test(u));
const { BtrfsPlugin } = await import(${JSON.stringify(index)});
const { loadConfigSchema } = await import('@stowage/core');
const atImport = zod();
const schema = await loadConfigSchema(BtrfsPlugin);
console.log(JSON.stringify({ atImport, atLoad: zod(), path: schema.parse({ type: 'btrfs', storage: 'bt', path: '/mnt/bt/' }).path }));
`;

it('importing the plugin loads no zod; loading its schema does', async () => {
  if (!existsSync(fileURLToPath(index))) throw new Error(`${index} is missing: run 'npx tsc -b' in examples/plugin-btrfs first`);
  const { stdout } = await exec(process.execPath, ['--input-type=module', '-e', PROGRAM], { cwd: fileURLToPath(new URL('..', import.meta.url)) });
  expect(JSON.parse(stdout)).toEqual({ atImport: false, atLoad: true, path: '/mnt/bt' });
});
