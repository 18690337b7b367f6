/**
 * A file descriptor (the command's standard input) as an import's input: a readable stream like
 * any other, whose bytes an import into a file may instead take in large blocks, read by a worker
 * thread into a few buffers that go back and forth (the way `dd` reads a pipe): no fresh memory
 * and no stream machinery per pipe-sized chunk, and the reads never block the event loop.
 *
 * @module
 */
import type { Readable } from 'node:stream';
import type { Worker } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { StorageError } from './errors.js';
import { nodeStream } from './on-first-use.js';

const require = createRequire(import.meta.url);

/** Bytes of one block of a {@link BlockSource}. */
export const DESCRIPTOR_BLOCK_BYTES = 1024 * 1024;
/** Blocks of a {@link BlockSource}: one with its reader, the others being filled. */
const BLOCKS = 4;

/**
 * Blocks of bytes read from a file descriptor, in order, through buffers that are reused: a block
 * is the caller's until its next call to {@link BlockSource.next}. Every block but the last is
 * full ({@link DESCRIPTOR_BLOCK_BYTES}), whatever sizes the writer's writes had.
 */
export interface BlockSource {
  /**
   * The next bytes, or `undefined` at the end of the input (or once closed). One call at a time.
   *
   * @param signal - gives up with `ABORTED` (the read under way is left to the worker)
   * @throws {@link @stowage/core!index.StorageError | StorageError} `ABORTED`; the read's error (e.g. `EIO`)
   */
  next(signal?: AbortSignal): Promise<Buffer | undefined>;
  /**
   * Gives back the last `bytes` bytes of the block last returned: the next call returns them.
   *
   * @param bytes - how many, at most the block's length
   */
  unread(bytes: number): void;
  /** Stops reading: the worker ends, and never keeps the process alive. */
  close(): void;
  /** Buffers made for the blocks so far (a fixed few, however long the input). */
  readonly buffersMade: number;
}

interface Filled {
  readonly block: ArrayBuffer;
  readonly got: number;
  readonly ended: boolean;
  readonly error?: { readonly message: string; readonly code?: string } | undefined;
}

// The worker: fills each buffer it is sent to the full (or to the end of the input), sends it
// back, and ends after the end of the input. A descriptor left non-blocking (EAGAIN) is waited on
// a millisecond at a time.
const WORKER = `
const { readSync } = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const pause = new Int32Array(new SharedArrayBuffer(4));
let ended = false;
parentPort.on('message', (block) => {
  const bytes = new Uint8Array(block);
  let got = 0;
  let error;
  while (!ended && got < bytes.length && error === undefined) {
    try {
      const n = readSync(workerData.fd, bytes, got, bytes.length - got, null);
      if (n === 0) ended = true;
      else got += n;
    } catch (e) {
      if (e.code === 'EAGAIN') Atomics.wait(pause, 0, 0, 1);
      else if (e.code !== 'EINTR') error = { message: String(e.message), code: e.code };
    }
  }
  parentPort.postMessage({ block, got, ended: ended || error !== undefined, error }, [block]);
  if (ended || error !== undefined) parentPort.close();
});
`;

class WorkerBlocks implements BlockSource {
  readonly #worker: Worker;
  readonly #filled: Filled[] = [];
  #waiting: (() => void) | undefined;
  #current: Filled | undefined;
  #offset = 0;
  #ended = false;
  #closed = false;
  /** The worker sent its last block (the end of the input, or an error) and ends. */
  #done = false;
  #out = 0;
  buffersMade = 0;

