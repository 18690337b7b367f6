/**
 * Undo stacks for multi-step operations: the core's `withUndo`, and the cached listing dropped
 * afterwards whatever happened.
 *
 * @module
 */
import { withUndo, type RegisterUndo } from '@stowage/core/plugin';
import type { LvmThinContext } from './exec.js';
import { invalidateListing } from './exec.js';

/**
 * Runs a multi-step operation with {@link @stowage/core!index.withUndo | withUndo} (on failure the
 * registered undo steps run newest first, failed ones are logged, the error is rethrown), then
 * drops the cached listing either way.
 *
 * @param ctx - the operation context
 * @param body - the operation, given the function that registers undo steps
 * @returns what `body` returned
 * @throws what `body` threw, after the undo
 */
export async function undoing<T>(ctx: LvmThinContext, body: (undo: RegisterUndo) => Promise<T>): Promise<T> {
  try {
    return await withUndo(ctx.log, body);
  } finally {
    invalidateListing(ctx);
  }
}
