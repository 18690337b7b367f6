/**
 * A stand-in LINSTOR controller for tests: an HTTP(S) server on 127.0.0.1 (random port) that
 * keeps its state in a {@link Model} and answers as the real controller does. Several stand-ins
 * may share one model, as several controllers share one database, to test failover.
 *
 * Every reply (and every request the plugin sends) goes through the {@link SpecValidator} when
 * one is given; what it finds is collected in `validator.violations`.
 *
 * Fault modes: {@link StandIn.stop} (controller down), {@link StandIn.failNext}, {@link StandIn.failAt}
 * and {@link StandIn.failFrom} (500s),
 * {@link StandIn.delayMs} (slow answers), {@link StandIn.healthy} (`/health` fails),
 * `clone.outcome = 'FAILED'`, offline satellites (`model.nodes.get(n).online = false`), and
 * {@link StandIn.expireToken} (an expired bearer token).
 */
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { definitionRoutes } from './handlers-definitions.js';
import { snapshotRoutes, type CloneBehaviour } from './handlers-snapshots.js';
import type { Model } from './model.js';
import { ApiFailure, rc, toJson } from './replies.js';
import { Router } from './router.js';
import type { SpecValidator } from './spec-validator.js';

/** TLS settings of an HTTPS stand-in. */
export interface StandInTls {
  key: string;
  cert: string;
  /** When set, clients must present a certificate signed by this CA (mutual TLS). */
  ca?: string;
}

/** Options of {@link StandIn.start}. */
export interface StandInOptions {
  model: Model;
  validator?: SpecValidator | undefined;
  tls?: StandInTls;
  /** When set, every `/v1` call needs `Authorization: Bearer <token>` (§2). */
  token?: string;
}

/** One request as the stand-in saw it. */
export interface SeenRequest {
  method: string;
  path: string;
  status: number;
}

export class StandIn {
  readonly model: Model;
  readonly validator: SpecValidator | undefined;
  readonly clone: CloneBehaviour = { polls: 1, outcome: 'COMPLETE' };
  readonly requests: SeenRequest[] = [];
  /** Delay of every `/v1` answer, in ms (slow controller). */
  delayMs = 0;
  /** `false` makes `/health` answer 500. */
  healthy = true;
  #failNext = 0;
  #failFilter: ((method: string, path: string) => boolean) | undefined;
  #failAt = 0;
  #failFrom = 0;
  /** `/v1` requests answered so far (faults included). */
  v1Count = 0;
  #server: Server;
  #port = 0;
  #sockets = new Set<Socket>();
  #router = new Router();
  #token: string | undefined;
  #tokenExpired = false;
  readonly #secure: boolean;