  constructor(fd: number) {
    const { Worker: WorkerThread } = require('node:worker_threads') as typeof import('node:worker_threads');
    this.#worker = new WorkerThread(WORKER, { eval: true, workerData: { fd }, stdout: false, stderr: false });
    this.#worker.on('message', (filled: Filled) => {
      this.#out--;
      if (filled.ended) this.#done = true;
      this.#filled.push(filled);
      this.#wake();
    });
    this.#worker.on('error', (e: Error) => {
      this.#done = true;
      this.#filled.push({ block: new ArrayBuffer(0), got: 0, ended: true, error: { message: e.message } });
      this.#wake();
    });
    this.#worker.on('exit', () => {
      if (!this.#done && !this.#closed) this.#filled.push({ block: new ArrayBuffer(0), got: 0, ended: true, error: { message: 'the reading thread ended' } });
      this.#out = 0;
      this.#wake();
    });
    for (let i = 0; i < BLOCKS; i++) {
      this.buffersMade++;
      this.#send(new ArrayBuffer(DESCRIPTOR_BLOCK_BYTES));
    }
  }

  async next(signal?: AbortSignal): Promise<Buffer | undefined> {
    const current = this.#current;
    if (current !== undefined && this.#offset < current.got) {
      const rest = Buffer.from(current.block, this.#offset, current.got - this.#offset);
      this.#offset = current.got;
      return rest;
    }
    // the block before goes back to be filled again
    if (current !== undefined) {
      this.#current = undefined;
      if (!this.#done && !this.#closed) this.#send(current.block);
    }
    if ((this.#ended || this.#closed) && this.#filled.length === 0) return undefined;
    while (this.#filled.length === 0) {
      if (this.#closed) return undefined;
      if (signal?.aborted) throw aborted(signal);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          signal?.removeEventListener('abort', done);
          this.#waiting = undefined;
          resolve();
        };
        this.#waiting = done;
        signal?.addEventListener('abort', done, { once: true });
      });
      if (signal?.aborted) throw aborted(signal);
    }
    const filled = this.#filled.shift()!;
    if (filled.ended) this.#ended = true;
    if (filled.error !== undefined) {
      this.close();
      throw Object.assign(new Error(`cannot read the input: ${filled.error.message}`), { code: filled.error.code });
    }
    if (filled.got === 0) return this.#ended ? undefined : this.next(signal);
    this.#current = filled;
    this.#offset = filled.got;
    return Buffer.from(filled.block, 0, filled.got);
  }

  unread(bytes: number): void {
    const current = this.#current;
    if (current === undefined || bytes < 0 || bytes > this.#offset) throw new RangeError(`cannot give back ${bytes} bytes`);
    this.#offset -= bytes;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#wake();
    // a read under way cannot be interrupted: the thread ends when it returns, and meanwhile
    // does not keep the process alive
    this.#worker.unref();
    if (this.#out === 0 || this.#done) void this.#worker.terminate();
  }

  #send(block: ArrayBuffer): void {
    this.#out++;
    this.#worker.postMessage(block, [block]);
  }

  #wake(): void {
    this.#waiting?.();
  }
}

function aborted(signal: AbortSignal): StorageError {
  return new StorageError('ABORTED', 'the import was aborted', { cause: signal.reason });
}

const sources = new WeakMap<Readable, () => BlockSource | undefined>();

/**
 * Makes the input of an import from a file descriptor that nobody has read yet (the command's
 * standard input, which a migrating node's stream arrives on). Read as a stream, it reads
 * `open()` (e.g. `process.stdin`, made only then); an import into a file asks
 * {@link blockSource} for it first and reads the descriptor in blocks instead. The descriptor
 * must be blocking (`process.stdin` makes a pipe non-blocking: do not touch it before).
 *
 * @param fd - the descriptor (0 for standard input); used for blocks when it is a pipe, a socket
 *   or a file
 * @param open - the stream of the same bytes, for a reader that wants a stream
 * @returns the input
 * @example
 * ```ts
 * const input = descriptorInput(0, () => process.stdin);
 * await storages.volumeImport('local:100/vm-100-disk-0.raw', { format: 'raw+size', input });
 * ```
 */
export function descriptorInput(fd: number, open: () => Readable): Readable {
  let source: Readable | undefined;
  let blocks: BlockSource | undefined;
  const input = new (nodeStream().Readable)({
    highWaterMark: DESCRIPTOR_BLOCK_BYTES,
    read() {
      if (blocks !== undefined) {
        // read as a stream after the header came in blocks: each block copied, as it is reused
        const from = blocks;
        from.next().then(
          (block) => input.push(block === undefined ? null : Buffer.from(block)),
          (e: unknown) => input.destroy(e instanceof Error ? e : new Error(String(e))),
        );
        return;
      }
      if (source === undefined) {
        const s = (source = open());
        s.on('data', (chunk: Buffer) => {
          if (!input.push(chunk)) s.pause();
        });
        s.once('end', () => input.push(null));
        s.once('error', (e) => input.destroy(e));
      }
      source.resume();
    },
    destroy(error, callback) {
      blocks?.close();
      if (source !== undefined && !source.destroyed) source.destroy();
      callback(error);
    },
  });
  sources.set(input, () => {
    if (blocks !== undefined) return blocks;
    if (source !== undefined || input.destroyed || !readsInBlocks(fd)) return undefined;
    blocks = new WorkerBlocks(fd);
    return blocks;
  });
  return input;
}

function readsInBlocks(fd: number): boolean {
  try {
    const st = (require('node:fs') as typeof import('node:fs')).fstatSync(fd);
    return st.isFIFO() || st.isSocket() || st.isFile();
  } catch {
    return false;
  }
}

/**
 * The blocks of an input made by {@link descriptorInput} that has not been read as a stream
 * yet; `undefined` for any other input (read it as a stream). Asking again returns the same
 * source; once asked, the input read as a stream reads the rest of the blocks.
 *
 * @param input - an import's input
 * @returns its block source, or `undefined`
 */
export function blockSource(input: Readable): BlockSource | undefined {
  return sources.get(input)?.();
}
