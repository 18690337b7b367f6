/**
 * Registering groups and cases that run only when a gate is open; a closed gate registers one
 * skipped case whose note says why.
 *
 * @module
 */
import { describe, it, type TestContext } from 'vitest';
import type { Gate } from '../gates.js';

/**
 * Registers a group when its gate is open, else a skipped placeholder that states the reason.
 *
 * @param title - the group's title
 * @param g - the gate
 * @param body - registers the group's cases
 */
export function describeGated(title: string, g: Gate, body: () => void): void {
  if (g.ok) describe(title, body);
  else describe(title, () => it(`(skipped: ${g.reason})`, (ctx) => ctx.skip(g.reason)));
}

/**
 * Registers a case when its gate is open, else a skipped case that states the reason.
 *
 * @param title - the case's title
 * @param g - the gate
 * @param fn - the case (it gets vitest's test context, e.g. to skip at run time)
 */
export function itGated(title: string, g: Gate, fn: (ctx: TestContext) => Promise<void>): void {
  if (g.ok) it(title, fn);
  else it(`${title} (skipped: ${g.reason})`, (ctx) => ctx.skip(g.reason));
}
