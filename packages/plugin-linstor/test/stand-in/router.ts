/**
 * A tiny router for the stand-in: `[method, '/v1/x/:param', handler]` triples.
 */

/** What a handler gets. */
export interface RouteInput {
  /** Path parameters (decoded). */
  readonly p: Readonly<Record<string, string>>;
  /** Query parameters. */
  readonly q: URLSearchParams;
  /** Parsed JSON body, or `undefined` when there was none. */
  readonly body: unknown;
}

/** What a handler answers. */
export interface RouteOutput {
  readonly status: number;
  readonly body: unknown;
}

/** One route. */
export type Route = [method: string, pattern: string, handler: (input: RouteInput) => RouteOutput];

interface Compiled {
  method: string;
  re: RegExp;
  keys: string[];
  handler: Route[2];
}

export class Router {
  readonly #routes: Compiled[] = [];

  add(routes: Route[]): void {
    for (const [method, pattern, handler] of routes) {
      const keys: string[] = [];
      const src = pattern
        .split('/')
        .map((seg) => {
          if (seg.startsWith(':')) {
            keys.push(seg.slice(1));
            return '([^/]+)';
          }
          return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
        })
        .join('/');
      this.#routes.push({ method, re: new RegExp(`^${src}$`), keys, handler });
    }
    // literal segments before parameters
    this.#routes.sort((a, b) => a.keys.length - b.keys.length);
  }

  /** Finds the handler; `405` when the path exists with another method, `404` when it does not. */
  match(method: string, path: string): { handler: Route[2]; p: Record<string, string> } | 404 | 405 {
    let pathKnown = false;
    for (const r of this.#routes) {
      const m = r.re.exec(path);
      if (!m) continue;
      pathKnown = true;
      if (r.method !== method) continue;
      const p: Record<string, string> = {};
      r.keys.forEach((key, i) => (p[key] = decodeURIComponent(m[i + 1] as string)));
      return { handler: r.handler, p };
    }
    return pathKnown ? 405 : 404;
  }
}
