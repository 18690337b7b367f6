/**
 * What every operation of the plugin works with: the environment of one call (the client, the
 * config, this node's name, the per-call options), made by the plugin instance's
 * {@link LinstorSession}, which keeps one controller client per connection and the storage's
 * last status answer. Every request to the controller goes through the client (`client/`).
 *
 * @module
 */
import { setTimeout as delay } from 'node:timers/promises';
import type { StorageStatus } from '@stowage/core';
import type { PluginContext } from '@stowage/core/plugin';
import { clientFromConfig, connectionKey } from './client/from-config.js';
import type { CallOptions, LinstorClient } from './client/linstor-client.js';
import type { LinstorConfig } from './config.js';

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
  /** The storage's last status answer, kept for `statusCacheSeconds` and forgotten after every write. */
  readonly status: StatusMemo;
}

/** Remembers the last status answer of one storage for a while. */
export class StatusMemo {
  #value: StorageStatus | undefined;
  #key = '';
  #at = 0;

  /**
   * The remembered answer, or a fresh one from `query` (remembered when the storage is active).
   *
   * @param env - the call's environment (its config says how long an answer lasts)
   * @param query - asks the controller
   * @param now - the current time in ms
   */
  async get(env: LinstorEnv, query: () => Promise<StorageStatus>, now: number = Date.now()): Promise<StorageStatus> {
    const ttl = env.config.statusCacheSeconds * 1000;
    const key = JSON.stringify([env.config.controller, env.config.resourceGroup]);
    if (this.#value && this.#key === key && ttl > 0 && now - this.#at < ttl) return this.#value;
    const value = await query();
    if (value.active) {
      this.#value = value;
      this.#key = key;
      this.#at = now;
    }
    return value;
  }

  /** Forgets the answer (after a write). */
  clear(): void {
    this.#value = undefined;
  }
}

/**
 * What a plugin instance keeps between calls: one controller client (made again when the
 * connection settings change, the old one closed) and the status answer.
 */
export class LinstorSession {
  #client: { key: string; client: Promise<LinstorClient> } | undefined;
  readonly #status = new StatusMemo();

  /**
   * The environment of one call; the client is connected on first use.
   *
   * @param ctx - the call's context
   * @throws {@link @stowage/core!index.StorageError | StorageError} what connecting throws (`UNAVAILABLE`, `CONFIG_INVALID`, ...)
   */
  async env(ctx: PluginContext<LinstorConfig>): Promise<LinstorEnv> {
    const config = ctx.config;
    const key = connectionKey(config);
    if (this.#client?.key !== key) {
      const old = this.#client;
      const client = clientFromConfig(config);
      client.catch(() => undefined);
      this.#client = { key, client };
      if (old) void old.client.then((c) => c.close()).catch(() => undefined);
    }
    let client: LinstorClient;
    try {
      client = await this.#client.client;
    } catch (e) {
      this.#client = undefined;
      throw e;
    }
    return { ctx, client, config, node: config.node ?? ctx.node, call: { signal: ctx.signal, log: ctx.log }, status: this.#status };
  }

  /**
   * Closes the client, if one is connected (`deactivateStorage`).
   *
   * @param ctx - the call's context (unused: the session is the storage's)
   */
  async close(ctx: PluginContext<LinstorConfig>): Promise<void> {
    void ctx;
    const c = this.#client;
    this.#client = undefined;
    if (c) await (await c.client).close();
  }
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
