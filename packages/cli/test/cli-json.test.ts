/**
 * Every verb's `--json` output, from the built binary against a real directory storage (and a
 * real one-member etcd for the cluster verbs), checked against its JSON Schema in docs/json/.
 */
import { appendFileSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from '../../cluster-etcd/test/support/etcd-cluster.js';
import { VERBS } from '../src/verbs/index.js';
import { assertBuilt } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

const SCHEMA_DIR = new URL('../../../docs/json/', import.meta.url);
const schemaFile = (verb: string): string => `${verb.replace(/ /g, '-')}.schema.json`;
const ajv = new Ajv({ allErrors: true, strict: true, strictRequired: false, allowUnionTypes: true });
const validators = new Map<string, ValidateFunction>();
const checked = new Set<string>();

/** Validates a verb's output against its schema, and notes that the verb was checked. */
function expectShape(verb: string, data: unknown): void {
  let validate = validators.get(verb);
  if (!validate) {
    validate = ajv.compile(JSON.parse(readFileSync(new URL(schemaFile(verb), SCHEMA_DIR), 'utf8')) as object);
    validators.set(verb, validate);
  }
  expect(validate(data), `${verb}: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(data, null, 2)}`).toBe(true);
  checked.add(verb);
}

describe('--json output against docs/json/<verb>.schema.json', () => {
  let s: Sandbox;
  let etcd: EtcdCluster;
  beforeAll(async () => {
    assertBuilt();
    s = makeSandbox('json');
    etcd = await startEtcdCluster({ members: 1 });
  });
  afterAll(async () => {
    s?.remove();
    await etcd?.stop();
  });

  it('has one schema per verb, and none for a verb that does not exist', () => {
    const files = readdirSync(SCHEMA_DIR).filter((f) => f.endsWith('.schema.json')).sort();
    expect(files).toEqual(VERBS.map((v) => schemaFile(v.name)).sort());
  });

  it('the volume and storage verbs print what their schema says', async () => {
    const run = async <T = unknown>(verb: string, args: readonly string[]): Promise<T> => {
      const data = await s.json<T>([...verb.split(' '), ...args]);
      expectShape(verb, data);
      return data;
    };
    await run('storage add', ['dir', 'local', '--path', join(s.dir, 'local'), '--content', 'images,iso']);
    await s.ok(['storage', 'add', 'dir', 'other', '--path', join(s.dir, 'other'), '--content', 'images,iso']);
    await run('storage set', ['other', '--content', 'images']);
    const { volid } = await run<{ volid: string }>('alloc', ['local', '100', '-', '1M', '--format', 'qcow2']);
    await run('snapshot', [volid, 's1']);
    const snaps = await run<Array<{ name: string }>>('snapshots', [volid]);
    expect(snaps.map((x) => x.name)).toEqual(['s1']);
    await run('rollback', [volid, 's1']);
    await run('delsnapshot', [volid, 's1']);
    await run('resize', [volid, '+1M']);
    await run('path', [volid]);
    const base = (await run<{ volid: string }>('template', [volid])).volid;
    const clone = (await run<{ volid: string }>('clone', [base, '101'])).volid;
    const plain = (await run<{ volid: string }>('alloc', ['local', '102', '-', '1M', '--format', 'raw'])).volid;
    const renamed = (await run<{ volid: string }>('rename', [plain, '103'])).volid;
    const file = join(s.dir, 'export.raw');
    await run('export', [renamed, 'raw+size', file]);
    await run('import', ['local:104/vm-104-disk-0.raw', 'raw+size', file]);
    await run('copy', [renamed, 'other']);

    const rows = await run<Array<{ volid: string; isBase: boolean; parent: string | null; used: number | null; format: string }>>('list', ['local']);
    expect(rows.find((r) => r.volid === base)).toMatchObject({ isBase: true, parent: null, format: 'qcow2' });
    expect(rows.find((r) => r.volid === clone)).toMatchObject({ isBase: false, parent: base });
    expect(rows.find((r) => r.volid === renamed)).toMatchObject({ isBase: false, parent: null, format: 'raw' });

    await run('gc', []);
    await run('free', [renamed]);
    await run('plugins', []);
    await run('storage remove', ['other']);
    appendFileSync(s.config, '\ndir: broken\n\tpath relative/path\n');
    const listed = await run<Array<{ storage: string; issues?: unknown[] }>>('storage list', []);
    expect(listed.find((r) => r.storage === 'broken')?.issues).toEqual(expect.any(Array));
    const status = await run<Array<{ storage: string; status: string }>>('status', []);
    expect(status.map((r) => [r.storage, r.status])).toEqual([['local', 'active'], ['broken', 'invalid']]);
  });

  it('the cluster verbs print what their schema says, reachable or not', async () => {
    const url = `etcd://${etcd.endpoints.join(',')}`;
    const down = await s.json(['cluster', 'status', '--cluster', 'etcd://127.0.0.1:9']);
    expectShape('cluster status', down);
    expect(down).toMatchObject({ healthy: false });
    expectShape('cluster status', await s.json(['cluster', 'status', '--cluster', url]));
    expectShape('cluster locks', await s.json(['cluster', 'locks', '--cluster', url]));
    const seed = join(s.dir, 'seed.cfg');
    appendFileSync(seed, `dir: shared\n\tpath ${join(s.dir, 'shared')}\n`);
    expectShape('cluster init', await s.json(['cluster', 'init', '--from', seed, '--cluster', url]));
  });

  it('every verb was checked', () => {
    expect([...checked].sort()).toEqual(VERBS.map((v) => v.name).sort());
  });
});
