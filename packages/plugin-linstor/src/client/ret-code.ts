/**
 * LINSTOR's `ret_code`: a signed 64-bit value made of bit fields (severity, operation, object,
 * code). Values routinely exceed 2^53, so they are read from the raw JSON text as `bigint` and
 * never pass through a JavaScript number.
 *
 * @module
 */

/** Severity bits 63–62 of a `ret_code`. */
export const MASK_SEVERITY = 0xc000_0000_0000_0000n;
/** Severity: error (both bits set). */
export const MASK_ERROR = 0xc000_0000_0000_0000n;
/** Severity: warning (bit 63 only). */
export const MASK_WARN = 0x8000_0000_0000_0000n;
/** Severity: info (bit 62 only). */
export const MASK_INFO = 0x4000_0000_0000_0000n;
/** Operation bits 25–24. */
export const MASK_OPERATION = 0x300_0000n;
/** Object bits 22–18. */
export const MASK_OBJECT = 0x7c_0000n;
/** Code bits 14–0. */
export const MASK_CODE = 0x7fffn;

/** Operation values (bits 25–24). */
export const RC_OPERATION = { create: 0x100_0000n, modify: 0x200_0000n, delete: 0x300_0000n } as const;

/** Object values (bits 22–18). */
export const RC_OBJECT = {
  node: 0x3c_0000n,
  resourceDefinition: 0x38_0000n,
  resource: 0x34_0000n,
  volumeDefinition: 0x30_0000n,
  volume: 0x2c_0000n,
  storagePool: 0x14_0000n,
  snapshot: 0x0c_0000n,
  resourceGroup: 0x44_0000n,
} as const;

/** The codes (bits 14–0) this plugin reacts to, by LINSTOR's names. */
export const RC_CODE = {
  CREATED: 1,
  DELETED: 2,
  MODIFIED: 3,
  FAIL_INVLD_RSC_NAME: 202,
  FAIL_INVLD_VLM_SIZE: 206,
  FAIL_INVLD_SNAPSHOT_NAME: 218,
  FAIL_NOT_FOUND_NODE: 300,
  FAIL_NOT_FOUND_RSC_DFN: 301,
  FAIL_NOT_FOUND_RSC: 302,
  FAIL_NOT_FOUND_VLM_DFN: 303,
  FAIL_NOT_FOUND_SNAPSHOT_DFN: 313,
  FAIL_NOT_FOUND_RSC_GRP: 317,
  FAIL_EXISTS_RSC_DFN: 501,
  FAIL_EXISTS_RSC: 502,
  FAIL_EXISTS_SNAPSHOT_DFN: 514,
  FAIL_RSC_BUSY: 992,
  FAIL_SNAPSHOTS_NOT_SUPPORTED: 994,
  FAIL_NOT_CONNECTED: 995,
  FAIL_NOT_ENOUGH_NODES: 996,
  FAIL_IN_USE: 997,
  FAIL_UNKNOWN_ERROR: 998,
  WARN_NOT_CONNECTED: 1002,
  WARN_RSC_ALREADY_DEPLOYED: 1006,
  WARN_VLMDFN_RESIZE_SAME_SIZE: 1023,
  WARN_NOT_FOUND: 3000,
  INFO_NO_RSC_SPAWNED: 10000,
} as const;

/** How severe one reply entry is. */
export type Severity = 'success' | 'info' | 'warning' | 'error';

/** The bit fields of a `ret_code`. */
export interface RetCodeFields {
  /** Bits 63–62. */
  readonly severity: Severity;
  /** Bits 25–24: create, modify or delete (`RC_OPERATION`). */
  readonly operation: bigint;
  /** Bits 22–18: the kind of object (`RC_OBJECT`). */
  readonly object: bigint;
  /** Bits 14–0: the code (`RC_CODE`). */
  readonly code: number;
}

/**
 * Splits a `ret_code` into its fields.
 *
 * @param rc - the signed 64-bit value
 * @returns severity, operation bits, object bits and the code (bits 14–0)
 * @example
 * ```ts
 * decodeRetCode(-4611686018406940171n); // { severity: 'error', operation: 0x1000000n, object: 0x380000n, code: 501 }
 * ```
 */
