/**
 * How the stand-in writes replies: ApiCallRc entries with exact int64 `ret_code`s (written as
 * digits, never through a JavaScript number), and JSON with bigints.
 */
import { encodeRetCode, RC_OBJECT, RC_OPERATION, type Severity } from '../../src/client/ret-code.js';

/** One ApiCallRc entry as the stand-in sends it. */
export interface RcEntry {
  ret_code: bigint;
  message: string;
  cause?: string;
  details?: string;
  correction?: string;
  obj_refs?: Record<string, string>;
  created_at?: string;
}

/** Operation of a call, ORed into every entry of its reply. */
export type Op = keyof typeof RC_OPERATION;
/** Object of a call. */
export type Obj = keyof typeof RC_OBJECT;

/**
 * Builds an entry as the controller does: severity | operation | object | code.
 */
export function rc(
  severity: Severity,
  op: Op | undefined,
  obj: Obj | undefined,
  code: number,
  message: string,
  extra: Partial<Omit<RcEntry, 'ret_code' | 'message'>> = {},
): RcEntry {
  const ret_code = encodeRetCode({ severity, operation: op ? RC_OPERATION[op] : 0n, object: obj ? RC_OBJECT[obj] : 0n, code });
  return { ret_code, message, ...extra, created_at: new Date().toISOString() };
}

const MARK = '\u0000int64:';

/**
 * JSON text with every bigint written as exact integer digits.
 */
export function toJson(value: unknown): string {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? MARK + v.toString() : v));
  return text.replace(/"\\u0000int64:(-?\d+)"/g, '$1');
}

/** The status the real controller gives an error entry (linstor-api.md §3). */
export function statusForError(entry: RcEntry): number {
  const code = Number(BigInt.asUintN(64, entry.ret_code) & 0x7fffn);
  if (code >= 300 && code < 400) return 404;
  if (code >= 400 && code < 500) return 403;
  return 500;
}

/** A failure the handlers throw: its entries become the reply. */
export class ApiFailure extends Error {
  readonly entries: RcEntry[];
  readonly status: number;
  constructor(entry: RcEntry, status?: number) {
    super(entry.message);
    this.entries = [entry];
    this.status = status ?? statusForError(entry);
  }
}
