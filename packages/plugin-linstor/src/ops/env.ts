/**
 * What every operation of the plugin needs: the client, the config, this node's name, and the
 * per-call options (abort signal and logger).
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { PluginContext } from '@stowage/core/plugin';
import type { CallOptions, LinstorClient } from '../client/linstor-client.js';
import type { LinstorConfig } from '../config.js';

/** The environment of one plugin call. */
export interface LinstorEnv {
  /** The plugin context the manager passed. */
  readonly ctx: PluginContext<LinstorConfig>;
  /** The controller client of this storage. */
  readonly client: LinstorClient;
  /** The validated config. */
  readonly config: LinstorConfig;
  /** This node's LINSTOR name (`node` option, else the manager's node name). */
  readonly node: string;
  /** Signal and logger for every call. */
  readonly call: CallOptions;
}

/**
 * Waits `ms` milliseconds, or rejects when `signal` aborts.
 *
 * @param ms - how long
 * @param signal - abort signal
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await delay(ms, undefined, signal ? { signal } : {}).catch((e: unknown) => {
    throw signal?.aborted ? signal.reason : e;
  });
}
