/**
 * The few messages of the NBD protocol (the Network Block Device protocol of
 * NetworkBlockDevice/nbd, `doc/proto.md`) that a read-only client needs: the fixed newstyle
 * handshake, `NBD_OPT_STRUCTURED_REPLY`, `NBD_OPT_GO` with its `NBD_REP_INFO` replies,
 * `NBD_CMD_READ` answered in structured reply chunks (data and holes), and
 * `NBD_CMD_DISC`. Every number is big-endian. Pure encoders and decoders.
 *
 * @module
 */
import { StorageError } from '@stowage/core';

/** `NBDMAGIC`, the first 8 bytes the server sends. */
export const NBD_MAGIC = 0x4e42444d41474943n;
/** `IHAVEOPT`: the newstyle handshake's magic, and the start of every option the client sends. */
export const NBD_OPTS_MAGIC = 0x49484156454f5054n;
/** The magic of every option reply. */
export const NBD_REP_MAGIC = 0x3e889045565a9n;
/** The magic of a transmission request. */
export const NBD_REQUEST_MAGIC = 0x25609513;
/** The magic of a structured reply chunk. */
export const NBD_STRUCTURED_REPLY_MAGIC = 0x668e33ef;

/** Handshake flag: the server speaks fixed newstyle. */
export const NBD_FLAG_FIXED_NEWSTYLE = 1 << 0;
/** Handshake flag: the 124 bytes of zeroes after `NBD_OPT_EXPORT_NAME` may be left out. */
export const NBD_FLAG_NO_ZEROES = 1 << 1;

/** Option: choose an export and enter transmission, with error replies. */
export const NBD_OPT_GO = 7;
/** Option: reads are answered with structured reply chunks, holes without their zeroes. */
export const NBD_OPT_STRUCTURED_REPLY = 8;
/** Option reply: done. */
export const NBD_REP_ACK = 1;
/** Option reply: one piece of information about the export. */
export const NBD_REP_INFO = 3;
/** Information: size and transmission flags. */
export const NBD_INFO_EXPORT = 0;
/** Information: minimum, preferred and maximum block sizes. */
export const NBD_INFO_BLOCK_SIZE = 3;

/** Command: read. */
export const NBD_CMD_READ = 0;
/** Command: disconnect (no reply). */
export const NBD_CMD_DISC = 2;

/** Bytes of the server's first message: two magics and the handshake flags. */
export const GREETING_BYTES = 18;
/** Bytes of an option reply's header. */
export const OPTION_REPLY_HEADER_BYTES = 20;
/** Bytes of a transmission request. */
export const REQUEST_BYTES = 28;
/** Bytes of a structured reply chunk's header. */
export const STRUCTURED_REPLY_HEADER_BYTES = 20;

/** Structured reply flag: the last chunk of the reply. */
export const NBD_REPLY_FLAG_DONE = 1 << 0;
/** Chunk type: nothing more (with the done flag). */
export const NBD_REPLY_TYPE_NONE = 0;
/** Chunk type: data at an offset. */
export const NBD_REPLY_TYPE_OFFSET_DATA = 1;
/** Chunk type: a range that reads as zeroes, without them. */
export const NBD_REPLY_TYPE_OFFSET_HOLE = 2;
/** Chunk types with this bit are errors. */
export const NBD_REPLY_TYPE_ERROR_BIT = 1 << 15;

/**
 * The error of a server that does not keep to the protocol: `CORRUPT` (tool output that is not
 * what it must be).
 *
 * @param message - what went wrong
 */
export function protocolError(message: string): StorageError {
  return new StorageError('CORRUPT', message, { details: { protocol: 'nbd' } });
}

/**
 * Reads the server's greeting and answers it with the client flags.
 *
 * @param greeting - the first {@link GREETING_BYTES} bytes from the server
 * @returns the 4 bytes of client flags to send: fixed newstyle, and no zeroes when offered
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when the server does not speak fixed newstyle
 */
