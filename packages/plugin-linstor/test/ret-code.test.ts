import { describe, expect, it } from 'vitest';
import { errorFromReply, storageCodeOf } from '../src/errors.js';
import {
  decodeRetCode,
  encodeRetCode,
  parseJsonKeepingRetCodes,
  protectRetCodes,
  RC_OBJECT,
  RC_OPERATION,
  severityOf,
  toApiCallRcList,
} from '../src/client/ret-code.js';

// Values from linstor-api.md §3, each far beyond 2^53 except the first.
const CREATED_RD = 20447233n;
const EXISTS_RD = -4611686018406940171n;
const NOT_FOUND_RD = -4611686018427387603n;
const WARN_NOT_FOUND_DEL = -9223372036800771144n;

describe('ret_code', () => {
  it('keeps int64 values above 2^53 exact where JSON.parse would round them', () => {
    const text = `[{"ret_code":${EXISTS_RD},"message":"exists"},{"ret_code" : ${WARN_NOT_FOUND_DEL} ,"message":"gone"}]`;
    const naive = JSON.parse(text) as { ret_code: number }[];
    expect(BigInt(naive[0]!.ret_code)).not.toBe(EXISTS_RD); // the reason for all this
    const parsed = parseJsonKeepingRetCodes(text) as { ret_code: bigint; message: string }[];
    expect(parsed[0]!.ret_code).toBe(EXISTS_RD);
    expect(parsed[1]!.ret_code).toBe(WARN_NOT_FOUND_DEL);
    expect(parsed[1]!.message).toBe('gone');
  });

  it('leaves "ret_code" inside strings, non-integer values and other keys alone', () => {
    const text = '{"message":"\\"ret_code\\": 12345678901234567890","ret_code":-1.5,"x":{"ret_code":"abc"},"y":[{"ret_code":\n-9223372036854775808}]}';
    const { found } = protectRetCodes(text);
    expect(found).toBe(1);
    const parsed = parseJsonKeepingRetCodes(text) as Record<string, unknown>;
    expect(parsed.message).toBe('"ret_code": 12345678901234567890');
    expect(parsed.ret_code).toBe(-1.5);
    expect((parsed.x as { ret_code: string }).ret_code).toBe('abc');
    expect((parsed.y as { ret_code: bigint }[])[0]!.ret_code).toBe(-9223372036854775808n);
  });

  it('decodes the bit fields of the reference examples', () => {
    expect(decodeRetCode(CREATED_RD)).toEqual({ severity: 'success', operation: RC_OPERATION.create, object: RC_OBJECT.resourceDefinition, code: 1 });
    expect(decodeRetCode(EXISTS_RD)).toEqual({ severity: 'error', operation: RC_OPERATION.create, object: RC_OBJECT.resourceDefinition, code: 501 });
    expect(decodeRetCode(NOT_FOUND_RD)).toMatchObject({ severity: 'error', code: 301 });
    expect(decodeRetCode(WARN_NOT_FOUND_DEL)).toEqual({ severity: 'warning', operation: RC_OPERATION.delete, object: RC_OBJECT.resourceDefinition, code: 3000 });
    expect(severityOf(encodeRetCode({ severity: 'info', code: 10000 }))).toBe('info');
  });

  it('round-trips encode/decode for every severity, operation and object', () => {
    for (const severity of ['success', 'info', 'warning', 'error'] as const) {
      for (const operation of Object.values(RC_OPERATION)) {
        for (const object of Object.values(RC_OBJECT)) {
          const v = encodeRetCode({ severity, operation, object, code: 997 });
          expect(decodeRetCode(v)).toEqual({ severity, operation, object, code: 997 });
          const back = parseJsonKeepingRetCodes(`{"ret_code":${v}}`) as { ret_code: bigint };
          expect(back.ret_code).toBe(v);
        }
      }
    }
  });

  it('maps controller errors to stable codes and keeps LINSTOR\'s words in details', () => {
    const entries = toApiCallRcList(
      parseJsonKeepingRetCodes(
        `[{"ret_code":${EXISTS_RD},"message":"A resource definition with the name 'r1' already exists.","cause":"dup","correction":"pick another","details":"more"}]`,
      ),
    );
    const err = errorFromReply({ method: 'POST', path: '/v1/resource-definitions', status: 500, entries, controller: 'http://c:3370' });
    expect(err.code).toBe('ALREADY_EXISTS');
    expect(err.details.retCode).toBe(EXISTS_RD.toString());
    expect(err.details.linstor).toEqual([
      { retCode: EXISTS_RD.toString(), code: 501, message: "A resource definition with the name 'r1' already exists.", cause: 'dup', details: 'more', correction: 'pick another' },
    ]);
    const code = (c: number, op: keyof typeof RC_OPERATION = 'create') =>
      storageCodeOf({ retCode: encodeRetCode({ severity: 'error', operation: RC_OPERATION[op], object: RC_OBJECT.resourceDefinition, code: c }), message: '' });
    expect(code(301)).toBe('NOT_FOUND');
    expect(code(501)).toBe('ALREADY_EXISTS');
    expect(code(514, 'delete')).toBe('IN_USE');
    expect(code(997)).toBe('IN_USE');
    expect(code(996)).toBe('NO_SPACE');
    expect(code(412)).toBe('PERMISSION_DENIED');
    expect(code(995)).toBe('UNAVAILABLE');
    expect(code(206)).toBe('INVALID_ARGUMENT');
    expect(code(998)).toBe('COMMAND_FAILED');
  });

  it('reads ApiCallRc entries from a single object and from a clone reply', () => {
    expect(toApiCallRcList(parseJsonKeepingRetCodes(`{"ret_code":${NOT_FOUND_RD},"message":"x"}`))).toHaveLength(1);
    const clone = parseJsonKeepingRetCodes(`{"location":"/l","source_name":"a","clone_name":"b","messages":[{"ret_code":${EXISTS_RD},"message":"m"}]}`);
    expect(toApiCallRcList(clone)[0]!.retCode).toBe(EXISTS_RD);
  });
});
