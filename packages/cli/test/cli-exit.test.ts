/**
 * How the built binary ends once its command is done: at once when nothing else is pending
 * (skipping Node's heap teardown), but never before work that is still pending would run: a
 * timer, or a `beforeExit` listener, left by a module of the process (a third-party plugin,
 * say) still runs, and the exit status is the command's.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, runProgram } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

/** A module preloaded into the binary's process that leaves work pending: a timer, or a `beforeExit` listener, writing `file`. */
const leftWork = (kind: 'timer' | 'beforeExit', file: string): string => {
  const write = `writeFileSync(${JSON.stringify(file)}, ${JSON.stringify(kind)})`;
  const code = kind === 'timer' ? `setTimeout(() => ${write}, 3000);` : `process.once('beforeExit', () => ${write});`;
  return `data:text/javascript,${encodeURIComponent(`import { writeFileSync } from 'node:fs';\n${code}\n`)}`;
};

describe('the end of a stowage process', () => {
  let s: Sandbox;
  beforeAll(async () => {
    assertBuilt();
    s = makeSandbox('exit');
    await addDirStorages(s);
    await s.ok(['alloc', 'local', '100', '-', '1M', '--format', 'qcow2']);
  });
  afterAll(() => s?.remove());

  it.each([
    ['timer', ['list', 'local'], 0],
    ['beforeExit', ['list', 'local'], 0],
    ['timer', ['list'], 2],
    ['beforeExit', ['list', 'nosuch'], 11],
  ] as const)('a %s left pending runs before stowage %j exits, with status %i', async (kind, args, status) => {
    const file = join(s.dir, `${kind}-${status}`);
    const r = await runProgram(process.execPath, ['--import', leftWork(kind, file), BIN, ...args], { cwd: s.dir, env: s.env, killAfterMs: 60_000 });
    expect(r.code, r.stderr).toBe(status);
    if (status === 0) expect(r.stdout).toContain('local:100/vm-100-disk-0.qcow2');
    expect(existsSync(file) && readFileSync(file, 'utf8')).toBe(kind);
  });
});
