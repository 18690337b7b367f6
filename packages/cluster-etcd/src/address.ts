/**
 * Cluster addresses: `etcd://h1:2379,h2:2379` (plain), `etcds://h1:2379,h2:2379?ca=/etc/ca.pem`
 * (TLS, with optional `cert` and `key` for client certificates), with an optional
 * `user:password@` and an optional key prefix as the path (`etcd://h1:2379/pve/`; `stowage/` by
 * default). The same text works as `--cluster`, `$STOWAGE_CLUSTER`, and the first line of a
 * `cluster.cfg` file.
 *
 * @module
 */
import { StorageError } from '@stowage/core';

/** A parsed cluster address. */
export interface ClusterAddress {
  /** `host:port` of each member to talk to. */
  readonly endpoints: string[];
  /** The key prefix, when the address names one. */
  readonly prefix?: string | undefined;
  /** TLS, for `etcds://`: files of the CA, and of a client certificate and key. */
  readonly tls?: { readonly caFile?: string | undefined; readonly certFile?: string | undefined; readonly keyFile?: string | undefined } | undefined;
  /** User and password, when the address has them. */
  readonly auth?: { readonly username: string; readonly password: string } | undefined;
}

function invalid(text: string, why: string): never {
  throw new StorageError('INVALID_ARGUMENT', `invalid cluster address '${text.replace(/\/\/[^@/]*@/, '//***@')}': ${why}`, { details: { reason: why } });
}

/**
 * Parses a cluster address.
 *
 * @param text - `etcd://[user:password@]host:port[,host:port...][/prefix/][?ca=FILE&cert=FILE&key=FILE]`
 * @returns the endpoints, prefix, TLS files and credentials
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` for anything else
 * @example
 * ```ts
 * parseClusterAddress('etcd://10.0.0.1:2379,10.0.0.2:2379');
 * // { endpoints: ['10.0.0.1:2379', '10.0.0.2:2379'] }
 * ```
 */
export function parseClusterAddress(text: string): ClusterAddress {
  const m = /^(etcds?):\/\/(?:([^:@/]+):([^@/]*)@)?([^/?#]+)(\/[^?#]*)?(?:\?([^#]*))?$/.exec(text.trim());
  if (!m) invalid(text, "expected etcd://host:port[,host:port...]");
  const [, scheme, user, password, hosts, path, query] = m;
  const endpoints = hosts!.split(',').map((h) => h.trim());
  for (const h of endpoints) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):[0-9]{1,5}$/.test(h) || Number(h.slice(h.lastIndexOf(':') + 1)) > 65535) invalid(text, `'${h}' is not host:port`);
  }
  const prefix = path && path !== '/' ? decodeURIComponent(path.slice(1)) : undefined;
  const params = new URLSearchParams(query ?? '');
  for (const k of params.keys()) if (!['ca', 'cert', 'key'].includes(k)) invalid(text, `unknown parameter '${k}'`);
  if (scheme === 'etcd' && [...params.keys()].length > 0) invalid(text, 'ca, cert and key need etcds://');
  if ((params.get('cert') === null) !== (params.get('key') === null)) invalid(text, 'cert and key go together');
  return {
    endpoints,
    ...(prefix !== undefined ? { prefix } : {}),
    ...(scheme === 'etcds'
      ? { tls: { caFile: params.get('ca') ?? undefined, certFile: params.get('cert') ?? undefined, keyFile: params.get('key') ?? undefined } }
      : {}),
    ...(user !== undefined ? { auth: { username: decodeURIComponent(user), password: decodeURIComponent(password ?? '') } } : {}),
  };
}

/**
 * Reads the address out of a `cluster.cfg` text: the first line that is neither empty nor a
 * `#` comment.
 *
 * @param text - the file's text
 * @returns the address text, or `undefined` when the file names none
 */
export function clusterAddressFromFile(text: string): string | undefined {
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t !== '' && !t.startsWith('#')) return t;
  }
  return undefined;
}
