/**
 * Waiting for LINSTOR's asynchronous clone.
 *
 * @module
 */
import { StorageError } from '@stowage/core';
import { cloneStatus } from './client/api.js';
import { sleep, type LinstorEnv } from './exec.js';

/**
 * Polls a clone started with `startClone` until it is `COMPLETE`.
 *
 * @param env - the call's environment
 * @param location - the `location` the clone answered with
 * @param rd - the clone's LINSTOR name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `COMMAND_FAILED` (clone `FAILED`), `TIMEOUT`
 */
export async function waitForClone(env: LinstorEnv, location: string, rd: string): Promise<void> {
  const limit = env.config.cloneTimeoutSeconds * 1000;
  for (let waited = 0; ; waited += env.config.pollIntervalMs) {
    const { status } = await cloneStatus(env.client, env.call, location);
    if (status === 'COMPLETE') return;
    if (status === 'FAILED') {
      throw new StorageError('COMMAND_FAILED', `LINSTOR clone ${rd} failed`, { details: { resource: rd, location, status } });
    }
    if (waited >= limit) {
      throw new StorageError('TIMEOUT', `LINSTOR clone ${rd} did not finish within ${env.config.cloneTimeoutSeconds} s`, { details: { resource: rd, location } });
    }
    await sleep(env.config.pollIntervalMs, env.ctx.signal);
  }
}
