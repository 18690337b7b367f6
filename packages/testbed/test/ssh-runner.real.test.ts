import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { isCommandError } from '@stowage/core';
import { runningState, testbedRunner } from '@stowage/testbed';

// The core SshRunner against the real testbed guest (booted by the global setup).
const runner = testbedRunner();
afterAll(() => runner.close());

const NASTY = ['', ' ', "it's", '"q"', 'a b\tc', 'line1\nline2\n', '$HOME', '$(id)', '`id`', 'a;b|c&d', '*', '~', '#x', 'back\\slash', 'ünï ✓', "'; rm -rf / #"];

describe('SshRunner on the testbed guest', () => {
  it('delivers every argument byte for byte to the remote program', async () => {
    const { stdout } = await runner.run(['printf', '%s\\0', ...NASTY]);
    expect(stdout.split('\0').slice(0, -1)).toEqual(NASTY);
  });

  it('runs with LC_ALL=C and the extra variables given', async () => {
    const { stdout } = await runner.run(['sh', '-c', 'printf "%s|%s" "$LC_ALL" "$STOWAGE_X"'], { env: { STOWAGE_X: 'a b$c' } });
    expect(stdout).toBe('C|a b$c');
  });

  it('shares one master connection through the control socket', async () => {
    await runner.run(['true']);
    expect(existsSync(runningState().controlPath)).toBe(true);
  });

  it('streams binary stdin in and stdout out unchanged (export/import)', async () => {
    const data = randomBytes(8 * 1024 * 1024 + 17);
    const sink: Buffer[] = [];
    const out = new Writable({
      write(chunk: Buffer, _enc, done) {
        sink.push(chunk);
        done();
      },
    });
    const result = await runner.run(['cat'], { stdin: Readable.from([data.subarray(0, 1000), data.subarray(1000)]), stdout: out });
    expect(result.stdout).toBe('');
    expect(Buffer.concat(sink).equals(data)).toBe(true);
    const { stdout: sum } = await runner.run(['sha256sum'], { stdin: data });
    expect(sum.split(' ')[0]).toBe(createHash('sha256').update(data).digest('hex'));
  });

  it('reports a failing remote command with its exit code, stderr and the remote argv', async () => {
    const argv = ['sh', '-c', 'echo partial; echo "no such volume" >&2; exit 5'];
    const error = await runner.run(argv).catch((e: unknown) => e);
    expect(isCommandError(error)).toBe(true);
    if (!isCommandError(error)) return;
    expect(error.code).toBe('COMMAND_FAILED');
    expect(error.exitCode).toBe(5);
    expect(error.stderr).toBe('no such volume');
    expect(error.stdout).toBe('partial\n');
    expect(error.argv).toEqual(argv);
    const ok = await runner.run(argv, { okExitCodes: [0, 5] });
    expect(ok.exitCode).toBe(5);
  });

  it('reports a program missing on the remote side as exit code 127', async () => {
    const error = await runner.run(['no-such-program-stowage']).catch((e: unknown) => e);
    expect(isCommandError(error) && error.exitCode).toBe(127);
  });

  // The remote sleeps outlive the test's own time limit: the runs can only end in time if the
  // runner really stops the remote command (the shared master holds the pipes until then).
  it('times out with TIMEOUT and stops the remote command', { timeout: 120_000 }, async () => {
    const argv = ['sh', '-c', 'echo $$ > /run/stowage-timeout.pid; exec sleep 900'];
    const timedOut = await runner.run(argv, { timeoutMs: 3000 }).catch((e: unknown) => e);
    expect(isCommandError(timedOut) && timedOut.code).toBe('TIMEOUT');
    expect(isCommandError(timedOut) && timedOut.argv).toEqual(argv);
    const alive = await runner.run(['sh', '-c', 'kill -0 "$(cat /run/stowage-timeout.pid)"'], { okExitCodes: [0, 1] });
    expect(alive.exitCode).toBe(1);
  });

  it('aborts with ABORTED and stops the remote command and its children', { timeout: 120_000 }, async () => {
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('test abort')), 3000);
    const argv = ['sh', '-c', 'sleep 900 & echo $! > /run/stowage-abort.pid; wait'];
    const aborted = await runner.run(argv, { signal: controller.signal }).catch((e: unknown) => e);
    expect(isCommandError(aborted) && aborted.code).toBe('ABORTED');
    const alive = await runner.run(['sh', '-c', 'kill -0 "$(cat /run/stowage-abort.pid)"'], { okExitCodes: [0, 1] });
    expect(alive.exitCode).toBe(1);
  });

  it('fails the run when the output stream fails, and keeps working afterwards', async () => {
    const broken = new PassThrough();
    broken.destroy(new Error('disk full'));
    const error = await runner.run(['head', '-c', '1048576', '/dev/zero'], { stdout: broken }).catch((e: unknown) => e);
    expect(isCommandError(error) && error.code).toBe('COMMAND_FAILED');
    expect((await runner.run(['echo', 'still fine'])).stdout).toBe('still fine\n');
  });
});