export function answerGreeting(greeting: Buffer): Buffer {
  if (greeting.length < GREETING_BYTES || greeting.readBigUInt64BE(0) !== NBD_MAGIC || greeting.readBigUInt64BE(8) !== NBD_OPTS_MAGIC) {
    throw protocolError('not an NBD newstyle server');
  }
  const flags = greeting.readUInt16BE(16);
  if ((flags & NBD_FLAG_FIXED_NEWSTYLE) === 0) throw protocolError('the NBD server does not speak fixed newstyle');
  const out = Buffer.alloc(4);
  out.writeUInt32BE(NBD_FLAG_FIXED_NEWSTYLE | (flags & NBD_FLAG_NO_ZEROES));
  return out;
}

function encodeOption(option: number, data: Buffer): Buffer {
  const header = Buffer.alloc(16);
  header.writeBigUInt64BE(NBD_OPTS_MAGIC, 0);
  header.writeUInt32BE(option, 8);
  header.writeUInt32BE(data.length, 12);
  return Buffer.concat([header, data]);
}

/**
 * Encodes `NBD_OPT_STRUCTURED_REPLY` (no data).
 *
 * @returns the option message
 */
export function encodeOptStructuredReply(): Buffer {
  return encodeOption(NBD_OPT_STRUCTURED_REPLY, Buffer.alloc(0));
}

/**
 * Encodes `NBD_OPT_GO` for an export, asking for its block sizes.
 *
 * @param exportName - the export (`''` is the server's default export)
 * @returns the option message
 */
export function encodeOptGo(exportName: string): Buffer {
  const name = Buffer.from(exportName, 'utf8');
  const data = Buffer.alloc(4 + name.length + 2 + 2);
  data.writeUInt32BE(name.length, 0);
  name.copy(data, 4);
  data.writeUInt16BE(1, 4 + name.length);
  data.writeUInt16BE(NBD_INFO_BLOCK_SIZE, 6 + name.length);
  return encodeOption(NBD_OPT_GO, data);
}

/** An option reply's header. */
export interface OptionReplyHeader {
  /** The option replied to. */
  readonly option: number;
  /** The reply type; bit 31 set means an error. */
  readonly type: number;
  /** The bytes of data that follow. */
  readonly length: number;
}

/**
 * Decodes an option reply's header.
 *
 * @param buf - {@link OPTION_REPLY_HEADER_BYTES} bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` on a wrong magic
 */
export function decodeOptionReplyHeader(buf: Buffer): OptionReplyHeader {
  if (buf.readBigUInt64BE(0) !== NBD_REP_MAGIC) throw protocolError('bad NBD option reply magic');
  return { option: buf.readUInt32BE(8), type: buf.readUInt32BE(12), length: buf.readUInt32BE(16) };
}

/** What the server told about the export during `NBD_OPT_GO`. */
export interface ExportInfo {
  /** The export's size in bytes. */
  readonly size: number;
  /** The transmission flags. */
  readonly flags: number;
  /** The smallest request alignment, 1 when not told. */
  readonly minBlock: number;
  /** The largest read length, `undefined` when not told. */
  readonly maxPayload: number | undefined;
}

/**
 * Folds one `NBD_REP_INFO` payload into what is known of the export; unknown information
 * types are ignored, as the protocol asks.
 *
 * @param data - the reply's data
 * @param known - what was known before
 * @returns what is known now
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` on a payload too short for its type, or a size past 2^53
 */
export function foldInfo(data: Buffer, known: Partial<ExportInfo>): Partial<ExportInfo> {
  if (data.length < 2) throw protocolError('NBD_REP_INFO without a type');
  const type = data.readUInt16BE(0);
  if (type === NBD_INFO_EXPORT) {
    if (data.length < 12) throw protocolError('NBD_INFO_EXPORT too short');
    const size = data.readBigUInt64BE(2);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) throw protocolError(`NBD export size ${size} is too large`);
    return { ...known, size: Number(size), flags: data.readUInt16BE(10) };
  }
  if (type === NBD_INFO_BLOCK_SIZE) {
    if (data.length < 14) throw protocolError('NBD_INFO_BLOCK_SIZE too short');
    return { ...known, minBlock: data.readUInt32BE(2), maxPayload: data.readUInt32BE(10) };
  }
  return known;
}

/**
 * Encodes a transmission request (no payload: reads and the disconnect only).
 *
 * @param request - command type, handle, offset and length
 */
