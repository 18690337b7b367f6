/**
 * Capacity of the storage: the resource group's size query, reused for `statusCacheSeconds`
 * and forgotten after every write this plugin makes.
 *
 * @module
 */
import { isStorageError, type StorageStatus } from '@stowage/core';
import { querySizeInfo } from '../client/api.js';
import type { LinstorEnv } from './env.js';

/** Remembers the last size answer of one storage for a while. */
export class StatusCache {
  #value: StorageStatus | undefined;
  #key = '';
  #at = 0;

  /**
   * The cached status, or a fresh one.
   *
   * @param env - the call's environment
   * @param now - the current time in ms (for tests)
   */
  async get(env: LinstorEnv, now: number = Date.now()): Promise<StorageStatus> {
    const ttl = env.config.statusCacheSeconds * 1000;
    const key = JSON.stringify([env.config.controller, env.config.resourceGroup]);
    if (this.#value && this.#key === key && ttl > 0 && now - this.#at < ttl) return this.#value;
    const value = await queryStatus(env);
    if (value.active) {
      this.#value = value;
      this.#key = key;
      this.#at = now;
    }
    return value;
  }

  /** Forgets the cached answer (after a write). */
  clear(): void {
    this.#value = undefined;
  }
}

/**
 * Asks the controller how much the resource group can hold. An unreachable controller or a
 * missing group gives `active: false` with zeros, as the contract asks.
 *
 * @param env - the call's environment
 * @see Proxmox `LINSTORPlugin::status`
 */
export async function queryStatus(env: LinstorEnv): Promise<StorageStatus> {
  try {
    const info = await querySizeInfo(env.client, env.call, env.config.resourceGroup);
    const total = (info.space_info?.capacity_in_kib ?? 0) * 1024;
    const available = (info.space_info?.available_size_in_kib ?? 0) * 1024;
    return { total, available, used: Math.max(0, total - available), active: true };
  } catch (e) {
    if (isStorageError(e) && ['NOT_FOUND', 'UNAVAILABLE', 'TIMEOUT', 'PERMISSION_DENIED'].includes(e.code)) {
      env.ctx.log.warn(`LINSTOR status unavailable: ${e.message}`, { code: e.code });
      return { total: 0, available: 0, used: 0, active: false, details: { reason: e.code } };
    }
    throw e;
  }
}
