#!/usr/bin/env node
/**
 * The `stowage` executable: runs {@link runCli} on this process and sets its exit status.
 * SIGINT and SIGTERM abort a running transfer, which then cleans up and exits with `ABORTED`.
 * Failed writes to standard output and standard error are handled inside {@link runCli}.
 *
 * Node's module compile cache is turned on first (in its default place, or `$NODE_COMPILE_CACHE`;
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off), so that later runs skip compiling the modules:
 * scripts call the command in loops. zod is imported from the bundle the build makes of it, when
 * there is one (see `zod-bundle.ts`).
 *
 * @module
 */
import module from 'node:module';
import { useZodBundle } from './zod-bundle.js';

module.enableCompileCache?.();
useZodBundle(new URL('./zod/', import.meta.url));
const { runCli } = await import('./main.js');

const controller = new AbortController();
let interrupted = 0;
const onSignal = (): void => {
  interrupted++;
  if (interrupted > 1) process.exit(130);
  controller.abort();
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

process.exitCode = await runCli(process.argv.slice(2), {
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
});
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);
