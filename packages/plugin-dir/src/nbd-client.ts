/**
 * A small read-only NBD client over a Unix socket: fixed newstyle handshake, `NBD_OPT_GO`,
 * reads with several requests in flight (replies may come in any order), and a clean
 * disconnect. Enough to stream an image that `qemu-nbd` serves.
 *
 * @module
 */
import { createConnection, type Socket } from 'node:net';
import {
  answerGreeting,
  decodeOptionReplyHeader,
  decodeSimpleReply,
  encodeOptGo,
  encodeRequest,
  foldInfo,
  GREETING_BYTES,
  NBD_CMD_DISC,
  NBD_CMD_READ,
  NBD_OPT_GO,
  NBD_REP_ACK,
  NBD_REP_INFO,
  OPTION_REPLY_HEADER_BYTES,
  protocolError,
  SIMPLE_REPLY_HEADER_BYTES,
  type ExportInfo,
} from './nbd-protocol.js';

/** Hands out exact byte counts of a socket's data, in order, to one reader at a time. */
class ByteReader {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #waiting: { n: number; resolve: (b: Buffer) => void; reject: (e: Error) => void } | undefined;
  #failed: Error | undefined;

  constructor(socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
      this.#serve();
    });
    socket.on('error', (e) => this.#fail(e));
    socket.on('close', () => this.#fail(new Error('the NBD connection closed')));
  }

  read(n: number): Promise<Buffer> {
    if (this.#waiting) return Promise.reject(new Error('one NBD read at a time'));
    return new Promise((resolve, reject) => {
      this.#waiting = { n, resolve, reject };
      this.#serve();
    });
  }

  #serve(): void {
    const w = this.#waiting;
    if (!w) return;
    if (this.#buffered >= w.n) {
      this.#waiting = undefined;
      w.resolve(this.#take(w.n));
    } else if (this.#failed) {
      this.#waiting = undefined;
      w.reject(this.#failed);
    }
  }

  #take(n: number): Buffer {
    const first = this.#chunks[0]!;
    let out: Buffer;
    if (first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.#chunks[0]!;
        const take = Math.min(c.length, n - at);
        c.copy(out, at, 0, take);
        at += take;
        if (take === c.length) this.#chunks.shift();
        else this.#chunks[0] = c.subarray(take);
      }
    }
    this.#buffered -= n;
    return out;
  }

  #fail(e: Error): void {
    this.#failed ??= e;
    this.#serve();
  }
}

interface Pending {
  readonly length: number;
  readonly resolve: (b: Buffer) => void;
  readonly reject: (e: Error) => void;
}

/** A connected NBD client; see {@link NbdClient.connect}. */
export class NbdClient {
  readonly #socket: Socket;
  readonly #reader: ByteReader;
  readonly #pending = new Map<bigint, Pending>();
  #nextHandle = 1n;
  #closed: Error | undefined;

  /** What the server told about the export. */
  readonly info: ExportInfo;

  private constructor(socket: Socket, reader: ByteReader, info: ExportInfo) {
    this.#socket = socket;
    this.#reader = reader;
    this.info = info;
    void this.#receive();
  }

  /**
   * Connects to a server's Unix socket and negotiates the default export with `NBD_OPT_GO`.
   *
   * @param socketPath - the server's socket
   * @returns the client, ready to read
   * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the server breaks the protocol or refuses the
   *   export; the socket's error when it cannot connect
   */
  static async connect(socketPath: string): Promise<NbdClient> {
    const socket = createConnection(socketPath);
    const reader = new ByteReader(socket);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      socket.write(answerGreeting(await reader.read(GREETING_BYTES)));
      socket.write(encodeOptGo(''));
      let info: Partial<ExportInfo> = { minBlock: 1, maxPayload: undefined };
      for (;;) {
        const reply = decodeOptionReplyHeader(await reader.read(OPTION_REPLY_HEADER_BYTES));
        const data = reply.length > 0 ? await reader.read(reply.length) : Buffer.alloc(0);
        if (reply.option !== NBD_OPT_GO) throw protocolError(`NBD reply to option ${reply.option}, expected ${NBD_OPT_GO}`);
        if (reply.type >= 0x80000000) throw protocolError(`the NBD server refused the export (reply ${reply.type - 0x80000000 >>> 0}): ${data.toString('utf8')}`);
        if (reply.type === NBD_REP_INFO) info = foldInfo(data, info);
        else if (reply.type === NBD_REP_ACK) break;
      }
      if (info.size === undefined || info.flags === undefined) throw protocolError('the NBD server did not tell the export size');
      return new NbdClient(socket, reader, info as ExportInfo);
    } catch (e) {
      socket.destroy();
      throw e;
    }
  }

  /**
   * Reads `length` bytes at `offset`. Several reads may be in flight at once.
   *
   * @param offset - where
   * @param length - how many bytes (at most the server's maximum payload)
   * @returns the bytes
   * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the server replies with an error; the
   *   connection's error when it breaks
   */
  read(offset: number, length: number): Promise<Buffer> {
    if (this.#closed) return Promise.reject(this.#closed);
    const handle = this.#nextHandle++;
    return new Promise((resolve, reject) => {
      this.#pending.set(handle, { length, resolve, reject });
      this.#socket.write(encodeRequest({ type: NBD_CMD_READ, handle, offset, length }));
    });
  }

  async #receive(): Promise<void> {
    try {
      for (;;) {
        const reply = decodeSimpleReply(await this.#reader.read(SIMPLE_REPLY_HEADER_BYTES));
        const pending = this.#pending.get(reply.handle);
        if (!pending) throw protocolError(`NBD reply to an unknown request ${reply.handle}`);
        this.#pending.delete(reply.handle);
        if (reply.error !== 0) throw protocolError(`the NBD server failed a read (error ${reply.error})`);
        pending.resolve(await this.#reader.read(pending.length));
      }
    } catch (e) {
      this.#close(e as Error);
    }
  }

  #close(e: Error): void {
    this.#closed ??= e;
    for (const p of this.#pending.values()) p.reject(this.#closed);
    this.#pending.clear();
    this.#socket.destroy();
  }

  /**
   * Ends the session cleanly (`NBD_CMD_DISC`, then the socket is closed); requests still in
   * flight fail.
   */
  async disconnect(): Promise<void> {
    if (this.#closed) return;
    if (this.#socket.destroyed) return this.#close(new Error('the NBD connection closed'));
    const closed = new Promise<void>((resolve) => this.#socket.once('close', () => resolve()));
    this.#socket.end(encodeRequest({ type: NBD_CMD_DISC, handle: this.#nextHandle++, offset: 0, length: 0 }));
    await closed;
    this.#close(new Error('the NBD session is over'));
  }

  /** Drops the connection at once; requests in flight fail. */
  destroy(): void {
    this.#close(new Error('the NBD connection was dropped'));
  }
}
