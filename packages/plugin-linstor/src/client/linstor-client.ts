/**
 * The LINSTOR controller client: picks the first controller whose `GET /health` answers 200,
 * fails over to the next, retries idempotent reads, and turns replies into results or
 * {@link @stowage/core!index.StorageError | StorageError}s.
 *
 * @module
 */
import { StorageError, type Logger } from '@stowage/core';
import { describeRc, errorFromReply } from '../errors.js';
import { isErrorRc, isWarningRc, toApiCallRcList, type ApiCallRc } from './ret-code.js';
import { controllerBaseUrl, Transport, TransportFailure, type RawReply, type TlsSettings } from './transport.js';

/** Settings of a {@link LinstorClient}. */
export interface LinstorClientOptions {
  /** Controllers in order of preference, as configured. */
  readonly controllers: readonly string[];
  /** TLS material and verification. */
  readonly tls: TlsSettings;
  /** Bearer token, if any. */
  readonly token?: string | undefined;
  /** Time limit of each HTTP exchange, in milliseconds. */
  readonly timeoutMs: number;
  /** Extra attempts for idempotent reads. */
  readonly readRetries: number;
}

/** A successful reply. */
export interface LinstorReply<T = unknown> {
  /** HTTP status (2xx). */
  readonly status: number;
  /** The parsed body (`ret_code`s as `bigint`). */
  readonly body: T;
  /** The ApiCallRc entries found in the body (none for plain reads). */
  readonly entries: readonly ApiCallRc[];
  /** The entries that are warnings (for example `WARN_NOT_CONNECTED` when a satellite is offline). */
  readonly warnings: readonly ApiCallRc[];
  /** The controller that answered. */
  readonly controller: string;
}

/** Per-call settings. */
export interface CallOptions {
  /** The operation's abort signal. */
  readonly signal?: AbortSignal | undefined;
  /** Where warnings go. */
  readonly log?: Logger | undefined;
  /** HTTP statuses that are a normal answer for this call besides 2xx (e.g. 404 for "does it exist?"). */
  readonly acceptStatus?: readonly number[];
  /** Treat the call as an idempotent read (retried) whatever its method, e.g. a `POST` query. */
  readonly idempotent?: boolean;
}

const IDEMPOTENT = new Set(['GET', 'HEAD']);

/**
 * Talks to a LINSTOR controller cluster.
 *
 * @example
 * ```ts
 * const client = new LinstorClient({ controllers: ['ctrl1', 'ctrl2'], tls: { verify: true }, timeoutMs: 30_000, readRetries: 2 });
 * const groups = await client.get('/v1/resource-groups');
 * ```
 */
export class LinstorClient {
  readonly #options: LinstorClientOptions;
  readonly #transport: Transport;
  readonly #bases: readonly string[];
  #active: string | undefined;

  /** @param options - controllers, TLS, token, time limit and retries */
  constructor(options: LinstorClientOptions) {
    this.#options = options;
    const secure = Boolean(options.tls.ca || options.tls.cert || options.token);
    this.#bases = options.controllers.map((c) => controllerBaseUrl(c, secure));
    this.#transport = new Transport({ tls: options.tls, token: options.token, timeoutMs: options.timeoutMs });
  }

  /** The base URL of the controller in use, if one was chosen. */
  get activeController(): string | undefined {
    return this.#active;
  }

