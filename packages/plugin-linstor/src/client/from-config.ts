/**
 * Builds a {@link LinstorClient} from a `linstor` storage config, reading the TLS files and the
 * token file.
 *
 * @module
 */
import { readFile } from 'node:fs/promises';
import { StorageError } from '@stowage/core';
import type { LinstorConfig } from '../config.js';
import { LinstorClient } from './linstor-client.js';
import { tokenFromAuthJson } from './transport.js';

async function readConfigFile(path: string | undefined, what: string): Promise<string | undefined> {
  if (path === undefined) return undefined;
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    throw new StorageError('CONFIG_INVALID', `cannot read the LINSTOR ${what} file ${path}`, { cause: e, details: { path } });
  }
}

/**
 * The part of the config that decides the connection; two configs with the same key share a client.
 *
 * @param config - the storage config
 */
export function connectionKey(config: LinstorConfig): string {
  const { controller, apiCa, apiCert, apiKey, apiToken, apiTokenFile, apiTlsVerify, timeoutMs, readRetries } = config;
  return JSON.stringify([controller, apiCa, apiCert, apiKey, apiToken, apiTokenFile, apiTlsVerify, timeoutMs, readRetries]);
}

/**
 * Makes a client for a config.
 *
 * @param config - the storage config
 * @returns the client
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CONFIG_INVALID` when a TLS or token file cannot be read, or a
 *   client certificate comes without its key
 */
export async function clientFromConfig(config: LinstorConfig): Promise<LinstorClient> {
  if (Boolean(config.apiCert) !== Boolean(config.apiKey)) {
    throw new StorageError('CONFIG_INVALID', 'apiCert and apiKey must be given together');
  }
  const [ca, cert, key, tokenText] = await Promise.all([
    readConfigFile(config.apiCa, 'CA'),
    readConfigFile(config.apiCert, 'client certificate'),
    readConfigFile(config.apiKey, 'client key'),
    config.apiToken ? Promise.resolve(undefined) : readConfigFile(config.apiTokenFile, 'token'),
  ]);
  const token = config.apiToken ?? (tokenText === undefined ? undefined : tokenFromAuthJson(tokenText));
  return new LinstorClient({
    controllers: config.controller,
    tls: { ca, cert, key, verify: config.apiTlsVerify },
    token,
    timeoutMs: config.timeoutMs,
    readRetries: config.readRetries,
  });
}