export function decodeRetCode(rc: bigint): RetCodeFields {
  const u = BigInt.asUintN(64, rc);
  const sev = u & MASK_SEVERITY;
  const severity: Severity = sev === MASK_ERROR ? 'error' : sev === MASK_WARN ? 'warning' : sev === MASK_INFO ? 'info' : 'success';
  return { severity, operation: u & MASK_OPERATION, object: u & MASK_OBJECT, code: Number(u & MASK_CODE) };
}

/**
 * Builds a `ret_code` from its fields, as the controller does (severity | operation | object | code).
 *
 * @param parts - severity, optional operation and object bits, code
 * @returns the signed 64-bit value
 */
export function encodeRetCode(parts: { readonly severity: Severity; readonly operation?: bigint; readonly object?: bigint; readonly code: number }): bigint {
  const sev = { success: 0n, info: MASK_INFO, warning: MASK_WARN, error: MASK_ERROR }[parts.severity];
  return BigInt.asIntN(64, sev | (parts.operation ?? 0n) | (parts.object ?? 0n) | (BigInt(parts.code) & MASK_CODE));
}

/**
 * The severity of a `ret_code`.
 *
 * @param rc - the signed 64-bit value
 */
export function severityOf(rc: bigint): Severity {
  return decodeRetCode(rc).severity;
}

/** One entry of an ApiCallRc reply, with `ret_code` kept exact. */
export interface ApiCallRc {
  /** The exact signed 64-bit code. */
  readonly retCode: bigint;
  /** What happened. Always present. */
  readonly message: string;
  /** Why it happened, when the controller says. */
  readonly cause?: string | undefined;
  /** More detail, when the controller gives it. */
  readonly details?: string | undefined;
  /** What to do about it, when the controller says. */
  readonly correction?: string | undefined;
  /** Error report ids on the controller. */
  readonly errorReportIds?: readonly string[] | undefined;
  /** The objects involved (`RscDfn`, `Node`, `VlmNr`, `Snapshot`, `RscGrp`). */
  readonly objRefs?: Readonly<Record<string, string>> | undefined;
}

/** The marker that {@link parseJsonKeepingRetCodes} puts in front of exact `ret_code` digits. */
const RC_MARK = '\u0000rc:';

/**
 * Finds every `"ret_code": <integer>` member in JSON text and returns the text with those
 * integers turned into marked strings, so `JSON.parse` cannot round them. It walks the text as
 * a JSON scanner would (strings with escapes, then `:` after a key), so a `ret_code` mentioned
 * inside a message is left alone. Whitespace anywhere JSON allows it is tolerated; a value that
 * is not a plain integer (a fraction, an exponent, a string) is left as it is.
 *
 * @param text - JSON text as received
 * @returns the rewritten text and how many codes were found
 */
export function protectRetCodes(text: string): { text: string; found: number } {
  let out = '';
  let last = 0;
  let found = 0;
  let i = 0;
  const n = text.length;
  const isWs = (c: string | undefined) => c === ' ' || c === '\n' || c === '\r' || c === '\t';
  while (i < n) {
    const c = text[i];
    if (c !== '"') {
      i++;
      continue;
    }
    // A string: find its end, honouring escapes.
    const start = i + 1;
    let j = start;
    let escaped = false;
    for (; j < n; j++) {
      const d = text[j];
      if (escaped) escaped = false;
      else if (d === '\\') escaped = true;
      else if (d === '"') break;
    }
    if (j >= n) break; // unterminated: leave the rest to JSON.parse to complain about
    const str = text.slice(start, j);
    i = j + 1;
    if (str !== 'ret_code') continue;
    let k = i;
    while (isWs(text[k])) k++;
    if (text[k] !== ':') continue; // a value "ret_code", not a key
    k++;
    while (isWs(text[k])) k++;
    const m = /^-?(?:0|[1-9][0-9]*)/.exec(text.slice(k, k + 24));
    if (!m) continue;
    const end = k + m[0].length;
    const next = text[end];
    if (next === '.' || next === 'e' || next === 'E') continue; // not an integer literal
    out += text.slice(last, k) + JSON.stringify(RC_MARK + m[0]);
    last = end;
    i = end;
    found++;
  }
  return { text: out + text.slice(last), found };
}

