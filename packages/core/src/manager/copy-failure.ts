/**
 * Which error a failed copy reports. When one side of a copy fails, the manager stops the other
 * side, which then fails as well, with an error that only says it was stopped (an abort, a
 * stream destroyed under it), and it may do so first. The copy reports the first real error of
 * either side, never the stop it caused on the other.
 *
 * @module
 */
import { isStorageError } from '../errors.js';

/** Node.js codes of a stream that was stopped from outside: aborted, destroyed, closed early. */
const STOP_CODES: ReadonlySet<string> = new Set(['ABORT_ERR', 'ERR_STREAM_PREMATURE_CLOSE', 'ERR_STREAM_DESTROYED']);

/**
 * Tells whether an error only says that its operation was stopped: `ABORTED`, an `AbortError`,
 * a stream destroyed or closed under it.
 *
 * @param e - a caught value
 */
export function isStopError(e: unknown): boolean {
  if (isStorageError(e, 'ABORTED')) return true;
  if (typeof e !== 'object' || e === null) return false;
  const { name, code } = e as { name?: unknown; code?: unknown };
  return name === 'AbortError' || (typeof code === 'string' && STOP_CODES.has(code));
}

function causeChain(e: unknown): unknown[] {
  const chain: unknown[] = [];
  for (let link = e; link !== undefined && link !== null && !chain.includes(link); link = (link as { cause?: unknown }).cause) {
    chain.push(link);
    if (typeof link !== 'object') break;
  }
  return chain;
}

/**
 * The real error inside a failure: the outermost error of its `cause` chain below the last stop
 * (see {@link isStopError}); `undefined` when the chain ends in a stop. `ABORTED` wrapping
 * `NO_SPACE` gives the `NO_SPACE`; `INTERNAL` wrapping an `AbortError` gives nothing.
 *
 * @param e - a side's failure
 */
export function realError(e: unknown): unknown {
  const chain = causeChain(e);
  const lastStop = chain.findLastIndex(isStopError);
  return lastStop === chain.length - 1 ? undefined : chain[lastStop + 1];
}

/**
 * The error a failed copy reports: the first {@link realError} among the failures, in the order
 * the sides failed; the first failure when each only says it was stopped.
 *
 * @param failures - what each failed side threw, first failure first (at least one)
 */
export function copyFailure(failures: readonly unknown[]): unknown {
  for (const failure of failures) {
    const real = realError(failure);
    if (real !== undefined) return real;
  }
  return failures[0];
}
