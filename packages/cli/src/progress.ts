/**
 * A progress bar on standard error for export, import and copy, drawn only when standard error
 * is a terminal (never into a pipe or a log file).
 *
 * @module
 */
import type { Progress, ProgressCallback } from '@stowage/core';
import { formatSize } from './sizes.js';

/** The stream a bar is drawn on: anything with `write`, and `isTTY`/`columns` when it is a terminal. */
export interface BarStream {
  /** Writes text. */
  write(text: string): unknown;
  /** `true` when the stream is a terminal. */
  readonly isTTY?: boolean | undefined;
  /** Terminal width in columns. */
  readonly columns?: number | undefined;
}

/**
 * Renders one line of a progress bar, e.g. `export [#######.......]  48%  1.9G/4.0G`.
 *
 * @param label - what is in progress
 * @param progress - bytes done and total
 * @param width - the terminal width
 */
export function renderProgressLine(label: string, progress: Progress, width: number): string {
  const { done, total } = progress;
  if (total === undefined || total <= 0) return `${label} ${formatSize(done)}`;
  const fraction = Math.min(1, Math.max(0, done / total));
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${formatSize(done)}/${formatSize(total)}`;
  const barWidth = Math.max(10, Math.min(40, width - label.length - tail.length - 4));
  const filled = Math.round(fraction * barWidth);
  return `${label} [${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]${tail}`;
}

/** A progress bar: report progress, then finish it. */
export interface ProgressBar {
  /** The callback to hand to the manager; `undefined` when no bar is drawn. */
  readonly onProgress: ProgressCallback | undefined;
  /** Draws the final state and ends the bar's line. */
  finish(): void;
}

/**
 * Makes a progress bar that redraws at most every 100 ms, or a silent one when the stream is
 * not a terminal.
 *
 * @param stream - standard error
 * @param label - what is in progress, e.g. `export`
 */
export function createProgressBar(stream: BarStream, label: string): ProgressBar {
  if (!stream.isTTY) return { onProgress: undefined, finish: () => undefined };
  let last = 0;
  let drawn = false;
  let latest: Progress | undefined;
  const draw = (p: Progress): void => {
    stream.write(`\r${renderProgressLine(label, p, stream.columns ?? 80)}\u001b[K`);
    drawn = true;
  };
  return {
    onProgress: (p) => {
      latest = p;
      const now = Date.now();
      if (now - last >= 100 || (p.total !== undefined && p.done >= p.total)) {
        last = now;
        draw(p);
      }
    },
    finish: () => {
      if (latest) draw(latest);
      if (drawn) stream.write('\n');
    },
  };
}
