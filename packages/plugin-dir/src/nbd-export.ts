/**
 * Streaming a qcow2 or vmdk image as raw bytes without a temporary copy: `qemu-nbd` serves the
 * image read-only on a Unix socket in a private directory of the system's temporary directory
 * (never in the storage; one left by a killed process is removed by the next export), and our
 * NBD client reads it with a few requests in flight, writing each block to the output in order
 * and waiting whenever the output asks to. At most {@link NBD_IN_FLIGHT} x
 * {@link NBD_REQUEST_BYTES} bytes are held. With structured replies (qemu-nbd has them) the
 * server sends holes as lengths, and their zeroes are written from one shared buffer.
 *
 * The server dies with the operation: it runs through the context's runner (a `LocalRunner`
 * starts it with the parent-death signal KILL), the operation's signal stops it, and on every
 * way out it is killed by pid unless it has already ended.
 *
 * @module
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentOwner, encodeSizeHeader, ownerState, reportProgress, SIZE_HEADER_BYTES, writeAll } from '@stowage/core/plugin';
import { StorageError, type ProgressCallback, type VolumeFormat } from '@stowage/core';
import { qemuNbdArgs } from './commands.js';
import { runTool, type DirEnv } from './exec.js';
import type { AdmittedPath } from './gate.js';
import { NbdClient } from './nbd-client.js';
import type { ReadPiece } from './nbd-protocol.js';

/** The length of one read request. */
export const NBD_REQUEST_BYTES = 4 * 1024 * 1024;
/** How many read requests are in flight at once. */
export const NBD_IN_FLIGHT = 4;
/** How long `qemu-nbd` may take to listen. */
const STARTUP_MS = 30_000;
/** How long `qemu-nbd` may take to exit once the client has disconnected. */
const EXIT_MS = 5_000;

function aborted(signal: AbortSignal | undefined, cause?: unknown): StorageError {
  return new StorageError('ABORTED', 'export aborted', { cause: signal?.reason ?? cause });
}

