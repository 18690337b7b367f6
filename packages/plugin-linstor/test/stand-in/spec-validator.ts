/**
 * Checks the stand-in's replies (and the plugin's requests) against LINSTOR's published
 * OpenAPI 3.0 specification with ajv + ajv-formats. Relaxed only where
 * `reference/linstor-api.md` records that the real controller departs from its specification;
 * each relaxation below names the section.
 *
 * The specification is GPL test data kept outside the repository: `../shared/linstor/rest_v1_openapi.yaml`
 * relative to the repository root. When it is absent, {@link loadSpecValidator} returns `undefined`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { parse as parseYaml } from 'yaml';

const addFormats = addFormatsModule as unknown as (ajv: Ajv) => Ajv;

/** The repository root (four levels up from this file). */
export const REPO_ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '..', '..', '..', '..');
/** Where the specification is expected. */
export const SPEC_PATH = resolve(REPO_ROOT, '..', 'shared', 'linstor', 'rest_v1_openapi.yaml');

/** One thing the validator found wrong. */
export interface SpecViolation {
  /** `response` (the stand-in broke the spec) or `request` (the plugin did). */
  readonly kind: 'response' | 'request';
  /** Method and path as sent. */
  readonly method: string;
  readonly path: string;
  /** HTTP status of the reply (responses only). */
  readonly status?: number;
  /** What was wrong. */
  readonly problem: string;
}

type Json = Record<string, unknown>;

interface Route {
  readonly template: string;
  readonly re: RegExp;
  readonly item: Json;
}

/**
 * Routes that exist on the real server but not in the specification (linstor-api.md §5, §8):
 * single-object GETs answer the object itself. Each maps to the schema it answers with.
 */
const SERVER_ONLY_GETS: Readonly<Record<string, string>> = {
  '/v1/resource-groups/{resource_group}': 'ResourceGroup',
  '/v1/resource-definitions/{resource}': 'ResourceDefinition',
  '/v1/resource-definitions/{resource}/volume-definitions/{volume_number}': 'VolumeDefinition',
  '/v1/resource-definitions/{resource}/resources/{node}': 'Resource',
};

/** Validates exchanges with a LINSTOR controller against the specification. */
export class SpecValidator {
  readonly #ajv: Ajv;
  readonly #routes: Route[];
  readonly #cache = new Map<string, ValidateFunction>();
  /** Everything found so far. */
  readonly violations: SpecViolation[] = [];
  /** How many responses and requests were checked. */
  checked = 0;

  /** @param spec - the parsed OpenAPI document */
  constructor(spec: Json) {
    this.#ajv = new Ajv({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.#ajv);
    this.#ajv.addSchema({ $id: 'linstor-spec', components: spec.components }, 'linstor-spec');
    const paths = spec.paths as Record<string, Json>;
    this.#routes = Object.entries(paths)
      .map(([template, item]) => ({ template, item, re: templateRegExp(template) }))
      // literal segments win over parameters: sort by number of parameters
      .sort((a, b) => paramCount(a.template) - paramCount(b.template));
    for (const t of Object.keys(SERVER_ONLY_GETS)) {
      if (!this.#routes.some((r) => r.template === t)) this.#routes.push({ template: t, item: {}, re: templateRegExp(t) });
    }
  }

  #compile(key: string, schema: unknown): ValidateFunction {
    let fn = this.#cache.get(key);
    if (!fn) {
      fn = this.#ajv.compile(rewriteRefs(schema) as object);
      this.#cache.set(key, fn);
    }
    return fn;
  }

