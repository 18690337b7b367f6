/**
 * Undo stacks for multi-step operations: every step that changed something registers how to
 * take it back, and a failure takes back all of them, newest first, before it is rethrown.
 *
 * @module
 */
import type { LvmThinContext } from './exec.js';
import { invalidateListing } from './exec.js';

/** Registers how to take back the step that just succeeded. */
export type RegisterUndo = (step: () => Promise<unknown>) => void;

/**
 * Runs a multi-step operation. When it throws, the registered undo steps run newest first; an
 * undo step that fails is logged and the rest still run. The cached listing is dropped either way.
 *
 * @param ctx - the operation context
 * @param body - the operation, given the function that registers undo steps
 * @returns what `body` returned
 * @throws what `body` threw, after the undo
 */
export async function undoing<T>(ctx: LvmThinContext, body: (undo: RegisterUndo) => Promise<T>): Promise<T> {
  const steps: Array<() => Promise<unknown>> = [];
  try {
    return await body((step) => steps.push(step));
  } catch (e) {
    for (const step of steps.reverse()) {
      try {
        await step();
      } catch (undoError) {
        ctx.log.warn('could not undo a step of a failed operation', {
          error: undoError instanceof Error ? undoError.message : String(undoError),
        });
      }
    }
    throw e;
  } finally {
    invalidateListing(ctx);
  }
}
