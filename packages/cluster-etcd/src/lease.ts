/**
 * One etcd lease held by this process, kept alive while it is needed, with a local deadline
 * that errs on the safe side: the lease is taken as valid only until the time the last
 * successful grant or keep-alive was *sent* plus its TTL, less a margin. etcd starts counting
 * later than that (when the request arrives), and only extends leases on a leader change, so a
 * holder that stops at the local deadline has stopped before etcd could give its key to
 * another. When that deadline passes without a renewal, or etcd says the lease is gone, the
 * owner hears of it at once.
 *
 * @module
 */
import { performance } from 'node:perf_hooks';
import { castGrpcError, type Etcd3 } from 'etcd3';

/** Why a lease stopped protecting its owner. */
export type LeaseLoss = 'expired' | 'revoked';

/**
 * The local safety margin before a lease's deadline: a tenth of the TTL, at least 100 ms.
 *
 * @param ttlMs - the lease's TTL in milliseconds
 */
export function leaseMarginMs(ttlMs: number): number {
  return Math.max(100, ttlMs / 10);
}

/**
 * Sends one keep-alive for a lease and returns the TTL etcd answers with (`0`: the lease is
 * gone).
 *
 * @param client - the etcd client
 * @param id - the lease id
 * @param deadline - a `Date.now()` time to give up at
 * @throws what the client throws (a deadline, an unreachable member)
 */
export async function keepAliveOnce(client: Etcd3, id: string, deadline: number): Promise<number> {
  const stream = await client.leaseClient.leaseKeepAlive({ deadline: new Date(deadline) });
  return new Promise<number>((resolve, reject) => {
    let done = false;
    const finish = (fn: () => void): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      fn();
      stream.end();
    };
    const timer = setTimeout(() => finish(() => reject(new Error('keep-alive deadline exceeded'))), Math.max(0, deadline - Date.now()));
    stream.on('data', (res: { TTL: string }) => finish(() => resolve(Number(res.TTL))));
    stream.on('error', (e: Error) => finish(() => reject(castGrpcError(e))));
    stream.write({ ID: id });
  });
}

/** A granted lease, kept alive until stopped, revoked or lost. */
export class HeldLease {
  readonly #client: Etcd3;
  readonly #ttlMs: number;
  readonly #marginMs: number;
  readonly #onLost: (why: LeaseLoss, cause?: unknown) => void;
  #validUntil: number;
  #state: 'held' | 'lost' | 'stopped' = 'held';
  #keepAliveTimer: NodeJS.Timeout | undefined;
  #expiryTimer: NodeJS.Timeout | undefined;

  /** The lease id, as etcd's decimal string. */
  readonly id: string;

  private constructor(client: Etcd3, id: string, ttlMs: number, validUntil: number, onLost: (why: LeaseLoss, cause?: unknown) => void) {
    this.#client = client;
    this.id = id;
    this.#ttlMs = ttlMs;
    this.#marginMs = leaseMarginMs(ttlMs);
    this.#validUntil = validUntil;
    this.#onLost = onLost;
    this.#armExpiry();
    this.#scheduleKeepAlive(ttlMs / 3);
  }

  /**
   * Grants a lease and starts keeping it alive.
   *
   * @param client - the etcd client
   * @param ttlSeconds - the lease TTL
   * @param deadline - a `Date.now()` time to give up at
   * @param onLost - called once if the lease is lost while not stopped
   * @throws what the client throws
   */
  static async grant(client: Etcd3, ttlSeconds: number, deadline: number, onLost: (why: LeaseLoss, cause?: unknown) => void): Promise<HeldLease> {
    const sent = performance.now();
    const res = await client.leaseClient.leaseGrant({ TTL: ttlSeconds }, { deadline: new Date(deadline) });
    const ttlMs = Number(res.TTL) * 1000;
    return new HeldLease(client, res.ID, ttlMs, sent + ttlMs, onLost);
  }

  /** `true` while the lease is held and its local deadline has not passed. */
  get valid(): boolean {
    return this.#state === 'held' && performance.now() < this.#validUntil - this.#marginMs;
  }

  /** Stops keeping the lease alive; etcd lets it expire within its TTL. */
  stop(): void {
    if (this.#state === 'held') this.#state = 'stopped';
    this.#clearTimers();
  }

  /**
   * Stops keeping the lease alive and revokes it, which deletes its keys at once. A lease etcd
   * no longer knows counts as revoked.
   *
   * @param deadline - a `Date.now()` time to give up at
   * @throws what the client throws (the lease then expires within its TTL)
   */
  async revoke(deadline: number): Promise<void> {
    this.stop();
    try {
      await this.#client.leaseClient.leaseRevoke({ ID: this.id }, { deadline: new Date(deadline) });
    } catch (e) {
      if (!/lease not found/.test(String((e as Error).message))) throw e;
    }
  }

  #lose(why: LeaseLoss, cause?: unknown): void {
    if (this.#state !== 'held') return;
    this.#state = 'lost';
    this.#clearTimers();
    this.#onLost(why, cause);
  }

  #clearTimers(): void {
    clearTimeout(this.#keepAliveTimer);
    clearTimeout(this.#expiryTimer);
  }

  #armExpiry(): void {
    clearTimeout(this.#expiryTimer);
    const left = this.#validUntil - this.#marginMs - performance.now();
    this.#expiryTimer = setTimeout(() => {
      if (performance.now() >= this.#validUntil - this.#marginMs) this.#lose('expired');
      else this.#armExpiry();
    }, Math.max(0, left));
  }

  #scheduleKeepAlive(delayMs: number): void {
    clearTimeout(this.#keepAliveTimer);
    this.#keepAliveTimer = setTimeout(() => void this.#keepAlive(), delayMs);
  }

  async #keepAlive(): Promise<void> {
    if (this.#state !== 'held') return;
    const sent = performance.now();
    const left = this.#validUntil - this.#marginMs - sent;
    try {
      const ttl = await keepAliveOnce(this.#client, this.id, Date.now() + Math.max(50, Math.min(this.#ttlMs / 3, left)));
      if (this.#state !== 'held') return;
      if (ttl <= 0) {
        this.#lose('revoked');
        return;
      }
      this.#validUntil = Math.max(this.#validUntil, sent + ttl * 1000);
      this.#armExpiry();
      this.#scheduleKeepAlive(this.#ttlMs / 3);
    } catch {
      // try again soon; the expiry timer ends it if nothing gets through in time
      if (this.#state === 'held') this.#scheduleKeepAlive(Math.min(250, this.#ttlMs / 10));
    }
  }
}
