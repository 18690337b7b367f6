/**
 * The built binary writing into a full disk (/dev/full) and into a pipe whose reader has gone
 * (`| head`): a one-line message and the code's exit status, or the quiet closed-pipe status,
 * never a stack trace; and the export's source side is aborted, not left running.
 */
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, BIN, jsonError, runProgram, type CliResult } from './support/run-cli.js';
import { addDirStorages, makeSandbox, type Sandbox } from './support/sandbox.js';

/** What a shell reports for a command killed by SIGPIPE (128 + 13), and what stowage exits with. */
const CLOSED_PIPE = 141;
const endlessPlugin = fileURLToPath(new URL('./fixtures/plugins/endless-export.mjs', import.meta.url));

let s: Sandbox;
let volid: string;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('output');
  await addDirStorages(s);
  // 16 MiB: far more than a pipe holds, so the export is still writing when the reader leaves
  volid = (await s.ok(['alloc', 'local', '100', '-', '16M', '--format', 'raw'])).trim();
});
afterAll(() => s?.remove());

/** Runs the binary with standard output on /dev/full, a file whose every write fails with ENOSPC. */
async function intoFullDisk(args: readonly string[]): Promise<CliResult> {
  const fd = openSync('/dev/full', 'w');
  try {
    return await s.run(args, { stdoutFd: fd });
  } finally {
    closeSync(fd);
  }
}

/** Runs `stowage <args> | head -c 100` in bash; returns stowage's own exit status and its stderr. */
async function intoHead(args: readonly string[], env: Record<string, string> = {}): Promise<{ status: string; stderr: string }> {
  const script = '"$@" | head -c 100 >/dev/null; echo "${PIPESTATUS[0]}"';
  const r = await runProgram('bash', ['-c', script, 'bash', process.execPath, BIN, ...args], {
    cwd: s.dir,
    env: { ...s.env, ...env },
    killAfterMs: 20_000, // a safety limit only (below the test timeout): a hang is the failure this guards against
  });
  return { status: r.stdout.trim(), stderr: r.stderr };
}

function expectOneLine(stderr: string, code: string): void {
  expect(stderr, 'one line on stderr').toMatch(new RegExp(`^stowage: [^\\n]*\\[${code}\\]\\n$`));
  expect(stderr, 'no stack trace').not.toMatch(/\n\s+at /);
}

describe('standard output on a full disk', () => {
  it('export to - exits NO_SPACE with one line, no stack', async () => {
    const r = await intoFullDisk(['export', volid, 'raw+size', '-']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.NO_SPACE);
    expectOneLine(r.stderr, 'NO_SPACE');
  });

  it('list exits NO_SPACE with one line, or one JSON line with --json', async () => {
    const r = await intoFullDisk(['list', 'local']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.NO_SPACE);
    expectOneLine(r.stderr, 'NO_SPACE');
    const j = await intoFullDisk(['list', 'local', '--json']);
    expect(j.code, j.stderr).toBe(EXIT_CODES.NO_SPACE);
    expect(j.stderr.trim().split('\n')).toHaveLength(1);
    expect(jsonError(j.stderr)).toMatchObject({ code: 'NO_SPACE', details: { stream: 'stdout', errno: 'ENOSPC' } });
  });

  it('help into a full disk is NO_SPACE too (every write goes through the same place)', async () => {
    const r = await intoFullDisk(['help']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.NO_SPACE);
    expectOneLine(r.stderr, 'NO_SPACE');
  });
});

describe('standard output into a pipe whose reader has gone', () => {
  it('export to - | head ends with the closed-pipe status and prints nothing', async () => {
    const r = await intoHead(['export', volid, 'raw+size', '-']);
    expect(r.status, r.stderr).toBe(String(CLOSED_PIPE));
    expect(r.stderr).toBe('');
  });

  it("aborts the export's source side: a child process that never ends on its own is stopped", async () => {
    const env = { STOWAGE_PLUGINS: endlessPlugin, STOWAGE_TEST_PIDFILE: join(s.dir, 'endless.pid') };
    await s.ok(['storage', 'add', 'endless', 'endless', '--path', join(s.dir, 'endless'), '--content', 'images'], { env });
    const endlessVolid = (await s.ok(['alloc', 'endless', '100', '-', '1M', '--format', 'raw'], { env })).trim();
    const r = await intoHead(['export', endlessVolid, 'raw+size', '-'], env);
    expect(r.status, r.stderr).toBe(String(CLOSED_PIPE));
    expect(r.stderr).toBe('');
    // stopped by the command's abort (ABORTED) or by the runner when the output failed under it
    // (COMMAND_FAILED, "its output stream failed"), whichever comes first; never run to its end
    expect(['ABORTED', 'COMMAND_FAILED'], 'how the source child ended').toContain(readFileSync(`${env.STOWAGE_TEST_PIDFILE}.outcome`, 'utf8'));
    const pid = Number(readFileSync(env.STOWAGE_TEST_PIDFILE, 'utf8'));
    expect(existsSync(`/proc/${pid}`), 'the source child is gone').toBe(false);
  });
});
