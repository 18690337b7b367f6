/**
 * The guard in front of standard output and standard error: a failed write becomes a recorded
 * failure with a code (never a throw), and a failure of standard output aborts the run's signal.
 */
import { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { outputFailureError, StdStreams } from '../src/std-streams.js';
import type { CliIO } from '../src/verb.js';

function failing(errno: string): Writable {
  return new Writable({
    write(_chunk, _enc, cb) {
      cb(Object.assign(new Error(`${errno}: write failed`), { code: errno }));
    },
  });
}

function ioWith(stdout: Writable, stderr: Writable = new PassThrough()): CliIO {
  return { stdin: new PassThrough(), stdout, stderr, env: {}, cwd: '/' };
}

function write(stream: Writable, text: string): Promise<Error | null | undefined> {
  return new Promise((resolve) => stream.write(text, resolve));
}

describe('StdStreams', () => {
  it('leaves standard input unmade until it is read (making process.stdin turns a pipe non-blocking, and an import reads fd 0 itself)', () => {
    let made = 0;
    const io = Object.defineProperty({ ...ioWith(new PassThrough()) }, 'stdin', {
      get: () => {
        made++;
        return new PassThrough();
      },
    }) as CliIO;
    const std = new StdStreams(io);
    expect(made).toBe(0);
    expect(std.io.stdin).toBeInstanceOf(PassThrough);
    expect(made).toBe(1);
  });

  it('records ENOSPC on stdout (reported as NO_SPACE), aborts the signal with it, and refuses later writes', async () => {
    const std = new StdStreams(ioWith(failing('ENOSPC')));
    expect(std.io.signal?.aborted).toBe(false);
    const first = await write(std.io.stdout, 'x');
    const failure = std.outputFailure;
    expect(failure?.closedReader).toBe(false);
    const error = await outputFailureError(failure!);
    expect(isStorageError(error, 'NO_SPACE')).toBe(true);
    expect(error.details).toMatchObject({ stream: 'stdout', errno: 'ENOSPC' });
    expect(first).toBe(failure?.cause);
    expect(std.io.signal?.aborted).toBe(true);
    expect(std.io.signal?.reason).toBe(failure?.cause);
    expect(await write(std.io.stdout, 'y')).toBeInstanceOf(Error);
    await std.flush();
  });

  it('marks EPIPE on stdout as a closed reader, and EIO as UNAVAILABLE', async () => {
    const pipe = new StdStreams(ioWith(failing('EPIPE')));
    await write(pipe.io.stdout, 'x');
    expect(pipe.outputFailure?.closedReader).toBe(true);
    const eio = new StdStreams(ioWith(failing('EIO')));
    await write(eio.io.stdout, 'x');
    expect(isStorageError(await outputFailureError(eio.outputFailure!), 'UNAVAILABLE')).toBe(true);
  });

  it('records an error the stream emits on its own, as when a pipe closes between writes', async () => {
    const out = new PassThrough();
    const std = new StdStreams(ioWith(out));
    out.destroy(Object.assign(new Error('write EPIPE'), { code: 'EPIPE' }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(std.outputFailure?.closedReader).toBe(true);
    expect(std.io.signal?.aborted).toBe(true);
  });

  it('keeps a failure of stderr to itself: no abort, no output failure', async () => {
    const std = new StdStreams(ioWith(new PassThrough(), failing('ENOSPC')));
    await write(std.io.stderr, 'warning');
    expect(std.outputFailure).toBeUndefined();
    expect(std.io.signal?.aborted).toBe(false);
  });

  it('aborts when the caller\'s own signal does, and flush waits for what was written', async () => {
    const caller = new AbortController();
    const got: string[] = [];
    const slow = new Writable({
      write(chunk: Buffer, _enc, cb) {
        setTimeout(() => {
          got.push(chunk.toString());
          cb();
        }, 5);
      },
    });
    const std = new StdStreams({ ...ioWith(slow), signal: caller.signal });
    std.io.stdout.write('a');
    std.io.stdout.write('b');
    await std.flush();
    expect(got.join('')).toBe('ab');
    caller.abort();
    expect(std.io.signal?.aborted).toBe(true);
  });

  it("passes the terminal's isTTY and columns through for the progress bar", () => {
    const tty = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    const std = new StdStreams(ioWith(new PassThrough(), tty));
    expect(std.io.stderr.isTTY).toBe(true);
    expect(std.io.stderr.columns).toBe(120);
  });
});