  /**
   * Chooses a controller: the one in use if it still answers, else the first (in configured
   * order, after those in `avoid`) whose `GET /health` answers 200.
   *
   * @param signal - abort signal
   * @param avoid - controllers that just failed; tried last
   * @returns the chosen base URL
   * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE` when no controller answers
   */
  async selectController(signal?: AbortSignal, avoid: ReadonlySet<string> = new Set()): Promise<string> {
    if (this.#active && !avoid.has(this.#active)) return this.#active;
    const order = [...this.#bases.filter((b) => !avoid.has(b)), ...this.#bases.filter((b) => avoid.has(b))];
    const failures: { controller: string; reason: string }[] = [];
    for (const base of order) {
      try {
        const r = await this.#transport.send(base, 'GET', '/health', undefined, signal);
        if (r.status === 200) {
          this.#active = base;
          return base;
        }
        failures.push({ controller: base, reason: `HTTP ${r.status}` });
      } catch (e) {
        if (e instanceof TransportFailure && e.kind === 'aborted') throw new StorageError('ABORTED', 'operation aborted', { cause: e });
        failures.push({ controller: base, reason: (e as Error).message });
      }
    }
    this.#active = undefined;
    throw new StorageError('UNAVAILABLE', `no LINSTOR controller answers (${this.#bases.join(', ')})`, { details: { controllers: failures } });
  }

  /**
   * `GET` a path. Retried (on the next controller) after a connection failure, a time-out or a 5xx.
   *
   * @param path - path and query
   * @param options - signal, logger, statuses accepted besides 2xx
   * @returns the reply
   * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the controller's answer, `UNAVAILABLE`, `TIMEOUT`, `ABORTED`
   */
  get<T = unknown>(path: string, options: CallOptions = {}): Promise<LinstorReply<T>> {
    return this.call<T>('GET', path, undefined, options);
  }

  /**
   * Sends one call. Reads are retried; writes are sent once (to another controller only when the
   * connection could not even be opened, so nothing reached the first one).
   *
   * @param method - `GET`, `POST`, `PUT`, `DELETE`
   * @param path - path and query
   * @param body - JSON body
   * @param options - signal, logger, statuses accepted besides 2xx
   * @returns the reply; warnings are logged and returned
   * @throws {@link @stowage/core!index.StorageError | StorageError} mapped from the controller's answer (see {@link errorFromReply}),
   *   `UNAVAILABLE` (no controller), `TIMEOUT` (a write with no answer in time: its outcome is unknown), `ABORTED`
   */
  async call<T = unknown>(method: string, path: string, body?: unknown, options: CallOptions = {}): Promise<LinstorReply<T>> {
    const idempotent = options.idempotent ?? IDEMPOTENT.has(method);
    const attempts = idempotent ? 1 + this.#options.readRetries : 1 + this.#bases.length;
    const avoid = new Set<string>();
    let lastError: StorageError | undefined;
    for (let attempt = 0; attempt < attempts; attempt++) {
      const base = await this.selectController(options.signal, avoid);
      let reply: RawReply;
      try {
        reply = await this.#transport.send(base, method, path, body, options.signal);
      } catch (e) {
        const f = e as TransportFailure;
        if (f.kind === 'aborted') throw new StorageError('ABORTED', `${method} ${path} aborted`, { cause: e });
        this.#forget(base, avoid);
        const details = { method, path, controller: base, reason: f.message };
        if (!idempotent && f.kind !== 'connect') {
          const code = f.kind === 'timeout' ? 'TIMEOUT' : 'UNAVAILABLE';
          throw new StorageError(code, `LINSTOR ${method} ${path}: ${f.message} (the change may or may not have been made)`, { cause: e, details });
        }
        lastError = new StorageError(f.kind === 'timeout' ? 'TIMEOUT' : 'UNAVAILABLE', `LINSTOR ${method} ${path}: ${f.message}`, { cause: e, details });
        options.log?.warn(`LINSTOR controller ${base} failed, trying another`, details);
        continue;
      }
      const entries = toApiCallRcList(reply.body);
      const ok = (reply.status >= 200 && reply.status < 300) || options.acceptStatus?.includes(reply.status);
      if (reply.status >= 300 && reply.status < 400) {
        throw new StorageError('UNAVAILABLE', `LINSTOR controller ${base} redirects (${reply.status}); configure its HTTPS address`, {
          details: { method, path, controller: base, location: reply.headers.location },
        });
      }
      if (!ok || entries.some(isErrorRc)) {
        const err = errorFromReply({ method, path, status: reply.status, entries, controller: base });
        if (idempotent && reply.status >= 500) {
          lastError = err;
          this.#forget(base, avoid);
          options.log?.warn(`LINSTOR controller ${base} answered ${reply.status} to ${method} ${path}, trying again`, { status: reply.status });
          continue;
        }
        throw err;
      }
      const warnings = entries.filter(isWarningRc);
      for (const w of warnings) options.log?.warn(`LINSTOR: ${w.message}`, { ...describeRc(w), method, path });
      return { status: reply.status, body: reply.body as T, entries, warnings, controller: base };
    }
    throw lastError ?? new StorageError('UNAVAILABLE', `LINSTOR ${method} ${path} failed`);
  }

  #forget(base: string, avoid: Set<string>): void {
    avoid.add(base);
    if (this.#active === base) this.#active = undefined;
  }

  /** Closes the connection pool. */
  async close(): Promise<void> {
    await this.#transport.close();
  }
}
