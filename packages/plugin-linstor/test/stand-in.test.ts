/**
 * The stand-in answers as the real controller does (linstor-api.md §1, §3–§5), seen through the
 * plugin's own client: exact int64 ret_codes end to end, status mapping, arrays as error bodies,
 * 200 + warning when deleting what is missing, name rules, case-insensitive names, the
 * refusal to delete a definition that has snapshots, and properties and uuids of definitions.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LinstorClient } from '../src/client/linstor-client.js';
import { startCluster, type Cluster } from './stand-in/cluster.js';

let cluster: Cluster;
let client: LinstorClient;

beforeAll(async () => {
  cluster = await startCluster();
  client = new LinstorClient({ controllers: [cluster.controllers[0]!.url], tls: { verify: true }, timeoutMs: 5000, readRetries: 0 });
});
afterAll(async () => {
  await client.close();
  expect(cluster.validator?.violations ?? []).toEqual([]);
  await cluster.close();
});

const create = (name: string) => client.call('POST', '/v1/resource-definitions', { resource_definition: { name, resource_group_name: 'stowage_test' } });

describe('the stand-in controller, through the client', () => {
  it('answers a duplicate with 500 and the exact int64 ret_code -4611686018406940171', async () => {
    const ok = await create('Res_One');
    expect(ok.status).toBe(201);
    expect(ok.entries[0]!.retCode).toBe(20447233n); // RD created, as in the reference
    const err = await create('Res_One').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ALREADY_EXISTS', details: { status: 500, retCode: '-4611686018406940171' } });
  });

  it('compares names case-insensitively and returns them as created', async () => {
    await expect(create('RES_ONE')).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    const r = await client.get<{ name: string }>('/v1/resource-definitions/res_one');
    expect(r.body.name).toBe('Res_One');
  });

  it('answers an unknown definition with 404 and -4611686018427387603', async () => {
    const err = await client.get('/v1/resource-definitions/nothing_here').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'NOT_FOUND', details: { status: 404, retCode: '-4611686018427387603' } });
  });

  it('deletes what is missing with 200 and WARN_NOT_FOUND (-9223372036800771144)', async () => {
    const r = await client.call('DELETE', '/v1/resource-definitions/nothing_here');
    expect(r.status).toBe(200);
    expect(r.warnings.map((w) => w.retCode)).toEqual([-9223372036800771144n]);
  });

  it('enforces the name rules', async () => {
    for (const bad of ['a', '1abc', '_-_', 'x'.repeat(49), 'has space', 'dots.no']) {
      await expect(create(bad)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', details: { status: 500 } });
    }
    await create('_a');
    await create('b'.repeat(48));
  });

  it('refuses to delete a definition with snapshots (IN_USE), and deletes it once they are gone', async () => {
    await client.call('POST', '/v1/resource-groups/stowage_test/spawn', { resource_definition_name: 'with_snap', volume_sizes: [1024], definitions_only: false });
    await client.call('POST', '/v1/resource-definitions/with_snap/snapshots', { name: 's1' });
    await expect(client.call('DELETE', '/v1/resource-definitions/with_snap')).rejects.toMatchObject({ code: 'IN_USE', details: { status: 500 } });
    await client.call('DELETE', '/v1/resource-definitions/with_snap/snapshots/s1');
    expect((await client.call('DELETE', '/v1/resource-definitions/with_snap')).status).toBe(200);
  });

  it('sets properties in the spawn request, deletes one with delete_props, and gives a recreated definition a new uuid', async () => {
    type Rd = { name: string; uuid?: string; props?: Record<string, string> };
    const read = async () => (await client.get<Rd[]>('/v1/resource-definitions?resource_definitions=with_props')).body[0];
    const spawned = { resource_definition_name: 'with_props', volume_sizes: [1024], definitions_only: true, resource_definition_props: { 'Aux/a': '1', 'Aux/b': 'n:1:2' } };
    await client.call('POST', '/v1/resource-groups/stowage_test/spawn', spawned);
    const first = await read();
    expect(first).toMatchObject({ props: { 'Aux/a': '1', 'Aux/b': 'n:1:2' }, uuid: expect.any(String) });
    await client.call('PUT', '/v1/resource-definitions/with_props', { delete_props: ['Aux/b'] });
    const modified = await read();
    expect(modified?.props).toEqual({ 'Aux/a': '1' });
    expect(modified?.uuid, 'a modify keeps the uuid').toBe(first?.uuid);
    await client.call('DELETE', '/v1/resource-definitions/with_props');
    await client.call('POST', '/v1/resource-groups/stowage_test/spawn', spawned);
    expect((await read())?.uuid, 'a definition made again under the same name').not.toBe(first?.uuid);
    await client.call('DELETE', '/v1/resource-definitions/with_props');
  });

  it('answers an unknown route with 404 and an ApiCallRc list, a wrong method with 405', async () => {
    await expect(client.get('/v1/no-such-route')).rejects.toMatchObject({ code: 'NOT_FOUND', details: { status: 404 } });
    await expect(client.call('PATCH', '/v1/resource-definitions')).rejects.toMatchObject({ details: { status: 405 } });
    if (cluster.validator) {
      // the deliberate wrong method is the one request the spec check objects to
      const v = cluster.validator.violations;
      expect(v).toEqual([expect.objectContaining({ kind: 'request', method: 'PATCH' })]);
      v.length = 0;
    }
  });

  it('clones asynchronously: CLONING until it settles', async () => {
    cluster.controllers[0]!.clone.polls = 2;
    await client.call('POST', '/v1/resource-groups/stowage_test/spawn', { resource_definition_name: 'src', volume_sizes: [1024], definitions_only: false });
    const started = await client.call<{ location: string }>('POST', '/v1/resource-definitions/src/clone', { name: 'dst' });
    expect(started.status).toBe(201);
    const statuses: string[] = [];
    for (let i = 0; i < 4; i++) statuses.push((await client.get<{ status: string }>(started.body.location)).body.status);
    expect(statuses).toEqual(['CLONING', 'CLONING', 'COMPLETE', 'COMPLETE']);
  });
});
