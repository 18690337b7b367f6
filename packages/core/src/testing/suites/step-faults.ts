/**
 * The fault case the fault group and the flatten groups share: fail each step of an operation in turn and check
 * that what the case observes is as it was before (or, where a step's failure is tolerated, that
 * the operation did all it promises).
 *
 * @module
 */
import type { TestContext } from 'vitest';
import { isStorageError } from '../../errors.js';
import type { StorageKit } from '../kit.js';

/** One operation broken step by step by {@link everyStepFailed}. */
export interface SteppedOperation<P, R = unknown> {
  /** Its name in messages. */
  readonly name: string;
  /** Makes what an attempt needs (a fresh volume); what a failed attempt left as it was serves the next one. */
  prepare(): Promise<P>;
  /** Runs the operation. */
  run(prepared: P): Promise<R>;
  /** What must not change when it fails (listing, snapshots, bytes), as comparable text. */
  observe(prepared: P): Promise<string>;
  /** Checks a run that succeeded although a step failed (the plugin tolerated it), given what it returned: a problem, or `undefined`. */
  succeeded(prepared: P, result: R): Promise<string | undefined>;
}

/**
 * Counts the steps (commands, `ctx.fs` calls) an operation takes, then for k = 1..n fails the
 * k-th through the kit's injector and checks that a failed run threw a `StorageError` and left
 * what {@link SteppedOperation.observe} sees unchanged. A failed run that left it unchanged
 * leaves just what a fresh `prepare` would make, so the next attempt runs on it; only after a
 * run that succeeded or changed something is a fresh one prepared (on a slow storage the
 * preparing and observing are most of the case's time).
 *
 * @param kit - the kit
 * @param ctx - the case's context (to skip when the operation took no steps)
 * @param op - the operation
 * @throws Error listing every k that broke the promise
 */
export async function everyStepFailed<P, R>(kit: StorageKit, ctx: TestContext, op: SteppedOperation<P, R>): Promise<void> {
  const faulty = kit.injector;
  const counted = await op.prepare();
  faulty.failAt = 0;
  faulty.reset();
  await op.run(counted);
  const n = faulty.count;
  if (n === 0) ctx.skip(`the plugin ran no commands, made no calls of ctx.fs (or fault-injector steps) for ${op.name}`);
  const problems: string[] = [];
  let ready: { prepared: P; before: string } | undefined;
  for (let k = 1; k <= n; k++) {
    if (ready === undefined) {
      const prepared = await op.prepare();
      ready = { prepared, before: await op.observe(prepared) };
    }
    const { prepared, before } = ready;
    faulty.reset();
    faulty.failAt = k;
    let result: R | undefined;
    let error: unknown;
    try {
      result = await op.run(prepared);
    } catch (e) {
      error = e;
    } finally {
      faulty.failAt = 0;
    }
    const step = faulty.commands?.[k - 1]?.join(' ') ?? (k > faulty.count ? '(fewer steps this time)' : `step ${k}`);
    if (error === undefined) {
      ready = undefined;
      const problem = await op.succeeded(prepared, result as R);
      if (problem !== undefined) problems.push(`k=${k} (${step}): succeeded, but ${problem}`);
      continue;
    }
    if (!isStorageError(error)) problems.push(`k=${k} (${step}): threw a non-StorageError: ${String(error)}`);
    const after = await op.observe(prepared);
    if (after !== before) {
      ready = undefined;
      problems.push(`k=${k} (${step}): left it changed\n    before: ${before}\n    after:  ${after}`);
    }
  }
  if (problems.length > 0) throw new Error(`${op.name} with one failed step (of ${n}):\n  ${problems.join('\n  ')}`);
}