export function encodeRequest(request: { type: number; handle: bigint; offset: number; length: number }): Buffer {
  const buf = Buffer.alloc(REQUEST_BYTES);
  buf.writeUInt32BE(NBD_REQUEST_MAGIC, 0);
  buf.writeUInt16BE(0, 4);
  buf.writeUInt16BE(request.type, 6);
  buf.writeBigUInt64BE(request.handle, 8);
  buf.writeBigUInt64BE(BigInt(request.offset), 16);
  buf.writeUInt32BE(request.length, 24);
  return buf;
}

/** A structured reply chunk's header. */
export interface ChunkHeader {
  /** Flags ({@link NBD_REPLY_FLAG_DONE}). */
  readonly flags: number;
  /** The chunk type. */
  readonly type: number;
  /** The handle of the request it answers. */
  readonly handle: bigint;
  /** The bytes of payload that follow. */
  readonly length: number;
}

/**
 * Decodes a structured reply chunk's header.
 *
 * @param buf - {@link STRUCTURED_REPLY_HEADER_BYTES} bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` on another magic
 */
export function decodeChunkHeader(buf: Buffer): ChunkHeader {
  if (buf.readUInt32BE(0) !== NBD_STRUCTURED_REPLY_MAGIC) throw protocolError('bad NBD structured reply magic');
  return { flags: buf.readUInt16BE(4), type: buf.readUInt16BE(6), handle: buf.readBigUInt64BE(8), length: buf.readUInt32BE(16) };
}

/** One piece of a read's answer: bytes, or a run of zeroes. */
export type ReadPiece = { readonly offset: number; readonly data: Buffer } | { readonly offset: number; readonly hole: number };

/**
 * Decodes the payload of a chunk that answers a read: `OFFSET_DATA` (the offset, then the bytes)
 * or `OFFSET_HOLE` (the offset and the length of a run of zeroes); error chunks become errors.
 *
 * @param header - the chunk's header
 * @param payload - its payload
 * @returns the piece, or `undefined` for a `NONE` chunk
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` for an error chunk, an unknown type or a short payload
 */
export function decodeReadChunk(header: ChunkHeader, payload: Buffer): ReadPiece | undefined {
  if (header.type === NBD_REPLY_TYPE_NONE) return undefined;
  if ((header.type & NBD_REPLY_TYPE_ERROR_BIT) !== 0) {
    const error = payload.length >= 4 ? payload.readUInt32BE(0) : 0;
    const length = payload.length >= 6 ? payload.readUInt16BE(4) : 0;
    const message = payload.subarray(6, 6 + length).toString('utf8');
    throw protocolError(`the NBD server failed a read (error ${error})${message ? `: ${message}` : ''}`);
  }
  if (header.type === NBD_REPLY_TYPE_OFFSET_DATA && payload.length >= 8) {
    return { offset: Number(payload.readBigUInt64BE(0)), data: payload.subarray(8) };
  }
  if (header.type === NBD_REPLY_TYPE_OFFSET_HOLE && payload.length >= 12) {
    return { offset: Number(payload.readBigUInt64BE(0)), hole: payload.readUInt32BE(8) };
  }
  throw protocolError(`unexpected NBD reply chunk type ${header.type} (${payload.length} bytes)`);
}

/**
 * Puts a read's pieces in order and checks that they cover the request exactly, without gaps
 * or overlaps.
 *
 * @param pieces - the pieces, in the order they came
 * @param offset - the request's offset
 * @param length - its length
 * @returns the pieces by offset
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CORRUPT` when they do not cover it
 */
export function orderPieces(pieces: readonly ReadPiece[], offset: number, length: number): ReadPiece[] {
  const sorted = [...pieces].sort((a, b) => a.offset - b.offset);
  let at = offset;
  for (const p of sorted) {
    if (p.offset !== at) throw protocolError(`NBD read of ${length} bytes at ${offset}: a gap or an overlap at ${p.offset}`);
    at += 'data' in p ? p.data.length : p.hole;
  }
  if (at !== offset + length) throw protocolError(`NBD read of ${length} bytes at ${offset} answered ${at - offset}`);
  return sorted;
}
