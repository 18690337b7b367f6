/**
 * The conformance kit's crash cases on the testbed: the child process the kit SIGKILLs runs the
 * plugin's built package and reaches the guest through the core's `SshRunner`, with the same
 * ssh options (as JSON) as the tests' own runner.
 *
 * @module
 */
import { fileURLToPath, pathToFileURL } from 'node:url';
import { join } from 'node:path';
import type { KitChildProcess } from '@stowage/core/testing';
import { runningState, testbedSshOptions } from './ssh.js';

const packagesDir = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The kit's `child` hook for a plugin of this repository run against the testbed guest: the
 * plugin from `packages/<dir>/dist`, the core from `packages/core/dist` (build first: `tsc -b`),
 * and an `SshRunner` with {@link testbedSshOptions} of the running guest, on a connection of its
 * own (no shared master).
 *
 * @param dir - the plugin's directory under `packages/`, e.g. `plugin-zfs`
 * @param pluginExport - the plugin class's export name
 * @returns the hook
 * @throws Error when no guest is up
 * @example
 * ```ts
 * setup: () => ({ config, runner, child: testbedChild('plugin-zfs', 'ZfsPoolPlugin') }),
 * ```
 */
export function testbedChild(dir: string, pluginExport: string): KitChildProcess {
  const coreModule = pathToFileURL(join(packagesDir, 'core/dist/index.js')).href;
  return {
    pluginModule: pathToFileURL(join(packagesDir, dir, 'dist/index.js')).href,
    pluginExport,
    coreModule,
    // its own connection, not the tests' shared master: killing the child must tear its session
    // down, as a crash does to a real client's
    runner: { module: pathToFileURL(join(packagesDir, 'core/dist/plugin.js')).href, export: 'SshRunner', options: testbedSshOptions(runningState(), false) },
  };
}
