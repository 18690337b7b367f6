/**
 * Feeding the payload of a `+size` import into a command that writes the volume (`dd` onto a
 * device), held to its announced length, and stopping that command when the sender breaks off.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import type { CommandResult } from './command/runner.js';
import { exactLength } from './exact-length.js';
import type { PluginContext, ProgressCallback } from './plugin-types.js';

/**
 * Watches an import's input for its sender breaking off (the input failing), from the start:
 * the error can come while the volume is still being made, before any data flows. Call it first
 * in `volumeImport`, and hand what it returns to {@link runWithExactInput}.
 *
 * @param input - the request's input
 * @returns a controller aborted with the input's error when the input fails
 * @example
 * ```ts
 * const sender = watchInput(request.input);
 * const size = await readSizeHeader(request.input, ctx.signal);
 * ```
 */
export function watchInput(input: Readable): AbortController {
  const sender = new AbortController();
  input.once('error', (e) => sender.abort(e));
  return sender;
}

/** Options of {@link runWithExactInput}. */
export interface ExactInputOptions {
  /** What {@link watchInput} returned for the input. */
  readonly sender: AbortController;
  /** Receives `{ done, total: size }` as the payload flows (guarded). */
  readonly onProgress?: ProgressCallback | undefined;
}

/**
 * Runs a command (with `ctx.run`) that reads exactly `size` bytes of `input` (positioned after
 * its size header) on its standard input, through {@link exactLength}. A stream shorter or longer
 * than announced, or a sender that breaks off, stops the command through its abort signal (over
 * ssh too, where killing the local client would leave the remote command running), and the call
 * rejects: with `INVALID_ARGUMENT` (`details: { size, received }`) for a wrong length, else with
 * the runner's error. The caller removes what the command wrote.
 *
 * @param ctx - the operation's context (its `run` and `signal`)
 * @param argv - the command, e.g. `['dd', 'of=/dev/vg/vm-100-disk-0', 'bs=64k', 'conv=sparse']`
 * @param input - the payload
 * @param size - the byte count the header announced
 * @param options - the sender's watch and progress
 * @returns the command's result
 * @example
 * ```ts
 * const sender = watchInput(request.input);
 * const size = await readSizeHeader(request.input, ctx.signal);
 * // ... make the volume ...
 * await runWithExactInput(ctx, ddWriteArgs(device), request.input, size, { sender, onProgress: request.onProgress });
 * ```
 */
export async function runWithExactInput(
  ctx: Pick<PluginContext, 'run' | 'signal'>,
  argv: readonly string[],
  input: Readable,
  size: number,
  options: ExactInputOptions,
): Promise<CommandResult> {
  const { sender } = options;
  const limiter = exactLength(size, { onProgress: options.onProgress });
  let problem: unknown;
  sender.signal.addEventListener('abort', () => limiter.destroy(sender.signal.reason as Error), { once: true });
  limiter.once('error', (e) => {
    if (sender.signal.aborted) return;
    problem = e;
    sender.abort(e);
  });
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, sender.signal]) : sender.signal;
  let result: CommandResult;
  try {
    result = await ctx.run(argv, { stdin: input.pipe(limiter), signal });
  } catch (e) {
    throw problem ?? e;
  }
  if (problem !== undefined) throw problem;
  return result;
}