/** Rejects as soon as `signal` aborts, else settles as `work` does. */
function unlessAborted<T>(work: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return work;
  if (signal.aborted) return Promise.reject(aborted(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(aborted(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

const PRIVATE_DIR_RE = /^stowage-nbd~([0-9a-f]{8})\.([1-9][0-9]*)\.([0-9]+)~/;

/**
 * Makes the private directory of one export: `stowage-nbd~<boot>.<pid>.<start>~XXXXXX` in the
 * system's temporary directory, mode 0700 (short, so that the socket path fits `sun_path`).
 * Directories that exports of dead processes of this host left there are removed first.
 */
async function privateDir(node: string): Promise<string> {
  const base = tmpdir();
  const names = await readdir(base).catch(() => [] as string[]);
  for (const name of names) {
    const m = PRIVATE_DIR_RE.exec(name);
    if (m && ownerState({ node, boot: m[1]!, pid: Number(m[2]), start: Number(m[3]) }, node) === 'dead') {
      await rm(join(base, name), { recursive: true, force: true }).catch(() => undefined);
    }
  }
  const self = currentOwner(node);
  return mkdtemp(join(base, `stowage-nbd~${self.boot}.${self.pid}.${self.start}~`));
}

/** Waits for the server's pid file (written once its socket listens); fails with the server's own error if it ends first. */
async function serverPid(pidFile: string, server: { settled: boolean; done: Promise<unknown> }, signal: AbortSignal): Promise<number> {
  const deadline = Date.now() + STARTUP_MS;
  for (;;) {
    const pid = Number((await readFile(pidFile, 'utf8').catch(() => '')).trim());
    if (Number.isSafeInteger(pid) && pid > 0) return pid;
    if (server.settled) {
      await server.done; // rethrows the server's failure
      throw new StorageError('COMMAND_FAILED', 'qemu-nbd ended before it listened', { details: { program: 'qemu-nbd' } });
    }
    if (signal.aborted) throw aborted(signal);
    if (Date.now() > deadline) throw new StorageError('TIMEOUT', `qemu-nbd did not listen within ${STARTUP_MS} ms`, { details: { program: 'qemu-nbd', timeoutMs: STARTUP_MS } });
    await sleep(5);
  }
}

/** What holes are written from; never changed. */
const ZEROES = Buffer.alloc(1024 * 1024);

/** Writes a read's pieces to the output in order: the bytes, and zeroes for each hole. */
async function writePieces(output: Writable, pieces: readonly ReadPiece[], signal: AbortSignal): Promise<void> {
  for (const piece of pieces) {
    if ('data' in piece) {
      await unlessAborted(writeAll(output, piece.data), signal);
      continue;
    }
    for (let left = piece.hole; left > 0; left -= ZEROES.length) {
      await unlessAborted(writeAll(output, left >= ZEROES.length ? ZEROES : ZEROES.subarray(0, left)), signal);
    }
  }
}

/** Reads the whole export in order with a few requests in flight, writing the size header first. */
async function pump(client: NbdClient, output: Writable, options: { onProgress?: ProgressCallback | undefined; signal: AbortSignal }): Promise<void> {
  const { size, maxPayload } = client.info;
  const chunk = Math.min(NBD_REQUEST_BYTES, maxPayload ?? NBD_REQUEST_BYTES);
  const total = SIZE_HEADER_BYTES + size;
  const report = (done: number): void => {
    try {
      reportProgress(options.onProgress, { done, total });
    } catch {
      // a progress display must not break the export
    }
  };
  await unlessAborted(writeAll(output, encodeSizeHeader(size)), options.signal);
  report(SIZE_HEADER_BYTES);
  const queue: { length: number; pieces: Promise<ReadPiece[]> }[] = [];
  let offset = 0;
  let done = SIZE_HEADER_BYTES;
  while (offset < size || queue.length > 0) {
    while (queue.length < NBD_IN_FLIGHT && offset < size) {
      const length = Math.min(chunk, size - offset);
      const pieces = client.read(offset, length);
      pieces.catch(() => undefined); // awaited in order below
      queue.push({ length, pieces });
      offset += length;
    }
    const next = queue.shift()!;
    await writePieces(output, await unlessAborted(next.pieces, options.signal), options.signal);
    done += next.length;
    report(done);
  }
}

/**
 * Writes an image as a `raw+size` stream (the virtual size, then every byte as the guest sees
 * it) through `qemu-nbd`, without writing anything anywhere.
 *
 * @param env - the call's environment
 * @param image - the image's path (admitted by the gate) and format
 * @param output - where the stream goes (not ended)
 * @param options - progress
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED`, `COMMAND_FAILED` (qemu-nbd could not serve the
 *   image; its standard error is kept), `TIMEOUT`, `CORRUPT` (the server broke the protocol), and
 *   the output stream's error
 */
export async function exportViaNbd(
  env: DirEnv,
  image: { readonly path: AdmittedPath; readonly format: VolumeFormat },
  output: Writable,
  options: { onProgress?: ProgressCallback | undefined } = {},
): Promise<void> {
  const dir = await privateDir(env.ctx.node);
  const stop = new AbortController();
  const signal = env.ctx.signal ? AbortSignal.any([env.ctx.signal, stop.signal]) : stop.signal;
  const argv = qemuNbdArgs({ path: image.path, format: image.format, socket: join(dir, 's'), pidFile: join(dir, 'pid') });
  const server = { settled: false, done: runTool(env, argv, { signal, timeoutMs: 0 }) };
  void server.done.then(
    () => (server.settled = true),
    () => (server.settled = true),
  );
  let pid: number | undefined;
  let client: NbdClient | undefined;
  try {
    pid = await serverPid(join(dir, 'pid'), server, signal);
    client = await NbdClient.connect(join(dir, 's'));
    await pump(client, output, { onProgress: options.onProgress, signal });
    await client.disconnect();
    await Promise.race([server.done, sleep(EXIT_MS)]);
  } catch (e) {
    if (env.ctx.signal?.aborted) throw aborted(env.ctx.signal, e);
    throw e;
  } finally {
    client?.destroy();
    if (!server.settled) {
      stop.abort(new Error('the export is over'));
      if (pid !== undefined) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // it ended meanwhile
        }
      }
    }
    await server.done.catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}
