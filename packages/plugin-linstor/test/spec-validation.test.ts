import { describe, expect, it } from 'vitest';
import { encodeRetCode } from '../src/client/ret-code.js';
import { toJson } from './stand-in/replies.js';
import { loadSpecValidator, SPEC_PATH } from './stand-in/spec-validator.js';

const validator = loadSpecValidator();
if (!validator) console.warn(`LINSTOR OpenAPI spec not found at ${SPEC_PATH}: spec validation tests are skipped`);

describe('spec loading', () => {
  it('gives no validator (and so skips the checks) when the spec file is absent', () => {
    expect(loadSpecValidator('/nonexistent/rest_v1_openapi.yaml')).toBeUndefined();
  });
});

describe.skipIf(!validator)(`the stand-in's spec validator (${SPEC_PATH})`, () => {
  const v = () => {
    const fresh = loadSpecValidator()!;
    return fresh;
  };

  it('accepts a well-formed reply and exact int64 ret_codes', () => {
    const s = v();
    const rc = encodeRetCode({ severity: 'error', code: 301 });
    s.checkResponse('GET', '/v1/resource-definitions?with_volume_definitions=true', 200, toJson([{ name: 'r1', props: {}, flags: [], volume_definitions: [{ volume_number: 0, size_kib: 4096 }] }]));
    s.checkResponse('PUT', '/v1/resource-definitions/r1', 404, toJson([{ ret_code: rc, message: 'not found' }]));
    expect(s.violations).toEqual([]);
  });

  it('finds a wrongly typed field, a missing required field and an unlisted status', () => {
    const s = v();
    s.checkResponse('GET', '/v1/resource-definitions', 200, JSON.stringify([{ name: 5 }]));
    s.checkResponse('PUT', '/v1/resource-definitions/r1', 200, JSON.stringify([{ message: 'no ret_code' }]));
    s.checkResponse('GET', '/v1/resource-definitions', 201, '[]');
    s.checkResponse('GET', '/v1/resource-definitions/r1/clone/r2', 200, JSON.stringify({ status: 'DONE' }));
    expect(s.violations.map((x) => x.problem)).toEqual([
      expect.stringContaining('must be string'),
      expect.stringContaining("must have required property 'ret_code'"),
      expect.stringContaining('status 201 is not listed'),
      expect.stringContaining('must be equal to one of the allowed values'),
    ]);
  });

  it('applies only the documented relaxations', () => {
    const s = v();
    const err = toJson([{ ret_code: encodeRetCode({ severity: 'error', code: 998 }), message: 'x' }]);
    s.checkResponse('DELETE', '/v1/resource-definitions/r1', 500, err); // §3: arrays as error bodies
    s.checkResponse('GET', '/v1/resource-definitions/r1', 200, JSON.stringify({ name: 'r1' })); // §5: server-only GET
    s.checkResponse('POST', '/v1/resource-definitions/r1/volume-definitions', 200, toJson([{ ret_code: 1n, message: 'ok' }])); // §5: VD create 200
    s.checkRequest('POST', '/v1/resource-definitions/r1/autoplace', '{}'); // §5: autoplace {}
    s.checkRequest('POST', '/v1/resource-definitions/r1/snapshot-rollback/s1', ''); // §5: empty rollback body
    s.checkResponse('POST', '/v1/resource-definitions/r1/clone', 500, JSON.stringify({ location: '/l', source_name: 'r1', clone_name: 'r2', messages: [] })); // §5
    expect(s.violations).toEqual([]);
    s.checkResponse('GET', '/v1/resource-definitions/r1', 200, JSON.stringify({ name: ['r1'] }));
    s.checkRequest('POST', '/v1/resource-groups/g/spawn', JSON.stringify({ volume_sizes: ['big'] }));
    s.checkResponse('GET', '/v1/no-such-thing', 200, '{}');
    expect(s.violations).toHaveLength(3);
  });

  it('checks the requests and replies flatten adds: a definition in a group, the restores, a clone without use_zfs_clone, a DELETING snapshot', () => {
    const s = v();
    const ok = toJson([{ ret_code: 1n, message: 'ok' }]);
    s.checkRequest('POST', '/v1/resource-definitions', JSON.stringify({ resource_definition: { name: 'r2', resource_group_name: 'g', props: { 'Aux/stowage/name': 'vm-1-disk-0' } } }));
    s.checkRequest('POST', '/v1/resource-definitions/r1/snapshot-restore-volume-definition/snap_a', JSON.stringify({ to_resource: 'r2' }));
    s.checkResponse('POST', '/v1/resource-definitions/r1/snapshot-restore-volume-definition/snap_a', 200, ok);
    s.checkRequest('POST', '/v1/resource-definitions/r1/snapshot-restore-resource/snap_a', JSON.stringify({ to_resource: 'r2' }));
    s.checkResponse('POST', '/v1/resource-definitions/r1/snapshot-restore-resource/snap_a', 200, ok);
    s.checkRequest('POST', '/v1/resource-definitions/r2/clone', JSON.stringify({ name: 'r3', resource_group: 'g', use_zfs_clone: false, override_props: {}, delete_props: ['Aux/stowage/base'] }));
    s.checkResponse('GET', '/v1/resource-definitions/r1/snapshots', 200, JSON.stringify([{ name: 'snap_a', resource_name: 'r1', flags: ['SUCCESSFUL', 'DELETE'], volume_definitions: [{ volume_number: 0, size_kib: 1024 }] }]));
    expect(s.violations).toEqual([]);
    s.checkRequest('POST', '/v1/resource-definitions/r1/snapshot-restore-resource/snap_a', JSON.stringify({ to_resource: 7 }));
    s.checkRequest('POST', '/v1/resource-definitions/r2/clone', JSON.stringify({ name: 'r3', use_zfs_clone: 'no' }));
    expect(s.violations).toHaveLength(2);
  });
});
