/**
 * A small read-only NBD client over a Unix socket: fixed newstyle handshake, structured replies
 * (holes arrive as lengths, not as zeroes; qemu-nbd has them since QEMU 2.11), `NBD_OPT_GO`,
 * reads with several requests in flight (replies may come in any order), and a clean
 * disconnect. Enough to stream an image that `qemu-nbd` serves.
 *
 * @module
 */
import { createConnection, type Socket } from 'node:net';
import {
  answerGreeting,
  decodeChunkHeader,
  decodeOptionReplyHeader,
  decodeReadChunk,
  encodeOptGo,
  encodeOptStructuredReply,
  encodeRequest,
  foldInfo,
  GREETING_BYTES,
  NBD_CMD_DISC,
  NBD_CMD_READ,
  NBD_OPT_GO,
  NBD_OPT_STRUCTURED_REPLY,
  NBD_REP_ACK,
  NBD_REP_INFO,
  NBD_REPLY_FLAG_DONE,
  OPTION_REPLY_HEADER_BYTES,
  orderPieces,
  protocolError,
  STRUCTURED_REPLY_HEADER_BYTES,
  type ExportInfo,
  type OptionReplyHeader,
  type ReadPiece,
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
  readonly offset: number;
  readonly length: number;
  readonly pieces: ReadPiece[];
  readonly resolve: (pieces: ReadPiece[]) => void;
  readonly reject: (e: Error) => void;
}

/** Reads one option reply (header and data), checking it answers `option`. */
async function optionReply(reader: ByteReader, option: number): Promise<{ reply: OptionReplyHeader; data: Buffer }> {
  const reply = decodeOptionReplyHeader(await reader.read(OPTION_REPLY_HEADER_BYTES));
  const data = reply.length > 0 ? await reader.read(reply.length) : Buffer.alloc(0);
  if (reply.option !== option) throw protocolError(`NBD reply to option ${reply.option}, expected ${option}`);
  return { reply, data };
}

const isError = (type: number): boolean => type >= 0x80000000;

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
   * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the server breaks the protocol, has no
   *   structured replies, or refuses the export; the socket's error when it cannot connect
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
      socket.write(encodeOptStructuredReply());
      if ((await optionReply(reader, NBD_OPT_STRUCTURED_REPLY)).reply.type !== NBD_REP_ACK) throw protocolError('the NBD server has no structured replies');
      socket.write(encodeOptGo(''));
      let info: Partial<ExportInfo> = { minBlock: 1, maxPayload: undefined };
      for (;;) {
        const { reply, data } = await optionReply(reader, NBD_OPT_GO);
        if (isError(reply.type)) throw protocolError(`the NBD server refused the export (reply ${reply.type - 0x80000000}): ${data.toString('utf8')}`);
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
   * @returns the answer in order: bytes, and runs of zeroes the server sent as lengths
   * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the server replies with an error or breaks
   *   the protocol; the connection's error when it breaks
   */
  read(offset: number, length: number): Promise<ReadPiece[]> {
    if (this.#closed) return Promise.reject(this.#closed);
    const handle = this.#nextHandle++;
    return new Promise((resolve, reject) => {
      this.#pending.set(handle, { offset, length, pieces: [], resolve, reject });
      this.#socket.write(encodeRequest({ type: NBD_CMD_READ, handle, offset, length }));
    });
  }

  #pendingOf(handle: bigint): Pending {
    const pending = this.#pending.get(handle);
    if (!pending) throw protocolError(`NBD reply to an unknown request ${handle}`);
    return pending;
  }

  async #receive(): Promise<void> {
    try {
      for (;;) {
        const chunk = decodeChunkHeader(await this.#reader.read(STRUCTURED_REPLY_HEADER_BYTES));
        const pending = this.#pendingOf(chunk.handle);
        const piece = decodeReadChunk(chunk, chunk.length > 0 ? await this.#reader.read(chunk.length) : Buffer.alloc(0));
        if (piece) pending.pieces.push(piece);
        if ((chunk.flags & NBD_REPLY_FLAG_DONE) === 0) continue;
        this.#pending.delete(chunk.handle);
        pending.resolve(orderPieces(pending.pieces, pending.offset, pending.length));
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
