/**
 * The line of waiters of one etcd lock: waiter keys `<lock key>/<lease id>`, oldest first. The
 * oldest key holds the lock; a waiter holds it once every key ahead of its own is deleted.
 *
 * @module
 */
import type { Etcd3, IKeyValue, ITxnResponse } from 'etcd3';

/** How long a waiter trusts the watch alone before it reads the line again. */
export const POLL_MS = 500;

/**
 * Puts our waiter key, reading everyone in line just before it in the same transaction; or, if
 * an earlier attempt made the key already, reads it.
 *
 * @param client - the etcd client
 * @param mine - our waiter key, `<line><lease id>`
 * @param line - the lock key and a `/`
 * @param record - our lock record (the key's value)
 * @param leaseId - our lease
 * @param deadline - a `Date.now()` time to give up at
 */
export function enqueue(client: Etcd3, mine: string, line: string, record: string, leaseId: string, deadline: number): Promise<ITxnResponse> {
  const k = Buffer.from(mine);
  return client.kv.txn(
    {
      compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
      success: [{ request_range: inLine(line) }, { request_put: { key: k, value: Buffer.from(record), lease: leaseId } }],
      failure: [{ request_range: { key: k } }],
    },
    { deadline: new Date(deadline) },
  );
}

/**
 * The waiters ahead of the one created at `revision`, and the revision of the read.
 *
 * @param client - the etcd client
 * @param line - the lock key and a `/`
 * @param revision - the create revision of our waiter key
 * @param deadline - a `Date.now()` time to give up at
 */
export async function ahead(client: Etcd3, line: string, revision: string, deadline: number): Promise<{ kvs: IKeyValue[]; revision: string }> {
  const res = await client.kv.range({ ...inLine(line), max_create_revision: String(BigInt(revision) - 1n) }, { deadline: new Date(deadline) });
  return { kvs: res.kvs, revision: res.header.revision };
}

/**
 * The first waiters of a line, oldest first: its holder and the next one (so that a caller can
 * skip its own key).
 *
 * @param client - the etcd client
 * @param line - the lock key and a `/`
 * @param deadline - a `Date.now()` time to give up at
 */
export async function front(client: Etcd3, line: string, deadline: number): Promise<IKeyValue[]> {
  const res = await client.kv.range({ ...inLine(line), sort_order: 'Ascend', sort_target: 'Create', limit: 2 }, { deadline: new Date(deadline) });
  return res.kvs;
}

/** A range over every waiter key of one lock (`<lock key>/<lease id>`). */
export function inLine(line: string): { key: Buffer; range_end: Buffer } {
  const end = Buffer.from(line);
  end[end.length - 1] = (end[end.length - 1] ?? 0) + 1; // '/' + 1: the first key after all that start with `line`
  return { key: Buffer.from(line), range_end: end };
}

/** The waiter that came first: the lock's holder. */
export function oldest(kvs: Iterable<IKeyValue>): IKeyValue | undefined {
  let first: IKeyValue | undefined;
  for (const kv of kvs) if (!first || BigInt(kv.create_revision) < BigInt(first.create_revision)) first = kv;
  return first;
}
