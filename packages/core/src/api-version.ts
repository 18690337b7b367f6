/**
 * The plugin API version and the window of versions a running core accepts.
 *
 * @module
 */
import { StorageError } from './errors.js';

/** The plugin API version this core implements. Bumped on every contract change (see `docs/api-changelog.md`). */
export const API_VERSION = 6;

/**
 * How many versions back a plugin may have been written for and still be accepted, as Proxmox's
 * `APIAGE`: a plugin is accepted when `API_VERSION - API_AGE <= apiVersion <= API_VERSION`.
 */
export const API_AGE = 2;

/**
 * Throws unless a plugin's declared API version lies in the accepted window.
 *
 * @param type - the plugin's type id, for the message
 * @param apiVersion - the version the plugin declares
 * @param window - the accepted window; defaults to this core's
 * @throws {@link StorageError} `API_VERSION_MISMATCH`
 */
export function assertCompatibleApi(
  type: string,
  apiVersion: number,
  window: { version: number; age: number } = { version: API_VERSION, age: API_AGE },
): void {
  const min = window.version - window.age;
  if (!Number.isInteger(apiVersion) || apiVersion < min || apiVersion > window.version) {
    throw new StorageError(
      'API_VERSION_MISMATCH',
      `plugin '${type}' implements API version ${String(apiVersion)}, this core accepts ${min}..${window.version}`,
      { details: { type, apiVersion, min, max: window.version } },
    );
  }
}
