#!/usr/bin/env node
/**
 * `pnpm demo`: runs the demo and exits non-zero when any check did not hold.
 *
 * @module
 */
import { runDemo } from './demo/run.js';

const failures = await runDemo((text) => process.stdout.write(text));
process.exitCode = failures === 0 ? 0 : 1;
