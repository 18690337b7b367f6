/**
 * Turns per lock key within one process: callers of one process wait here in arrival order, so
 * that only one of them at a time asks etcd for a given lock (the others would only add writes
 * to etcd while they wait).
 *
 * @module
 */

/** How a wait for a turn ends early. */
export interface TurnWait {
  /** Give up at this `Date.now()` time. */
  readonly deadline: number;
  /** Give up when aborted. */
  readonly signal?: AbortSignal | undefined;
  /** The error to reject with at the deadline. */
  readonly onTimeout: () => Error;
  /** The error to reject with on abort. */
  readonly onAbort: () => Error;
}

/** First-in-first-out turns, one queue per key. */
export class Turns {
  readonly #tails = new Map<string, Promise<void>>();

  /**
   * Waits for the turn of `key`.
   *
   * @param key - the lock key
   * @param wait - deadline, signal and the errors to give up with
   * @returns a function that ends the turn (calling it again does nothing)
   */
  take(key: string, wait: TurnWait): Promise<() => void> {
    if (wait.signal?.aborted) return Promise.reject(wait.onAbort());
    const before = this.#tails.get(key) ?? Promise.resolve();
    let end!: () => void;
    const mine = new Promise<void>((resolve) => (end = resolve));
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    void tail.then(() => {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    });
    return new Promise((resolve, reject) => {
      let waiting = true;
      const stop = (error: Error): void => {
        if (!waiting) return;
        waiting = false;
        cleanup();
        reject(error);
        void before.then(end); // our place passes on as soon as it comes
      };
      const onAbort = (): void => stop(wait.onAbort());
      const timer = setTimeout(() => stop(wait.onTimeout()), Math.max(0, wait.deadline - Date.now()));
      const cleanup = (): void => {
        clearTimeout(timer);
        wait.signal?.removeEventListener('abort', onAbort);
      };
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      void before.then(() => {
        if (!waiting) return;
        waiting = false;
        cleanup();
        resolve(() => end());
      });
    });
  }
}
