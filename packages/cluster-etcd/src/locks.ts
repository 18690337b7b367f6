/**
 * Storage and volume locks on etcd, after etcd's own mutex recipe: each waiter puts a key of
 * its own under the lock's key (`<lock key>/<lease id>`, by a compare-and-swap on
 * `create_revision == 0`), attached to a lease of its own; the oldest key holds the lock, and
 * every other waiter waits for the deletion of the keys ahead of its own (read in the same
 * transaction that put it), heard through one watch per service that is in place before the
 * waiter queues (see deletions.ts), and read again every half second while the watch is silent
 * or not yet confirmed. So the lock goes to waiters in the order they came, whichever node
 * they are on, and the next waiter holds it as soon as it hears the release, without another
 * request.
 *
 * The lease is kept alive while the lock is held or waited for, so a holder that dies, stalls or
 * loses etcd gives the lock up within the lease TTL; the holder itself is told (its handle's
 * signal aborts with `LOCK_LOST`) before etcd can hand the lock to anyone else. Release revokes
 * the lease, which deletes the key.
 *
 * Waiters of one process take turns in arrival order before that, so only the first of them
 * waits in etcd.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { lockSubject, StorageError, type LockHandle, type LockHolder, type LockRequest, type LockService } from '@stowage/core';
import { EtcdLeaseInvalidError, type Etcd3, type IKeyValue } from 'etcd3';
import { etcdError, etcdErrorCode } from './errors.js';
import { formatLockRecord, lockKey, locksPrefix, parseLockKey, parseLockRecord, type LockRecord } from './keys.js';
import { HeldLease, type LeaseLoss } from './lease.js';
import { Deletions } from './deletions.js';
import { ahead, enqueue, front as lineFront, oldest, POLL_MS } from './line.js';
import { Turns } from './turns.js';

/** Options of {@link EtcdLocks}. */
export interface EtcdLocksOptions {
  /** The connected client. */
  readonly client: Etcd3;
  /** The normalised key prefix. */
  readonly prefix: string;
  /** This node's name: it names holders, and scopes the locks of local storages. */
  readonly node: string;
  /** The endpoints, for error details. */
  readonly endpoints: readonly string[];
  /**
   * The TTL of a lock's lease, in seconds: how long a holder that died or stalled keeps the
   * others waiting, and how long a holder may go without reaching etcd before its lock is lost.
   * @default 10
   */
  readonly leaseTtlSeconds?: number | undefined;
  /**
   * How long a caller waits for a lock, in milliseconds.
   * @default 10_000
   */
  readonly acquireTimeoutMs?: number | undefined;
  /**
   * The longest a shared storage's lock may be held, in milliseconds (`0`: no limit).
   * @default 60_000
   */
  readonly sharedHoldMs?: number | undefined;
  /**
   * The longest a local storage's lock may be held, in milliseconds (`0`: no limit).
   * @default 0
   */
  readonly localHoldMs?: number | undefined;
  /**
   * How long a release may take before the lease is left to expire, in milliseconds.
   * @default 5000
   */
  readonly requestTimeoutMs?: number | undefined;
}

const RETRY_MS = 100;
/** A call unanswered for this long makes etcd count as unreachable (see `#stalled`). */
const STALL_MS = 1000;
/** What {@link EtcdLocks} `#call` races an etcd call against: the acquire's deadline passed first. */
const ABANDONED = Symbol('abandoned');

