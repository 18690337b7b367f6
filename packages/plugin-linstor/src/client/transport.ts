/**
 * One HTTP exchange with one controller, through undici: base URLs, TLS and token settings,
 * the time limit, and reading the reply with `ret_code`s kept exact.
 *
 * @module
 */
import { StorageError } from '@stowage/core';
import { Agent, request, type Dispatcher } from 'undici';
import { parseJsonKeepingRetCodes } from './ret-code.js';

/** Plain-HTTP port of the LINSTOR controller. */
export const LINSTOR_HTTP_PORT = 3370;
/** HTTPS port of the LINSTOR controller. */
export const LINSTOR_HTTPS_PORT = 3371;

/** TLS material and settings, already read from disk. */
export interface TlsSettings {
  /** CA certificate(s), PEM. */
  readonly ca?: string | undefined;
  /** Client certificate, PEM. */
  readonly cert?: string | undefined;
  /** Client key, PEM. */
  readonly key?: string | undefined;
  /** Verify the server's certificate. */
  readonly verify: boolean;
}

/**
 * Turns a configured controller (`host`, `host:port`, `http(s)://host[:port]`) into a base URL.
 * Without a scheme, HTTPS on 3371 is used when `secure` (TLS material or a token is configured),
 * else HTTP on 3370.
 *
 * @param controller - the configured address
 * @param secure - whether TLS settings or a token are configured
 * @returns the origin, e.g. `http://ctrl1:3370`
 * @example
 * ```ts
 * controllerBaseUrl('ctrl1', false); // 'http://ctrl1:3370'
 * controllerBaseUrl('ctrl1', true); // 'https://ctrl1:3371'
 * ```
 */
export function controllerBaseUrl(controller: string, secure: boolean): string {
  const explicit = /^(https?):\/\//.exec(controller);
  const scheme = explicit ? explicit[1] : secure ? 'https' : 'http';
  const rest = controller.replace(/^https?:\/\//, '').replace(/\/$/, '');
  const hasPort = /:\d+$/.test(rest) && !/^\[[^\]]*$/.test(rest);
  const port = scheme === 'https' ? LINSTOR_HTTPS_PORT : LINSTOR_HTTP_PORT;
  return `${scheme}://${hasPort ? rest : `${rest}:${port}`}`;
}

/** A reply as read off the wire. */
export interface RawReply {
  /** HTTP status. */
  readonly status: number;
  /** The parsed JSON body (with `ret_code`s as `bigint`), the text when it is not JSON, or `undefined` when empty. */
  readonly body: unknown;
  /** Response headers (lower-case names). */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
}

/** Why an exchange did not produce a reply. */
export type TransportFailureKind = 'connect' | 'timeout' | 'aborted' | 'network';

/** A failed exchange: no HTTP reply was read. */
export class TransportFailure extends Error {
  /** `connect`: nothing was sent; `timeout`: the time limit passed; `aborted`: the caller aborted; `network`: broken mid-way. */
  readonly kind: TransportFailureKind;
  /**
   * @param kind - what went wrong
   * @param message - for people
   * @param cause - the underlying error
   */
  constructor(kind: TransportFailureKind, message: string, cause?: unknown) {
    super(message, { cause });
    this.kind = kind;
  }
}
Object.defineProperty(TransportFailure.prototype, 'name', { value: 'TransportFailure', enumerable: false });

const CONNECT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'UND_ERR_CONNECT_TIMEOUT', 'ECONNRESET_BEFORE_SEND']);

function errorCode(e: unknown): string | undefined {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const code = (cur as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    cur = (cur as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Settings of a {@link Transport}. */
export interface TransportOptions {
  /** TLS material, when HTTPS is used. */
  readonly tls: TlsSettings;
  /** Bearer token, when token authentication is used. */
  readonly token?: string | undefined;
  /** Time limit of each exchange, in milliseconds. */
  readonly timeoutMs: number;
}

/** Sends single requests; owns the undici connection pool (close it with {@link Transport.close}). */
export class Transport {
  readonly #agent: Dispatcher;
  readonly #options: TransportOptions;

  /** @param options - TLS, token and time limit */
  constructor(options: TransportOptions) {
    this.#options = options;
    const { ca, cert, key, verify } = options.tls;
    this.#agent = new Agent({
      connect: { ca, cert, key, rejectUnauthorized: verify, timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      keepAliveTimeout: 4_000,
    });
  }

  /**
   * Performs one exchange.
   *
   * @param baseUrl - the controller's origin
   * @param method - HTTP method
   * @param path - path and query, starting with `/`
   * @param body - a JSON-serialisable body, or `undefined`
   * @param signal - the caller's abort signal
   * @returns the reply
   * @throws {@link TransportFailure} when no reply was read
   */
  async send(baseUrl: string, method: string, path: string, body: unknown, signal: AbortSignal | undefined): Promise<RawReply> {
    const timeout = AbortSignal.timeout(this.#options.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (body !== undefined) headers['content-type'] = 'application/json';
    if (this.#options.token) headers.authorization = `Bearer ${this.#options.token}`;
    try {
      const res = await request(baseUrl + path, {
        method: method as Dispatcher.HttpMethod,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        dispatcher: this.#agent,
        signal: combined,
      });
      const text = await res.body.text();
      return { status: res.statusCode, body: parseBody(text), headers: res.headers };
    } catch (e) {
      if (signal?.aborted) throw new TransportFailure('aborted', `${method} ${path} aborted`, e);
      if (timeout.aborted) throw new TransportFailure('timeout', `${method} ${baseUrl}${path}: no answer within ${this.#options.timeoutMs} ms`, e);
      const code = errorCode(e);
      if (code && CONNECT_CODES.has(code)) throw new TransportFailure('connect', `cannot connect to ${baseUrl}: ${code}`, e);
      if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT') {
        throw new TransportFailure('timeout', `${method} ${baseUrl}${path}: no answer within ${this.#options.timeoutMs} ms`, e);
      }
      throw new TransportFailure('network', `${method} ${baseUrl}${path} failed: ${(e as Error).message}`, e);
    }
  }

  /** Closes idle connections. */
  async close(): Promise<void> {
    await this.#agent.close();
  }
}

function parseBody(text: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return parseJsonKeepingRetCodes(text);
  } catch {
    return text;
  }
}

/**
 * Reads a LINSTOR `auth.json` file (`{"token": "..."}`).
 *
 * @param text - the file's content
 * @returns the token
 * @throws {@link @stowage/core!index.StorageError | StorageError} `CONFIG_INVALID` when there is no token in it
 */
export function tokenFromAuthJson(text: string): string {
  let token: unknown;
  try {
    token = (JSON.parse(text) as { token?: unknown }).token;
  } catch (e) {
    throw new StorageError('CONFIG_INVALID', 'LINSTOR token file is not JSON', { cause: e });
  }
  if (typeof token !== 'string' || token === '') throw new StorageError('CONFIG_INVALID', 'LINSTOR token file has no "token"');
  return token;
}
