/**
 * `pnpm stowage ...` and `./scripts/dev stowage ...` run scripts/stowage.mjs: it builds what
 * changed and runs the command in the caller's directory (INIT_CWD from pnpm,
 * STOWAGE_CALLER_CWD from scripts/dev), with nothing but the command's output on stdout.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runProgram } from './support/run-cli.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/stowage.mjs');

describe('scripts/stowage.mjs', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'stowage-clone-'));
    writeFileSync(join(dir, 'storage.cfg'), `dir: here\n\tpath ${join(dir, 'images')}\n\tcontent images\n`);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // Each case names the caller's directory one way only: the suite itself may run under
  // scripts/dev (STOWAGE_CALLER_CWD set) or pnpm (INIT_CWD set), and that must not leak in.
  const callerIn = (variable: string): Record<string, string | undefined> => ({ INIT_CWD: undefined, STOWAGE_CALLER_CWD: undefined, [variable]: dir, STOWAGE_LOCK_DIR: dir });

  it.each(['INIT_CWD', 'STOWAGE_CALLER_CWD'])('runs the command in the directory named by %s, JSON alone on stdout', async (variable) => {
    const r = await runProgram(process.execPath, [SCRIPT, 'status', '--json'], { cwd: ROOT, env: callerIn(variable) });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ storage: 'here', type: 'dir', status: 'active' })]);
  });

  it("passes the command's exit status through", async () => {
    const r = await runProgram(process.execPath, [SCRIPT, 'list', 'nosuch'], { cwd: ROOT, env: callerIn('INIT_CWD') });
    expect(r.code).toBe(11);
    expect(r.stderr).toContain("storage 'nosuch'");
  });
});
