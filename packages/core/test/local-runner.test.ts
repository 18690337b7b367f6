import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CommandError, isCommandError, isStorageError, StorageError } from '@stowage/core';
import { LocalRunner } from '@stowage/core/plugin';

async function rejection(p: Promise<unknown>): Promise<StorageError> {
  try {
    await p;
  } catch (e) {
    expect(isStorageError(e)).toBe(true);
    return e as StorageError;
  }
  throw new Error('expected a rejection');
}

describe('LocalRunner', () => {
  const runner = new LocalRunner();
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'stowage-runner-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs argv and captures stdout, stderr and the exit code', async () => {
    const r = await runner.run(['sh', '-c', 'printf "out\\n"; printf "err" >&2']);
    expect(r).toEqual({ stdout: 'out\n', stderr: 'err', exitCode: 0 });
  });

  it('passes arguments as they are, never through a shell', async () => {
    const nasty = ['$(touch pwned)', '; rm -rf /', '`id`', "a'b\"c", 'with space', '*', ''];
    const r = await runner.run(['printf', '%s\\n', ...nasty]);
    expect(r.stdout).toBe(nasty.map((a) => `${a}\n`).join(''));
  });

  it('sets LC_ALL=C whatever the caller asks for, and adds extra env', async () => {
    const r = await new LocalRunner({ env: { FROM_RUNNER: 'r' } }).run(['sh', '-c', 'echo "$LC_ALL $FROM_RUNNER $FROM_CALL"'], {
      env: { LC_ALL: 'de_DE.UTF-8', FROM_CALL: 'c' },
    });
    expect(r.stdout).toBe('C r c\n');
  });

  it('gives /dev/null as stdin when none is given', async () => {
    const r = await runner.run(['cat']);
    expect(r.stdout).toBe('');
  });

  it('feeds a string, bytes, or a stream to stdin', async () => {
    expect((await runner.run(['cat'], { stdin: 'hello' })).stdout).toBe('hello');
    expect((await runner.run(['cat'], { stdin: new Uint8Array([104, 105]) })).stdout).toBe('hi');
    expect((await runner.run(['cat'], { stdin: Readable.from([Buffer.from('a'), Buffer.from('b')]) })).stdout).toBe('ab');
  });

  it('rejects a non-zero exit with a CommandError carrying argv, exit code, stdout and trimmed stderr', async () => {
    const e = await rejection(runner.run(['sh', '-c', 'echo partial; echo "  boom  " >&2; exit 3']));
    expect(isCommandError(e)).toBe(true);
    const c = e as CommandError;
    expect(c.code).toBe('COMMAND_FAILED');
    expect(c.argv).toEqual(['sh', '-c', 'echo partial; echo "  boom  " >&2; exit 3']);
    expect(c.exitCode).toBe(3);
    expect(c.stderr).toBe('boom');
    expect(c.stdout).toBe('partial\n');
    expect(c.details).toMatchObject({ exitCode: 3, stderr: 'boom' });
    expect(c.message).toContain('boom');
  });

  it('rejects `false` and accepts exit codes listed in okExitCodes', async () => {
    expect((await rejection(runner.run(['false']))).code).toBe('COMMAND_FAILED');
    const r = await runner.run(['sh', '-c', 'exit 5'], { okExitCodes: [0, 5] });
    expect(r.exitCode).toBe(5);
  });

  it('shortens a huge stderr but keeps its end', async () => {
    const e = (await rejection(
      runner.run(['sh', '-c', 'head -c 200000 /dev/zero | tr "\\0" x >&2; echo; echo the-real-error >&2; exit 1']),
    )) as CommandError;
    expect(e.stderr.length).toBeLessThan(5000);
    expect(e.stderr.endsWith('the-real-error')).toBe(true);
  });

  it('reports a missing program clearly, with details.notFound', async () => {
    const e = (await rejection(runner.run(['stowage-no-such-program-xyz', '--help']))) as CommandError;
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.details['notFound']).toBe(true);
    expect(e.exitCode).toBeUndefined();
    expect(e.message).toContain('stowage-no-such-program-xyz');
  });

  it('reports a program that cannot be executed (not notFound)', async () => {
    const path = join(dir, 'not-executable');
    await writeFile(path, 'data');
    await chmod(path, 0o644);
    const e = await rejection(runner.run([path]));
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.details['notFound']).toBe(false);
  });

  it('maps program names through toolPaths', async () => {
    const path = join(dir, 'fake-tool');
    await writeFile(path, '#!/bin/sh\necho "tool:$1"\n');
    await chmod(path, 0o755);
    const r = await new LocalRunner({ toolPaths: { 'qemu-img': path } }).run(['qemu-img', 'info']);
    expect(r.stdout).toBe('tool:info\n');
    expect(() => new LocalRunner({ toolPaths: { x: 'relative/x' } })).toThrow(TypeError);
  });

  it('kills a command past its timeout with TIMEOUT (per call and runner default)', async () => {
    const e = await rejection(runner.run(['sleep', '30'], { timeoutMs: 100 }));
    expect(e.code).toBe('TIMEOUT');
    expect(e.details['timeoutMs']).toBe(100);
    const e2 = await rejection(new LocalRunner({ timeoutMs: 100 }).run(['sleep', '30']));
    expect(e2.code).toBe('TIMEOUT');
  });

  it('aborts a running command with ABORTED, and does not start one whose signal is aborted', async () => {
    const ac = new AbortController();
    const p = runner.run(['sleep', '30'], { signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 50);
    const e = await rejection(p);
    expect(e.code).toBe('ABORTED');
    const path = join(dir, 'must-not-exist');
    const e2 = await rejection(runner.run(['touch', path], { signal: AbortSignal.abort() }));
    expect(e2.code).toBe('ABORTED');
    await expect(rejection(runner.run(['test', '-e', path]))).resolves.toBeDefined();
  });

  it('refuses an empty argv (TypeError) and NUL characters (INVALID_ARGUMENT)', async () => {
    await expect(runner.run([])).rejects.toThrow(TypeError);
    expect((await rejection(runner.run(['echo', 'a\0b']))).code).toBe('INVALID_ARGUMENT');
  });

  it('pipes stdout into a Writable without ending it, and returns empty stdout', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const r = await runner.run(['printf', 'streamed'], { stdout: sink });
    expect(r.stdout).toBe('');
    expect(Buffer.concat(chunks).toString()).toBe('streamed');
    expect(sink.writableEnded).toBe(false);
    sink.write('-after');
    sink.end();
    await new Promise((resolve) => sink.once('end', resolve));
    expect(Buffer.concat(chunks).toString()).toBe('streamed-after');
  });

  it('streams 64 MiB through cat with bounded memory (backpressure both ways)', async () => {
    const total = 64 * 1024 * 1024;
    const chunk = Buffer.alloc(256 * 1024, 7);
    let produced = 0;
    let consumed = 0;
    let maxAhead = 0;
    const source = new Readable({
      highWaterMark: chunk.length,
      read() {
        if (produced >= total) {
          this.push(null);
          return;
        }
        produced += chunk.length;
        maxAhead = Math.max(maxAhead, produced - consumed);
        this.push(chunk);
      },
    });
    const sink = new Writable({
      highWaterMark: 64 * 1024,
      write(c: Buffer, _enc, cb) {
        consumed += c.length;
        // A slow consumer: the producer must wait for it instead of filling memory.
        setImmediate(cb);
      },
    });
    await runner.run(['cat'], { stdin: source, stdout: sink });
    // run() settles once every chunk was handed to the sink; ending it flushes the rest.
    await new Promise((resolve) => sink.end(resolve));
    expect(consumed).toBe(total);
    // Pipes and stream buffers hold a few hundred KiB; without backpressure this would be ~64 MiB.
    expect(maxAhead).toBeLessThan(8 * 1024 * 1024);
  });

  it('fails, and kills the command, when the output stream fails', async () => {
    const sink = new Writable({
      write(_c, _enc, cb) {
        cb(new Error('disk full'));
      },
    });
    sink.on('error', () => undefined);
    const e = (await rejection(runner.run(['sh', '-c', 'while :; do echo data; done'], { stdout: sink, timeoutMs: 20_000 }))) as CommandError;
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.message).toContain('output stream failed');
  });

  it('fails, and kills the command, when the input stream fails; a StorageError from it is kept', async () => {
    const failing = (err: Error): Readable =>
      new Readable({
        read() {
          this.destroy(err);
        },
      });
    const e = await rejection(runner.run(['cat'], { stdin: failing(new Error('network reset')) }));
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.message).toContain('input stream failed');
    const truncated = new StorageError('INVALID_ARGUMENT', 'stream truncated');
    const e2 = await rejection(runner.run(['cat'], { stdin: failing(truncated) }));
    expect(e2).toBe(truncated);
  });

  it('survives a command that exits without reading its stdin', async () => {
    const r = await runner.run(['true'], { stdin: Readable.from([Buffer.alloc(4 * 1024 * 1024)]) });
    expect(r.exitCode).toBe(0);
  });

  it('bounds captured stdout (maxOutputBytes)', async () => {
    const e = await rejection(new LocalRunner({ maxOutputBytes: 1000 }).run(['head', '-c', '100000', '/dev/zero']));
    expect(e.code).toBe('COMMAND_FAILED');
    expect(e.details['maxOutputBytes']).toBe(1000);
  });
});