  #match(path: string): Route | undefined {
    const p = path.split('?')[0] as string;
    return this.#routes.find((r) => r.re.test(p));
  }

  /**
   * Checks one reply. `/health` is not in the specification (§1): 200 empty or 500 text.
   *
   * @param method - HTTP method
   * @param path - path and query
   * @param status - HTTP status sent
   * @param bodyText - the body sent
   */
  checkResponse(method: string, path: string, status: number, bodyText: string): void {
    this.checked++;
    const bad = (problem: string) => this.violations.push({ kind: 'response', method, path, status, problem });
    if (path.split('?')[0] === '/health') {
      if (status !== 200 && status !== 500) bad(`/health answered ${status}`);
      return;
    }
    let body: unknown;
    try {
      body = bodyText === '' ? undefined : JSON.parse(bodyText);
    } catch {
      return bad('body is not JSON');
    }
    const route = this.#match(path);
    if (!route) {
      // Unknown routes answer 404 with an ApiCallRc list (§1).
      if (status === 404) return this.#checkSchema(`rclist`, { $ref: '#/components/schemas/ApiCallRcList' }, body, bad);
      return bad('no such route in the specification');
    }
    const op = route.item[method.toLowerCase()] as Json | undefined;
    const serverOnly = SERVER_ONLY_GETS[route.template];
    if (status >= 400) {
      // §3: every error answer is an ApiCallRc *array* (the spec says a single object for 500 and
      // does not list 404/500/401 on every operation). §5 clone: a failed clone answers the
      // CloneStarted object with 500.
      if (route.template.endsWith('/clone') && method === 'POST' && status === 500 && !Array.isArray(body)) {
        return this.#checkSchema('clone-started', { $ref: '#/components/schemas/ResourceDefinitionCloneStarted' }, body, bad);
      }
      if (status === 405 && !op) return; // wrong method (§1)
      return this.#checkSchema('rclist', { $ref: '#/components/schemas/ApiCallRcList' }, body, bad);
    }
    if (method === 'GET' && serverOnly && !op) {
      if (status !== 200) return bad(`server-only GET answered ${status}`);
      return this.#checkSchema(`server-only:${serverOnly}`, { $ref: `#/components/schemas/${serverOnly}` }, body, bad);
    }
    if (!op) return bad(`${method} is not an operation of ${route.template}`);
    const responses = op.responses as Record<string, Json>;
    let resp = responses[String(status)];
    // §5: creating a volume definition answers 200 where the spec says 201.
    if (!resp && status === 200 && method === 'POST' && route.template.endsWith('/volume-definitions')) resp = responses['201'];
    if (!resp) return bad(`status ${status} is not listed for ${method} ${route.template} (${Object.keys(responses).join(', ')})`);
    const schema = resolveResponseSchema(resp);
    if (schema === undefined) return;
    this.#checkSchema(`${method} ${route.template} ${status}`, schema, body, bad);
  }

  /**
   * Checks one request body the plugin sent.
   *
   * @param method - HTTP method
   * @param path - path and query
   * @param bodyText - the body received ('' when none)
   */
  checkRequest(method: string, path: string, bodyText: string): void {
    this.checked++;
    const bad = (problem: string) => this.violations.push({ kind: 'request', method, path, problem });
    const route = this.#match(path);
    if (!route || path.startsWith('/health')) return;
    const op = route.item[method.toLowerCase()] as Json | undefined;
    if (!op) {
      if (method === 'GET' && SERVER_ONLY_GETS[route.template]) return;
      return bad(`${method} is not an operation of ${route.template}`);
    }
    const schema = (op.requestBody as Json | undefined)?.content as Record<string, Json> | undefined;
    const s = schema?.['application/json']?.schema;
    if (bodyText === '') return; // §5: rollback (and other optional bodies) may be empty
    if (!s) return bad('body sent to an operation that takes none');
    let body: unknown;
    try {
      body = JSON.parse(bodyText);
    } catch {
      return bad('request body is not JSON');
    }
    // §5 autoplace: the server accepts {} although the spec requires select_filter.
    if (route.template.endsWith('/autoplace') && typeof body === 'object' && body !== null && !('select_filter' in body)) {
      body = { ...body, select_filter: {} };
    }
    this.#checkSchema(`req ${method} ${route.template}`, s, body, bad);
  }

  #checkSchema(key: string, schema: unknown, body: unknown, bad: (p: string) => void): void {
    const fn = this.#compile(key, schema);
    if (!fn(body)) bad(this.#ajv.errorsText(fn.errors, { separator: '; ' }));
  }
}

function paramCount(t: string): number {
  return (t.match(/\{/g) ?? []).length;
}

function templateRegExp(t: string): RegExp {
  const src = t
    .split('/')
    .map((seg) => (seg.startsWith('{') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('/');
  return new RegExp(`^${src}$`);
}

function rewriteRefs(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(rewriteRefs);
  if (typeof schema !== 'object' || schema === null) return schema;
  const out: Json = {};
  for (const [k, v] of Object.entries(schema)) {
    out[k] = k === '$ref' && typeof v === 'string' && v.startsWith('#/') ? `linstor-spec${v}` : rewriteRefs(v);
  }
  return out;
}

function resolveResponseSchema(resp: Json): unknown {
  if (typeof resp.$ref === 'string') {
    // components/responses/X: all three are ApiCallRc(List); handled as the referenced schema
    const name = resp.$ref.split('/').pop();
    return name === 'OperationFailed' ? { $ref: '#/components/schemas/ApiCallRc' } : { $ref: '#/components/schemas/ApiCallRcList' };
  }
  const content = resp.content as Record<string, Json> | undefined;
  return content?.['application/json']?.schema;
}

/**
 * Loads the specification, or returns `undefined` when the file is absent.
 *
 * @param path - where to look
 */
export function loadSpecValidator(path: string = SPEC_PATH): SpecValidator | undefined {
  if (!existsSync(path)) return undefined;
  return new SpecValidator(parseYaml(readFileSync(path, 'utf8')) as Json);
}
