#!/usr/bin/env node
/**
 * The `stowage` executable: runs {@link runCli} on this process and sets its exit status.
 * SIGINT and SIGTERM abort a running transfer, which then cleans up and exits with `ABORTED`.
 * Failed writes to standard output and standard error are handled inside {@link runCli}.
 *
 * Node's module compile cache is turned on first (in its default place, or `$NODE_COMPILE_CACHE`;
 * `NODE_DISABLE_COMPILE_CACHE=1` turns it off), so that later runs skip compiling the modules:
 * scripts call the command in loops. The command, the core and the plugins are imported from the
 * bundle the build makes of them, when it is current (see `cli-bundle.ts`), and zod from the
 * bundle made of it (see `zod-bundle.ts`). When the command is done and nothing else is pending, the
 * process exits at once (with the command's exit status), skipping Node's heap teardown.
 *
 * @module
 */
import { fstatSync } from 'node:fs';
import module from 'node:module';
import { useCliBundle } from './cli-bundle.js';
import { useZodBundle } from './zod-bundle.js';

module.enableCompileCache?.();
const zod = useZodBundle(new URL('./zod/', import.meta.url));
// registered after zod's, so that its hook runs first: zod imported from the bundle is resolved
// as from the core, then sent to zod's bundle
const bundle = useCliBundle(new URL('./bundle/', import.meta.url));
// validated configs are remembered between runs of the same build (see config-memo.ts)
const configMemoStamp = zod && bundle ? JSON.stringify({ zod: zod.zod, packages: bundle.packages }) : undefined;
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
  // made when first read: making it turns a pipe non-blocking, and an import reads fd 0 itself
  get stdin() {
    return process.stdin;
  },
  stdinFd: 0,
  stdout: process.stdout,
  stderr: process.stderr,
  env: process.env,
  cwd: process.cwd(),
  signal: controller.signal,
}, configMemoStamp === undefined ? {} : { configMemoStamp });
process.off('SIGINT', onSignal);
process.off('SIGTERM', onSignal);

/**
 * The resource a standard stream holds in Node's event loop: a terminal's or a pipe's handle;
 * none for a file or `/dev/null`.
 */
function stdioResource(stream: (NodeJS.ReadStream | NodeJS.WriteStream) & { fd: number }): string | undefined {
  if (stream.isTTY) return 'TTYWrap';
  try {
    const st = fstatSync(stream.fd);
    return st.isFIFO() || st.isSocket() ? 'PipeWrap' : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether nothing is left that Node would run before ending the process by itself: no timer,
 * child process, socket, file request or watcher (only the standard streams' own handles), and
 * no `beforeExit` listener.
 */
function idle(): boolean {
  if (process.listenerCount('beforeExit') > 0) return false;
  const expected = [stdioResource(process.stdin), stdioResource(process.stdout), stdioResource(process.stderr)];
  for (const resource of process.getActiveResourcesInfo()) {
    const i = expected.indexOf(resource);
    if (i < 0) return false;
    expected.splice(i, 1);
  }
  return true;
}

// Once the command is done and the promises it left have settled: when nothing else is pending,
// the process ends now, without Node tearing its heap down first (some 10 ms after a listing
// of 1,000 images); otherwise Node ends it as usual, after that work.
setImmediate(() => {
  if (idle()) process.exit();
});