function checkMs(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${name} must be a finite number >= 0`);
  return value;
}

/**
 * The etcd {@link LockService}. One per connection; `connect()` makes it.
 *
 * @example
 * ```ts
 * const cluster = await connect({ endpoints: ['10.0.0.1:2379'], node: 'pve1' });
 * const lock = await cluster.locks.acquire({ storeId: 'nfs', shared: true, operation: 'allocImage' });
 * try { await work(lock.signal); } finally { await lock.release(); }
 * ```
 */
export class EtcdLocks implements LockService {
  readonly #client: Etcd3;
  readonly #prefix: string;
  readonly #node: string;
  readonly #endpoints: readonly string[];
  readonly #ttlSeconds: number;
  readonly #acquireTimeoutMs: number;
  readonly #sharedHoldMs: number;
  readonly #localHoldMs: number;
  readonly #requestTimeoutMs: number;
  readonly #turns = new Turns();
  readonly #deletions: Deletions;
  readonly #held = new Set<{ lose(): void; release(): Promise<void> }>();
  /** Start times of the etcd calls waiting for an answer, by call number. */
  readonly #inFlight = new Map<number, number>();
  #calls = 0;
  #lastFailure: { at: number; error: unknown } | undefined;
  #lastSuccess = 0;
  #closed = false;

  /**
   * @param options - client, prefix, node, lease TTL, timeouts
   * @throws TypeError on a lease TTL below 1 s or a negative timeout
   */
  constructor(options: EtcdLocksOptions) {
    this.#client = options.client;
    this.#prefix = options.prefix;
    this.#node = options.node;
    this.#endpoints = options.endpoints;
    this.#ttlSeconds = options.leaseTtlSeconds ?? 10;
    if (!Number.isInteger(this.#ttlSeconds) || this.#ttlSeconds < 1) throw new TypeError('leaseTtlSeconds must be a whole number >= 1');
    this.#acquireTimeoutMs = checkMs('acquireTimeoutMs', options.acquireTimeoutMs ?? 10_000);
    this.#sharedHoldMs = checkMs('sharedHoldMs', options.sharedHoldMs ?? 60_000);
    this.#localHoldMs = checkMs('localHoldMs', options.localHoldMs ?? 0);
    this.#requestTimeoutMs = checkMs('requestTimeoutMs', options.requestTimeoutMs ?? 5000);
    this.#deletions = new Deletions(this.#client, locksPrefix(this.#prefix));
  }

  /**
   * The etcd key of a lock: shared storages' locks are the cluster's, local storages' locks are
   * this node's.
   *
   * @param request - storage, volume, shared or not
   * @returns the key
   */
  keyOf(request: Pick<LockRequest, 'storeId' | 'volname' | 'shared'>): string {
    return lockKey(this.#prefix, { storeId: request.storeId, volname: request.volname, node: request.shared === true ? undefined : this.#node });
  }

  /**
   * Waits for a lock and takes it. The handle's signal aborts with `LOCK_LOST`
   * (`details.reason`: `lease-expired` when no keep-alive got through in time, `lease-revoked`
   * when etcd no longer knows the lease, `closed` when the service was closed) and with
   * `LOCK_TIMEOUT` (`details.reason: 'hold-limit'`) past the hold limit.
   *
   * @param request - storage, volume, shared or not, timeouts, signal, operation
   * @returns the held lock
   * @throws {@link @stowage/core!index.StorageError | StorageError} `LOCK_TIMEOUT` (another holder kept it past the acquire timeout),
   *   `UNAVAILABLE` (etcd could not be reached, or had no quorum, within the acquire timeout),
   *   `ABORTED`, `PERMISSION_DENIED`
   */
  async acquire(request: LockRequest): Promise<LockHandle> {
    const { storeId, volname, signal } = request;
    const shared = request.shared === true;
    const key = this.keyOf(request);
    const timeoutMs = checkMs('timeoutMs', request.timeoutMs ?? this.#acquireTimeoutMs);
    const holdMs = checkMs('holdMs', request.holdMs ?? (shared ? this.#sharedHoldMs : this.#localHoldMs));
    const started = Date.now();
    const deadline = started + timeoutMs;
    const subject = lockSubject(request);
    const facts = { storeId, ...(volname !== undefined ? { volname } : {}), shared, key, timeoutMs };
    let holder: IKeyValue | undefined;
    const lockTimeout = (by: LockRecord | undefined): StorageError => {
      const who = by ? ` (held by ${by.node} pid ${by.pid}${by.operation ? `, ${by.operation}` : ''})` : '';
      return new StorageError('LOCK_TIMEOUT', `timed out after ${Date.now() - started} ms waiting for the lock of ${subject}${who}`, {
        details: { ...facts, waitedMs: Date.now() - started, ...(by ? { holder: by } : {}) },
      });
    };
    const timedOut = (): StorageError => {
      const stalled = this.#stalled();
      if (stalled !== undefined) {
        return new StorageError('UNAVAILABLE', `cannot take the lock of ${subject} within ${timeoutMs} ms: etcd does not answer (${stalled}); is there a quorum?`, {
          cause: stalled,
          details: { ...facts, endpoints: [...this.#endpoints], waitedMs: Date.now() - started, reason: String(stalled) },
        });
      }
      return lockTimeout(holder ? parseLockRecord(holder.value.toString('utf8')) : undefined);
    };
    const aborted = (): StorageError =>
      new StorageError('ABORTED', `gave up waiting for the lock of ${subject}`, { cause: signal?.reason, details: { ...facts, waitedMs: Date.now() - started } });
    if (this.#closed) throw this.#closedError(subject, facts);

    const endTurn = await this.#turns.take(key, { deadline, signal, onTimeout: timedOut, onAbort: aborted });
    const lost = new AbortController();
    let heldSince = 0;
    const onLost = (why: LeaseLoss | 'closed', cause?: unknown): void => {
      if (heldSince === 0) return;
      const reason = why === 'closed' ? 'closed' : `lease-${why}`;
      lost.abort(
        new StorageError('LOCK_LOST', `the lock of ${subject} was lost while held (${reason.replace('-', ' ')}): another node may hold it now`, {
          cause,
          details: { ...facts, reason, heldMs: Date.now() - heldSince, leaseTtlSeconds: this.#ttlSeconds },
        }),
      );
    };
    let lease: HeldLease | undefined;
    const line = `${key}/`;
    try {
      const record = formatLockRecord({ node: this.#node, pid: process.pid, operation: request.operation, since: started });
      const call = <T>(fn: (callDeadline: number) => Promise<T>, late?: (value: T) => void): Promise<T> => this.#call({ verb: 'take', subject, facts, deadline, timedOut }, fn, late);
      const dropLate = (late: HeldLease): void => void this.#tracked(() => late.revoke(Date.now() + this.#requestTimeoutMs)).catch(() => undefined);
      for (;;) {
        if (signal?.aborted) throw aborted();
        if (!lease?.valid) {
          lease?.stop();
          // the deletion watch should be in place before we queue, so that it hears every release
          // after; but one that etcd has not confirmed within a poll interval (its stream may be
          // waiting out the client's reconnect back-off) does not hold us up: until it is, the wait
          // below reads our line every POLL_MS
          const watched = this.#deletions.ready(Math.min(deadline, Date.now() + POLL_MS));
          [lease] = await Promise.all([call((d) => HeldLease.grant(this.#client, this.#ttlSeconds, d, onLost), dropLate), watched]);
        }
        const current = lease;
        const mine = `${line}${current.id}`;
        const res = await call((d) => enqueue(this.#client, mine, line, record, current.id, d)).catch((e: unknown) => {
          if (e instanceof StorageError && e.cause instanceof EtcdLeaseInvalidError) return undefined; // lease gone meanwhile: a new one
          throw e;
        });
        const myRevision = res?.succeeded ? res.header.revision : res?.responses[0]?.response_range?.kvs[0]?.create_revision;
        if (res === undefined || myRevision === undefined) {
          current.stop();
          continue;
        }
        // everyone in line before us: when this attempt made our key, the txn read them just before
        let front = res.succeeded
          ? { kvs: res.responses[0]?.response_range?.kvs ?? [], revision: res.header.revision }
          : await call((d) => ahead(this.#client, line, myRevision, d));
        const waiting = new Map(front.kvs.map((kv) => [kv.key.toString('utf8'), kv]));
        // wait in line: until every key ahead of ours is deleted (released, expired or given up)
        const watch = waiting.size > 0 ? this.#deletions.follow(waiting.keys(), front.revision) : undefined;
        try {
          while (current.valid) {
            for (const gone of watch?.take() ?? []) waiting.delete(gone);
            if (waiting.size === 0) break;
            holder = oldest(waiting.values());
            const mark = watch!.deletes;
            await watch!.next(mark, Math.min(deadline, Date.now() + POLL_MS), signal);
            if (signal?.aborted) throw aborted();
            if (Date.now() >= deadline) throw timedOut();
            if (watch!.deletes === mark) {
              // nothing heard for a while: read the line again rather than trust the watch alone
              front = await call((d) => ahead(this.#client, line, myRevision, d));
              const still = new Set(front.kvs.map((kv) => kv.key.toString('utf8')));
              for (const k of [...waiting.keys()]) if (!still.has(k)) waiting.delete(k);
            }
          }
        } finally {
          watch?.close();
        }
        if (waiting.size === 0 && current.valid) break;
        current.stop(); // our place was lost with our lease: a new lease, at the back of the line
      }
    } catch (e) {
      endTurn();
      // revoking the lease takes our place in the line out (or the lock, if we got it); waited
      // for while etcd answers, so that the caller sees a clean line
      const revoked = lease ? this.#tracked(() => lease!.revoke(Date.now() + this.#requestTimeoutMs)).catch(() => undefined) : undefined;
      if (revoked && this.#stalled() === undefined) await revoked;
      // the deadline may pass before we ever read the line (a slow answer): name the holder anyway
      if (e instanceof StorageError && e.code === 'LOCK_TIMEOUT' && holder === undefined) {
        const by = await this.#holderOf(line, lease?.id);
        if (by !== undefined) throw lockTimeout(by);
      }
      throw e;
    }

    const held = lease;
    heldSince = Date.now();
    if (!held.valid) onLost('expired');
    const holdTimer =
      holdMs > 0
        ? setTimeout(
            () =>
              lost.abort(
                new StorageError('LOCK_TIMEOUT', `${subject} was locked for longer than ${holdMs} ms: the locked operation was aborted`, {
                  details: { ...facts, reason: 'hold-limit', holdMs, heldMs: Date.now() - heldSince, waitedMs: heldSince - started },
                }),
              ),
            holdMs,
          )
        : undefined;
    let released: Promise<void> | undefined;
    const entry = {
      lose: () => onLost('closed'),
      release: (): Promise<void> =>
        (released ??= (async () => {
          clearTimeout(holdTimer);
          this.#held.delete(entry);
          // the next caller of this process may queue in etcd already: it waits for our key's deletion
          endTurn();
          try {
            await this.#tracked(() => held.revoke(Date.now() + this.#requestTimeoutMs));
          } catch {
            // etcd did not hear us: the lease is no longer kept alive, so the key goes within the TTL
          }
        })()),
    };
    this.#held.add(entry);
    return { signal: lost.signal, release: entry.release };
  }

  /**
   * Who holds which lock now: node, process id, operation and since when, for every storage and
   * volume lock under this prefix (this node's local locks, other nodes' local locks, and the
   * cluster's).
   *
   * @returns the holders, ordered by storage id
   * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE`, `PERMISSION_DENIED`
   */
  async holders(): Promise<LockHolder[]> {
    const base = locksPrefix(this.#prefix);
    let kvs: IKeyValue[];
    try {
      const res = await this.#client.getAll().prefix(base).options({ deadline: new Date(Date.now() + this.#requestTimeoutMs) }).exec();
      kvs = res.kvs;
    } catch (e) {
      throw etcdError(e, 'cannot list the lock holders', { endpoints: [...this.#endpoints] });
    }
    // every lock key is a line of waiters (`<lock>/<lease id>`); the oldest one holds the lock
    const firstOf = new Map<string, IKeyValue>();
    for (const kv of kvs) {
      const key = kv.key.toString('utf8');
      const lock = key.slice(0, key.lastIndexOf('/'));
      const seen = firstOf.get(lock);
      if (!seen || BigInt(kv.create_revision) < BigInt(seen.create_revision)) firstOf.set(lock, kv);
    }
    const out: LockHolder[] = [];
    for (const [lock, kv] of firstOf) {
      const parts = parseLockKey(this.#prefix, lock);
      if (!parts) continue;
      const record = parseLockRecord(kv.value.toString('utf8'));
      out.push({ storeId: parts.storeId, ...(parts.volname !== undefined ? { volname: parts.volname } : {}), ...record });
    }
    return out.sort((a, b) => a.storeId.localeCompare(b.storeId) || (a.volname ?? '').localeCompare(b.volname ?? ''));
  }

  /**
   * Gives every held lock up: their signals abort with `LOCK_LOST` (`details.reason: 'closed'`)
   * and their leases are revoked. Later acquires fail with `UNAVAILABLE`.
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#deletions.close();
    const held = [...this.#held];
    for (const h of held) h.lose();
    await Promise.all(held.map((h) => h.release()));
  }

  #closedError(subject: string, facts: Record<string, unknown>): StorageError {
    return new StorageError('UNAVAILABLE', `cannot take the lock of ${subject}: the cluster connection is closed`, { details: { ...facts, reason: 'closed' } });
  }

  /**
   * Why etcd looks unreachable to this service: the last call failed as unavailable and none
   * succeeded since, or a call has waited for an answer for longer than {@link STALL_MS}. A
   * waiter that times out then reports `UNAVAILABLE`, not `LOCK_TIMEOUT`: nobody else is known
   * to hold the lock.
   */
  #stalled(): string | undefined {
    if (this.#lastFailure && this.#lastFailure.at >= this.#lastSuccess) return String((this.#lastFailure.error as Error)?.message ?? this.#lastFailure.error);
    const oldest = Math.min(...this.#inFlight.values());
    if (Date.now() - oldest > STALL_MS) return `no answer for ${Date.now() - oldest} ms`;
    return undefined;
  }

  /**
   * Who holds a lock whose line we never got to read: the oldest waiter other than our own key,
   * read once (within the request timeout). Best effort: `undefined` when etcd does not answer.
   */
  async #holderOf(line: string, ownLease: string | undefined): Promise<LockRecord | undefined> {
    try {
      const kvs = await this.#tracked(() => lineFront(this.#client, line, Date.now() + this.#requestTimeoutMs));
      const first = kvs.find((kv) => kv.key.toString('utf8') !== `${line}${ownLease}`);
      return first ? parseLockRecord(first.value.toString('utf8')) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * Runs an etcd call of an acquire, retrying transient failures until the acquire's deadline;
   * maps what it throws. The call itself gets the request timeout (or the acquire's deadline, if
   * later) as its gRPC deadline, and the acquire stops waiting for it at its own deadline
   * (`call.timedOut()`): a short acquire timeout must not cut calls off inside the client, whose
   * circuit breaker would count each as a failure of a healthy member and then refuse every call
   * to it for a while. What a call abandoned this way still returns goes to `late`.
   */
  async #call<T>(
    call: { verb: string; subject: string; facts: Record<string, unknown>; deadline: number; timedOut: () => StorageError },
    fn: (callDeadline: number) => Promise<T>,
    late?: (value: T) => void,
  ): Promise<T> {
    const { subject, facts, deadline } = call;
    for (;;) {
      if (this.#closed) throw this.#closedError(subject, facts);
      const pending = this.#tracked(() => fn(Math.max(deadline, Date.now() + this.#requestTimeoutMs)));
      let timer: NodeJS.Timeout | undefined;
      const expired = new Promise<typeof ABANDONED>((resolve) => (timer = setTimeout(resolve, Math.max(0, deadline - Date.now()), ABANDONED)));
      let result: T | typeof ABANDONED;
      try {
        result = await Promise.race([pending, expired]);
      } catch (e) {
        if (etcdErrorCode(e) === 'UNAVAILABLE') {
          if (Date.now() + RETRY_MS < deadline) {
            await sleep(RETRY_MS);
            continue;
          }
          if (!(e instanceof StorageError)) throw call.timedOut();
        }
        throw etcdError(e, `cannot ${call.verb} the lock of ${subject}`, { ...facts, endpoints: [...this.#endpoints] });
      } finally {
        clearTimeout(timer);
      }
      if (result !== ABANDONED) return result;
      pending.then(late, () => undefined);
      throw call.timedOut(); // UNAVAILABLE when the abandoned call had waited past STALL_MS
    }
  }

  /** Runs an etcd call, noting how long it waits for an answer and whether it failed (see `#stalled`). */
  async #tracked<T>(fn: () => Promise<T>): Promise<T> {
    const token = this.#calls++;
    this.#inFlight.set(token, Date.now());
    try {
      const result = await fn();
      this.#lastSuccess = Date.now();
      return result;
    } catch (e) {
      if (etcdErrorCode(e) === 'UNAVAILABLE') this.#lastFailure = { at: Date.now(), error: e };
      throw e;
    } finally {
      this.#inFlight.delete(token);
    }
  }
}