  private constructor(options: StandInOptions) {
    this.model = options.model;
    this.validator = options.validator;
    this.#token = options.token;
    this.#secure = options.tls !== undefined;
    this.#router.add(definitionRoutes(this.model));
    this.#router.add(snapshotRoutes(this.model, this.clone));
    const handler = (req: IncomingMessage, res: ServerResponse) => void this.#handle(req, res);
    this.#server = options.tls
      ? createHttpsServer({ key: options.tls.key, cert: options.tls.cert, ca: options.tls.ca, requestCert: Boolean(options.tls.ca), rejectUnauthorized: Boolean(options.tls.ca) }, handler)
      : createHttpServer(handler);
    this.#server.on('connection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
    this.#server.on('secureConnection', (s: Socket) => {
      this.#sockets.add(s);
      s.on('close', () => this.#sockets.delete(s));
    });
  }

  /** Starts a stand-in on 127.0.0.1 with a random port. */
  static async start(options: StandInOptions): Promise<StandIn> {
    const s = new StandIn(options);
    await s.#listen(0);
    return s;
  }

  /** `http(s)://127.0.0.1:<port>`. */
  get url(): string {
    return `${this.#secure ? 'https' : 'http'}://127.0.0.1:${this.#port}`;
  }

  /** The listening port. */
  get port(): number {
    return this.#port;
  }

  #listen(port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, '127.0.0.1', () => {
        this.#server.off('error', reject);
        this.#port = (this.#server.address() as AddressInfo).port;
        resolve();
      });
    });
  }

  /** Takes the controller down: stops listening and drops every connection (connection refused). */
  async stop(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  /** Brings a stopped controller back on the same port. */
  async restart(): Promise<void> {
    await this.#listen(this.#port);
  }

  /** The next `n` `/v1` calls (those `filter` picks, if given) answer 500 with `FAIL_UNKNOWN_ERROR`. */
  failNext(n: number, filter?: (method: string, path: string) => boolean): void {
    this.#failNext = n;
    this.#failFilter = filter;
  }

  /** The `n`-th `/v1` request from now (1 = the next) answers 500 with `FAIL_UNKNOWN_ERROR`; 0 turns this off. */
  failAt(n: number): void {
    this.#failAt = n > 0 ? this.v1Count + n : 0;
  }

  /**
   * Every `/v1` request from the `n`-th from now on (1 = the next) answers 500 until
   * `failFrom(0)`: the controller is lost mid-operation, as when the caller is killed (nothing
   * after that point is done, clean-up included).
   */
  failFrom(n: number): void {
    this.#failFrom = n > 0 ? this.v1Count + n : 0;
  }

  /** Makes the configured token invalid, as an expired one is (401). */
  expireToken(): void {
    this.#tokenExpired = true;
  }

  /** How many requests matched `method` and a path starting with `prefix`. */
  count(method: string, prefix: string): number {
    return this.requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length;
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const rawPath = req.url ?? '/';
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const bodyText = Buffer.concat(chunks).toString('utf8');
    const url = new URL(rawPath, 'http://stand-in');
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = body === undefined ? '' : typeof body === 'string' ? body : toJson(body);
      this.requests.push({ method, path: rawPath, status });
      this.validator?.checkResponse(method, rawPath, status, text);
      res.writeHead(status, { 'content-type': typeof body === 'string' ? 'text/plain' : 'application/json', ...headers });
      res.end(text);
    };
    if (url.pathname === '/health') return this.healthy ? send(200, undefined) : send(500, 'controller not ready');
    if (this.delayMs > 0) {
      await new Promise((r) => setTimeout(r, this.delayMs));
      if (res.destroyed) return;
    }
    if (this.#token !== undefined) {
      const auth = req.headers.authorization;
      if (!auth || auth !== `Bearer ${this.#token}` || this.#tokenExpired) {
        return send(401, [rc('error', undefined, undefined, 10001, auth ? 'Invalid or expired token.' : 'Authentication required.')], {
          'www-authenticate': 'Bearer realm="linstor-controller"',
        });
      }
    }
    this.validator?.checkRequest(method, rawPath, bodyText);
    this.v1Count++;
    if ((this.#failAt > 0 && this.v1Count === this.#failAt) || (this.#failFrom > 0 && this.v1Count >= this.#failFrom)) {
      if (this.v1Count === this.#failAt) this.#failAt = 0;
      return send(500, [rc('error', undefined, undefined, 998, 'An unknown error occurred.', { details: 'Injected by the stand-in.' })]);
    }
    if (this.#failNext > 0 && (!this.#failFilter || this.#failFilter(method, url.pathname))) {
      this.#failNext--;
      return send(500, [rc('error', undefined, undefined, 998, 'An unknown error occurred.', { details: 'Injected by the stand-in.' })]);
    }
    let body: unknown;
    try {
      body = bodyText === '' ? undefined : JSON.parse(bodyText);
    } catch {
      return send(400, [rc('error', undefined, undefined, 998, 'Could not parse the request body as JSON.')]);
    }
    const m = this.#router.match(method, url.pathname);
    if (m === 404) return send(404, [rc('error', undefined, undefined, 998, `No such resource: ${url.pathname}`)]);
    if (m === 405) return send(405, [rc('error', undefined, undefined, 998, `Method ${method} not allowed on ${url.pathname}`)]);
    try {
      const out = m.handler({ p: m.p, q: url.searchParams, body });
      return send(out.status, out.body);
    } catch (e) {
      if (e instanceof ApiFailure) return send(e.status, e.entries);
      return send(500, [rc('error', undefined, undefined, 999, `Stand-in implementation error: ${(e as Error).message}`)]);
    }
  }
}
