/**
 * ssh access to the testbed guest: the core {@link SshRunner} pointed at it, and the raw ssh
 * argv for an interactive session.
 *
 * @module
 */
import { readFileSync } from 'node:fs';
import { SshRunner, sshArgv, type SshRunnerOptions } from '@stowage/core/plugin';
import { defaultInstanceDir, instancePaths } from './paths.js';
import type { TestbedState } from './state.js';

/**
 * The ssh options for a guest: root on 127.0.0.1 at the forwarded port, the testbed's own key,
 * host key checking off (the guest is a throwaway built here and reachable on loopback only),
 * a ControlMaster socket in the instance directory.
 *
 * @param state - the running guest's state
 * @param share - use the ControlMaster socket (default true)
 * @returns options for {@link SshRunner} or {@link sshArgv}
 */
export function testbedSshOptions(state: TestbedState, share = true): SshRunnerOptions {
  return {
    host: '127.0.0.1',
    port: state.sshPort,
    user: 'root',
    identityFile: state.identityFile,
    strictHostKeyChecking: false,
    connectTimeoutSeconds: 10,
    ...(share ? { controlPath: state.controlPath, controlPersistSeconds: 900 } : {}),
  };
}

/**
 * The ssh argv that runs nothing yet, for a guest without connection sharing (used while
 * waiting for it to boot, when a master connection must not be left behind half-made).
 *
 * @param state - the guest's state
 * @returns ssh argv up to and including the destination
 */
export function probeSshArgv(state: TestbedState): string[] {
  return sshArgv({ ...testbedSshOptions(state, false), connectTimeoutSeconds: 5, sshOptions: ['ControlMaster=no', 'ControlPath=none'] });
}

/**
 * Reads the state of the running guest, synchronously (so test files can call it at load).
 *
 * @param dir - the instance directory (default {@link defaultInstanceDir})
 * @returns the state
 * @throws Error when no guest is up
 */
export function runningState(dir: string = defaultInstanceDir()): TestbedState {
  try {
    return JSON.parse(readFileSync(instancePaths(dir).state, 'utf8')) as TestbedState;
  } catch {
    throw new Error(`testbed: no guest is up (no ${instancePaths(dir).state}); run \`pnpm testbed up\``);
  }
}

/**
 * The command runner for tests on real LVM-thin and ZFS: the core {@link SshRunner} pointed
 * at the running testbed guest, sharing one ssh connection. Plugins run their real commands
 * through it, streams (export/import) included.
 *
 * @param dir - the instance directory (default {@link defaultInstanceDir})
 * @returns the runner
 * @throws Error when no guest is up
 * @example
 * ```ts
 * const runner = testbedRunner();
 * const { stdout } = await runner.run(['lvs', '--noheadings', 'stowage']);
 * ```
 */
export function testbedRunner(dir: string = defaultInstanceDir()): SshRunner {
  return new SshRunner(testbedSshOptions(runningState(dir)));
}
