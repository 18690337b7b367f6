#!/usr/bin/env node
// Runs the stowage command from a clone of the repository: `pnpm stowage <args>` or
// `./scripts/dev stowage <args>`. It first brings the build up to date (`tsc -b packages/cli`,
// which compiles only what changed; its messages go to standard error, so that standard output
// carries only the command's own, --json included), then runs the command in the directory
// pnpm was started from (pnpm runs scripts at the workspace root and passes the caller's
// directory as INIT_CWD; scripts/dev passes it as STOWAGE_CALLER_CWD), so that ./storage.cfg and
// relative paths mean what they say.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const tsc = createRequire(join(root, 'package.json')).resolve('typescript/bin/tsc');
const build = spawnSync(process.execPath, [tsc, '-b', join(root, 'packages/cli')], { cwd: root, stdio: ['ignore', 2, 2] });
if (build.status !== 0) {
  process.stderr.write(`stowage: the build failed (tsc -b packages/cli exited ${build.status ?? build.signal}); fix it, or run 'npx tsc -b' to see more\n`);
  process.exit(build.status || 1);
}
// zod bundled for a faster start-up (packages/cli/src/zod-bundle.ts), built once per zod version;
// the command with the core and the plugins (packages/cli/src/cli-bundle.ts), built again when
// a module it holds changed
const { bundleZod } = await import(join(root, 'packages/cli/scripts/bundle-zod.mjs'));
await bundleZod();
const { bundleCli } = await import(join(root, 'packages/cli/scripts/bundle-cli.mjs'));
await bundleCli();
const caller = process.env.STOWAGE_CALLER_CWD || process.env.INIT_CWD;
if (caller) process.chdir(caller);
await import(join(root, 'packages/cli/dist/bin.js'));