/**
 * Parses JSON text, turning every `ret_code` integer into an exact `bigint` (see
 * `protectRetCodes`). Everything else parses as `JSON.parse` would.
 *
 * @param text - JSON text as received from the controller
 * @returns the parsed value
 * @throws SyntaxError when the text is not JSON
 * @example
 * ```ts
 * parseJsonKeepingRetCodes('[{"ret_code":-9223372036800771144,"message":"x"}]');
 * // [{ ret_code: -9223372036800771144n, message: 'x' }]
 * ```
 */
export function parseJsonKeepingRetCodes(text: string): unknown {
  const { text: safe, found } = protectRetCodes(text);
  if (found === 0) return JSON.parse(text);
  return JSON.parse(safe, (key, value: unknown) =>
    key === 'ret_code' && typeof value === 'string' && value.startsWith(RC_MARK) ? BigInt(value.slice(RC_MARK.length)) : value,
  );
}

/**
 * Reads one ApiCallRc entry from a parsed reply (as made by {@link parseJsonKeepingRetCodes}).
 *
 * @param raw - one element of the reply
 * @returns the entry, or `undefined` when it has no integer `ret_code`
 */
export function toApiCallRc(raw: unknown): ApiCallRc | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const r = raw as Record<string, unknown>;
  let rc: bigint;
  if (typeof r.ret_code === 'bigint') rc = r.ret_code;
  else if (typeof r.ret_code === 'number' && Number.isInteger(r.ret_code)) rc = BigInt(r.ret_code); // only the severity is trustworthy here
  else return undefined;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  return {
    retCode: rc,
    message: typeof r.message === 'string' ? r.message : '',
    cause: str(r.cause),
    details: str(r.details),
    correction: str(r.correction),
    errorReportIds: Array.isArray(r.error_report_ids) ? r.error_report_ids.filter((x): x is string => typeof x === 'string') : undefined,
    objRefs:
      typeof r.obj_refs === 'object' && r.obj_refs !== null ? (Object.fromEntries(Object.entries(r.obj_refs).map(([k, v]) => [k, String(v)])) as Record<string, string>) : undefined,
  };
}

/**
 * Reads an ApiCallRc list from any reply shape the controller uses: an array of entries, a single
 * entry (what the specification promises for 500), or an object carrying `messages` (clone).
 *
 * @param body - the parsed reply
 * @returns the entries found, in order
 */
export function toApiCallRcList(body: unknown): ApiCallRc[] {
  if (Array.isArray(body)) return body.map(toApiCallRc).filter((e): e is ApiCallRc => e !== undefined);
  const one = toApiCallRc(body);
  if (one) return [one];
  if (typeof body === 'object' && body !== null && Array.isArray((body as { messages?: unknown }).messages)) {
    return toApiCallRcList((body as { messages: unknown[] }).messages);
  }
  return [];
}

/**
 * Tells whether an entry is an error, as linstor-api-py decides: both severity bits set.
 *
 * @param entry - one reply entry
 */
export function isErrorRc(entry: ApiCallRc): boolean {
  return severityOf(entry.retCode) === 'error';
}

/**
 * Tells whether an entry is a warning.
 *
 * @param entry - one reply entry
 */
export function isWarningRc(entry: ApiCallRc): boolean {
  return severityOf(entry.retCode) === 'warning';
}

/**
 * Tells whether an entry carries a given code (bits 14–0), whatever its severity.
 *
 * @param entry - one reply entry
 * @param code - a value of {@link RC_CODE}
 */
export function hasCode(entry: ApiCallRc, code: number): boolean {
  return decodeRetCode(entry.retCode).code === code;
}
