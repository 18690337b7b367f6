/**
 * Where stowage keeps things in etcd, under one prefix (`stowage/` by default):
 *
 * - `<prefix>config/storage.cfg`: the cluster's `storage.cfg` text;
 * - `<prefix>locks/cluster/storage/<storeId>`: a shared storage's lock, for every node;
 * - `<prefix>locks/cluster/volume/<storeId>/<volname>`: a volume's lock on a shared storage;
 * - `<prefix>locks/node/<node>/storage/<storeId>` (and `.../volume/...`): a local storage's
 *   lock, which only that node's processes take, as Proxmox locks local storages per node;
 * - `<prefix>changes/<storeId>`: bumped after every write to a storage.
 *
 * Ids and names are percent-encoded, so no storage id or volname can reach outside its place.
 * Pure functions only.
 *
 * @module
 */

/** Which lock a key stands for, as read back from the key. */
export interface LockKeyParts {
  /** The storage. */
  readonly storeId: string;
  /** The volume, for a volume lock. */
  readonly volname?: string | undefined;
  /** The node, for a local storage's lock; undefined for a lock every node respects. */
  readonly node?: string | undefined;
}

const enc = encodeURIComponent;

/**
 * Makes a prefix end with `/` (an empty prefix stays empty).
 *
 * @param prefix - as configured
 * @returns the normalised prefix
 */
export function normalisePrefix(prefix: string): string {
  return prefix === '' || prefix.endsWith('/') ? prefix : `${prefix}/`;
}

/**
 * The key of the cluster's `storage.cfg`.
 *
 * @param prefix - the normalised prefix
 */
export function configKey(prefix: string): string {
  return `${prefix}config/storage.cfg`;
}

/**
 * The prefix under which every lock key lives.
 *
 * @param prefix - the normalised prefix
 */
export function locksPrefix(prefix: string): string {
  return `${prefix}locks/`;
}

/**
 * The key of a storage's (or volume's) lock.
 *
 * @param prefix - the normalised prefix
 * @param parts - storage, volume, and the node for a local storage's lock
 * @example
 * ```ts
 * lockKey('stowage/', { storeId: 'nfs' }); // 'stowage/locks/cluster/storage/nfs'
 * lockKey('stowage/', { storeId: 'local', node: 'pve1' }); // 'stowage/locks/node/pve1/storage/local'
 * ```
 */
export function lockKey(prefix: string, parts: LockKeyParts): string {
  const scope = parts.node === undefined ? 'cluster' : `node/${enc(parts.node)}`;
  const what = parts.volname === undefined ? `storage/${enc(parts.storeId)}` : `volume/${enc(parts.storeId)}/${enc(parts.volname)}`;
  return `${locksPrefix(prefix)}${scope}/${what}`;
}

/**
 * Reads a lock key back; `undefined` for a key that is not one of ours.
 *
 * @param prefix - the normalised prefix
 * @param key - a key under {@link locksPrefix}
 */
export function parseLockKey(prefix: string, key: string): LockKeyParts | undefined {
  const base = locksPrefix(prefix);
  if (!key.startsWith(base)) return undefined;
  const m = /^(?:cluster|node\/([^/]+))\/(?:storage\/([^/]+)|volume\/([^/]+)\/([^/]+))$/.exec(key.slice(base.length));
  if (!m) return undefined;
  try {
    const node = m[1] === undefined ? undefined : decodeURIComponent(m[1]);
    if (m[2] !== undefined) return { storeId: decodeURIComponent(m[2]), node };
    return { storeId: decodeURIComponent(m[3]!), volname: decodeURIComponent(m[4]!), node };
  } catch {
    return undefined;
  }
}

/**
 * The prefix under which the change keys live.
 *
 * @param prefix - the normalised prefix
 */
export function changesPrefix(prefix: string): string {
  return `${prefix}changes/`;
}

/**
 * The key bumped after a write to a storage.
 *
 * @param prefix - the normalised prefix
 * @param storeId - the storage
 */
export function changeKey(prefix: string, storeId: string): string {
  return `${changesPrefix(prefix)}${enc(storeId)}`;
}

/**
 * The storage a change key stands for; `undefined` for a key that is not one.
 *
 * @param prefix - the normalised prefix
 * @param key - a key under {@link changesPrefix}
 */
export function parseChangeKey(prefix: string, key: string): string | undefined {
  const base = changesPrefix(prefix);
  if (!key.startsWith(base) || key.length === base.length || key.slice(base.length).includes('/')) return undefined;
  try {
    return decodeURIComponent(key.slice(base.length));
  } catch {
    return undefined;
  }
}

/** What a lock key's value says about its holder. */
export interface LockRecord {
  /** The holder's node. */
  readonly node: string;
  /** The holder's process id. */
  readonly pid: number;
  /** What the holder is doing, when it said. */
  readonly operation?: string | undefined;
  /** When the lock was taken, milliseconds since the epoch. */
  readonly since: number;
}

/**
 * Writes a lock record as the key's value.
 *
 * @param record - the holder
 * @returns JSON text
 */
export function formatLockRecord(record: LockRecord): string {
  return JSON.stringify({ node: record.node, pid: record.pid, ...(record.operation !== undefined ? { operation: record.operation } : {}), since: record.since });
}

/**
 * Reads a lock record; fields that are missing or of the wrong type read as unknown
 * (`node: '?'`, `pid: 0`, `since: 0`), so that a foreign value never hides that the lock is held.
 *
 * @param text - the key's value
 */
export function parseLockRecord(text: string): LockRecord {
  let v: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(text);
    if (parsed !== null && typeof parsed === 'object') v = parsed as Record<string, unknown>;
  } catch {
    // a value we did not write: everything unknown
  }
  return {
    node: typeof v['node'] === 'string' ? v['node'] : '?',
    pid: typeof v['pid'] === 'number' ? v['pid'] : 0,
    ...(typeof v['operation'] === 'string' ? { operation: v['operation'] } : {}),
    since: typeof v['since'] === 'number' ? v['since'] : 0,
  };
}
