/**
 * Every verb's `--json` output, from the built binary against a real directory storage (and a
 * real one-member etcd for the cluster verbs), checked against its JSON Schema in docs/json/.
 */
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEtcdCluster, type EtcdCluster } from '../../cluster-etcd/test/support/etcd-cluster.js';
import { VERBS } from '../src/verbs/index.js';
import { expectShape as expectShapeOf, SCHEMA_DIR, schemaFile } from './support/json-shape.js';
import { assertBuilt, type RunOptions } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

/** Verbs whose output is checked against their schema by another test file, and why there. */
const CHECKED_ELSEWHERE: Readonly<Record<string, string>> = {
  migrate: 'cli-migrate.test.ts: it needs a second node over ssh',
  // the verb prints the manager's ReplicateResult as it is; only ZFS and LVM-thin replicate
  replicate: 'plugin-lvmthin/test/replicate.real.test.ts: it needs real ZFS or LVM-thin (testbed)',
};
const checked = new Set<string>(Object.keys(CHECKED_ELSEWHERE));

/** Validates a verb's output against its schema, and notes that the verb was checked. */
function expectShape(verb: string, data: unknown): void {
  expectShapeOf(verb, data);
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

  // some 45 runs of the binary: over a minute on a loaded machine
  it('the volume and storage verbs print what their schema says', { timeout: 180_000 }, async () => {
    const run = async <T = unknown>(verb: string, args: readonly string[], options?: RunOptions): Promise<T> => {
      const data = await s.json<T>([...verb.split(' '), ...args], options);
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
    expect(await run('prune', ['local', '--dry-run'])).toEqual([{ volid: base, action: 'kept', reason: 'in-use', usedBy: clone }]);
    const second = (await run<{ volid: string }>('clone', [base, '107'])).volid;
    expect(await run('flatten', [second])).toEqual({ volid: 'local:107/vm-107-disk-0.qcow2', from: second, snapshot: null });
    const plain = (await run<{ volid: string }>('alloc', ['local', '102', '-', '1M', '--format', 'raw'])).volid;
    const renamed = (await run<{ volid: string }>('rename', [plain, '103'])).volid;
    const file = join(s.dir, 'export.raw');
    await run('export', [renamed, 'raw+size', file]);
    await run('import', ['local:104/vm-104-disk-0.raw', 'raw+size', file]);
    await run('copy', [renamed, 'other']);
    const { path: clonePath } = await run<{ path: string }>('path', [clone]);
    expect(await run('volid', [clonePath])).toEqual({ path: clonePath, volid: clone, vtype: 'images' });
    expect((await run<{ formats: string[] }>('formats', [renamed])).formats).toContain('raw+size');
    expect(await run('formats', ['local:105/vm-105-disk-0.qcow2', '--import'])).toMatchObject({ direction: 'import', formats: expect.arrayContaining(['raw+size']) });
    const sum = await run<{ sha256: string }>('checksum', [renamed]);
    expect(sum).toMatchObject({ volid: renamed, format: 'raw+size', bytes: 8 + 1024 * 1024 });
    // receive: the ready line (the first offered format it imports), then the result with its read-back
    const received = await s.run(['receive', 'local:106/vm-106-disk-0.raw', '--offer', 'vmdk+size,raw+size', '--need', '1024', '--json'], { input: readFileSync(file) });
    expect(received.code, received.stderr).toBe(0);
    const [ready, ...rest] = received.stdout.split('\n');
    expect(JSON.parse(ready ?? '')).toEqual({ ready: { format: 'raw+size' } });
    const result = JSON.parse(rest.join('\n')) as unknown;
    expectShape('receive', result);
    expect(result).toMatchObject({ volid: 'local:106/vm-106-disk-0.raw', format: 'raw+size', size: 1024 * 1024, checksum: { sha256: sum.sha256 } });

    const shared = { env: { STOWAGE_SHARED_LOCK_DIR: join(s.dir, 'shared-locks') } };
    mkdirSync(shared.env.STOWAGE_SHARED_LOCK_DIR);
    await s.ok(['storage', 'add', 'dir', 'shared', '--path', join(s.dir, 'shared'), '--content', 'images', '--shared', '1'], shared);
    const onShared = (await s.ok(['alloc', 'shared', '106', '-', '1M'], shared)).trim();
    // a node that nodes.cfg does not list is named only: a shared directory has nothing to do for it
    expect(await run('handoff prepare', [onShared, '--to-node', 'pve2'], shared)).toEqual({ volid: onShared, node: 'pve2', prepared: true });
    await run('handoff abort', [onShared, '--to-node', 'pve2'], shared);
    await run('handoff finish', [onShared], shared);
    await s.ok(['storage', 'remove', 'shared'], shared);

    const rows = await run<Array<{ volid: string; isBase: boolean; parent: string | null; used: number | null; format: string }>>('list', ['local']);
    expect(rows.find((r) => r.volid === base)).toMatchObject({ isBase: true, parent: null, format: 'qcow2' });
    expect(rows.find((r) => r.volid === clone)).toMatchObject({ isBase: false, parent: base });
    expect(rows.find((r) => r.volid === renamed)).toMatchObject({ isBase: false, parent: null, format: 'raw' });
    // --guests: a container's images are rootdir, and still carry their lineage
    const asGuests = await run<Array<{ volid: string; content: string; parent: string | null }>>('list', ['local', '--content', 'images,rootdir', '--guests', '101=lxc']);
    expect(asGuests.find((r) => r.volid === clone)).toMatchObject({ content: 'rootdir', parent: base });
    expect(asGuests.find((r) => r.volid === base)).toMatchObject({ content: 'images', isBase: true });

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
