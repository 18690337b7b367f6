/**
 * Runs the built demo (`pnpm demo` without the build) and checks that every step held.
 */
import { fileURLToPath } from 'node:url';
import { existsSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { runProgram } from './support/run-cli.js';

const DEMO = fileURLToPath(new URL('../dist/demo.js', import.meta.url));

describe('pnpm demo', () => {
  it('runs every step on real directory storages, every check holds, and it leaves nothing behind', async () => {
    if (!existsSync(DEMO)) throw new Error(`${DEMO} is missing: run 'npx tsc -b' first`);
    const before = new Set(readdirSync(tmpdir()).filter((d) => d.startsWith('stowage-demo-')));
    const r = await runProgram(process.execPath, [DEMO]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).not.toMatch(/FAILED/);
    expect(r.stdout).toMatch(/Everything held\.\n$/);
    for (const step of [
      'Allocate a raw disk and write known data',
      'Turn it into a template',
      'Make two linked clones',
      'Snapshot a clone, overwrite it, roll back',
      'Export a clone and import it again',
      'Copy a clone to the second storage',
      'List both storages',
      'Check capacity',
      'Free everything',
    ]) {
      expect(r.stdout).toContain(step);
    }
    expect(r.stdout).toContain('ok  after the rollback the clone holds the original data again');
    expect((r.stdout.match(/^ {3}ok {2}/gm) ?? []).length).toBeGreaterThanOrEqual(18);
    const left = readdirSync(tmpdir()).filter((d) => d.startsWith('stowage-demo-') && !before.has(d));
    expect(left).toEqual([]);
  });
});
