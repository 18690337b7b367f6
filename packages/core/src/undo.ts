/**
 * Undo stacks for multi-step operations: every step that changed something registers how to
 * take it back, and a failure takes back all of them, newest first, before it is rethrown.
 *
 * @module
 */
import type { Logger, PluginContext } from './plugin-types.js';

/**
 * Registers how to take back the step that just succeeded. Given to the body of
 * {@link withUndo}; call it right after each step that changed something.
 *
 * @param step - takes the step back; what it returns is ignored
 */
export type RegisterUndo = (step: () => Promise<unknown>) => void;

/**
 * Runs a multi-step operation with an undo stack. When `body` throws, the undo steps it
 * registered run one after another, newest first; an undo step that fails is logged as a
 * warning and the rest still run. Then the original error is rethrown. When `body` succeeds,
 * no undo step runs.
 *
 * The caller does anything else that must happen either way (dropping cached listings, say)
 * in a `finally` around this call: it then runs after the undo.
 *
 * @param log - where failed undo steps are reported (`warn`, with the step's error message)
 * @param body - the operation, given the function that registers undo steps
 * @returns what `body` returned
 * @throws what `body` threw, unchanged, after the undo (never an undo step's error)
 * @example
 * ```ts
 * await withUndo(ctx.log, async (undo) => {
 *   await ctx.run(['zfs', 'rename', `${pool}/${from}`, `${pool}/${to}`]);
 *   undo(() => ctx.runner.run(['zfs', 'rename', `${pool}/${to}`, `${pool}/${from}`]));
 *   await ctx.run(['zfs', 'set', 'readonly=on', `${pool}/${to}`]); // if this fails: renamed back, then rethrown
 * });
 * ```
 */
export async function withUndo<T>(log: Logger, body: (undo: RegisterUndo) => Promise<T>): Promise<T> {
  const steps: Array<() => Promise<unknown>> = [];
  try {
    return await body((step) => steps.push(step));
  } catch (e) {
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (undoError) {
        log.warn('could not undo a step of a failed operation', { error: undoError instanceof Error ? undoError.message : String(undoError) });
      }
    }
    throw e;
  }
}

/**
 * Runs a multi-step operation of a plugin with {@link withUndo} (the context's log gets the
 * failed undo steps), then drops the operation's cached entry `key` (every entry when `key` is
 * `undefined`) whether it succeeded or not, so that no listing cached before or during the
 * operation outlives it.
 *
 * @param ctx - the operation's context (its `log` and `cache`)
 * @param key - the cache entry the operation changes, or `undefined` for all
 * @param body - the operation, given the function that registers undo steps
 * @returns what `body` returned
 * @throws what `body` threw, after the undo
 * @example
 * ```ts
 * await undoing(ctx, LISTING_KEY, async (undo) => {
 *   await ctx.run(createArgs(name));
 *   undo(() => ctx.runner.run(removeArgs(name)));
 *   await ctx.run(protectArgs(name));
 * });
 * ```
 */
export async function undoing<T>(ctx: Pick<PluginContext, 'log' | 'cache'>, key: string | undefined, body: (undo: RegisterUndo) => Promise<T>): Promise<T> {
  try {
    return await withUndo(ctx.log, body);
  } finally {
    ctx.cache.invalidate(key);
  }
}
