/**
 * Progress reports that cannot break the work they report on.
 *
 * @module
 */
import type { Progress, ProgressCallback } from './plugin-types.js';

/**
 * Calls a progress callback, if there is one, and ignores what it throws: a progress display
 * must never fail a copy. Every progress report of the core and of the plugins goes through here.
 *
 * @param onProgress - the caller's callback, or `undefined`
 * @param progress - bytes done and the total, when known
 * @example
 * ```ts
 * reportProgress(request.onProgress, { done: written, total: size });
 * ```
 */
export function reportProgress(onProgress: ProgressCallback | undefined, progress: Progress): void {
  if (onProgress === undefined) return;
  try {
    onProgress(progress);
  } catch {
    // ignored on purpose: see the doc comment
  }
}
