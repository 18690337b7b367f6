/**
 * An in-process first-in-first-out mutex: the queue in front of a storage's lock file, so that
 * callers in one process take turns in arrival order and only one of them polls the file.
 *
 * @module
 */

interface Waiter {
  grant(release: () => void): void;
  timer: NodeJS.Timeout | undefined;
  detach: () => void;
}

/** How an {@link FifoMutex.acquire} wait can end early. */
export interface FifoWait {
  /** Give up at this `Date.now()` time; `undefined` waits forever. */
  readonly deadline?: number | undefined;
  /** Give up when this is aborted. */
  readonly signal?: AbortSignal | undefined;
  /** The error a wait that reached its deadline rejects with. */
  readonly onTimeout: () => Error;
  /** The error a wait whose signal was aborted rejects with. */
  readonly onAbort: () => Error;
}

/**
 * A mutex whose waiters are served strictly in arrival order. A waiter that times out or is
 * aborted leaves the queue without disturbing the others.
 */
export class FifoMutex {
  #locked = false;
  readonly #waiters: Waiter[] = [];

  /** `true` while nobody holds or waits for the mutex. */
  get idle(): boolean {
    return !this.#locked && this.#waiters.length === 0;
  }

  /**
   * Waits for the mutex.
   *
   * @param wait - deadline, signal, and the errors to reject with
   * @returns a function that releases the mutex (calling it twice does nothing)
   */
  acquire(wait: FifoWait): Promise<() => void> {
    if (wait.signal?.aborted) return Promise.reject(wait.onAbort());
    if (!this.#locked && this.#waiters.length === 0) {
      this.#locked = true;
      return Promise.resolve(this.#releaser());
    }
    return new Promise<() => void>((resolve, reject) => {
      const leave = (error: Error): void => {
        const i = this.#waiters.indexOf(waiter);
        if (i < 0) return;
        this.#waiters.splice(i, 1);
        waiter.detach();
        reject(error);
      };
      const onAbort = (): void => leave(wait.onAbort());
      const waiter: Waiter = {
        grant: (release) => {
          waiter.detach();
          resolve(release);
        },
        timer: undefined,
        detach: () => {
          if (waiter.timer) clearTimeout(waiter.timer);
          wait.signal?.removeEventListener('abort', onAbort);
        },
      };
      if (wait.deadline !== undefined) {
        waiter.timer = setTimeout(() => leave(wait.onTimeout()), Math.max(0, wait.deadline - Date.now()));
      }
      wait.signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.#waiters.shift();
      if (next) next.grant(this.#releaser());
      else this.#locked = false;
    };
  }
}
