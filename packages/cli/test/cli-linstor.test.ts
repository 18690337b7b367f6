/**
 * The built binary against the LINSTOR stand-in controller (packages/plugin-linstor/test/stand-in):
 * a shared storage (locks in $STOWAGE_SHARED_LOCK_DIR), snapshots that roll back to the newest
 * only, templates and clones through LINSTOR, raw+size export/import through the device files,
 * and a controller that goes down.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, RESOURCE_GROUP, type Cluster } from '../../plugin-linstor/test/stand-in/cluster.js';
import { EXIT_CODES } from '../src/exit-codes.js';
import { assertBuilt, jsonError } from './support/run-cli.js';
import { makeSandbox, type Sandbox } from './support/sandbox.js';

const M = 1024 ** 2;
let s: Sandbox;
let cluster: Cluster;
let shared: Record<string, string>;

beforeAll(async () => {
  assertBuilt();
  s = makeSandbox('linstor');
  cluster = await startCluster();
  const lockDir = join(s.dir, 'shared-locks');
  mkdirSync(lockDir);
  shared = { STOWAGE_SHARED_LOCK_DIR: lockDir };
  const c = cluster.config();
  await s.ok(
    [
      'storage', 'add', 'linstor', 'drbd',
      '--controller', (c['controller'] as string[]).join(','),
      '--resourceGroup', RESOURCE_GROUP,
      '--node', String(c['node']),
      '--devicePathRoot', String(c['devicePathRoot']),
      '--pollIntervalMs', '5',
      '--inUseWaitSeconds', '0',
      '--timeoutMs', '5000',
      '--statusCacheSeconds', '0',
    ],
    { env: shared },
  );
  await s.ok(['storage', 'add', 'dir', 'local', '--path', join(s.dir, 'local')], { env: shared });
});
afterAll(async () => {
  await cluster?.close();
  s?.remove();
});

const ok = (args: string[]) => s.ok(args, { env: shared });
const json = <T>(args: string[]) => s.json<T>(args, { env: shared });
const run = (args: string[]) => s.run(args, { env: shared });

describe('stowage on LINSTOR (stand-in controller)', () => {
  it('refuses to lock a shared storage without a shared lock directory', async () => {
    const r = await s.run(['alloc', 'drbd', '100', '-', '4M', '--json']);
    expect(r.code, r.stderr).toBe(EXIT_CODES.CONFIG_INVALID);
  });

  it('reports status from the controller', async () => {
    const rows = await json<Array<{ storage: string; type: string; status: string; total: number }>>(['status', 'drbd']);
    expect(rows[0]).toMatchObject({ storage: 'drbd', type: 'linstor', status: 'active' });
    expect(rows[0]?.total).toBeGreaterThan(0);
  });

  it('allocates, lists, snapshots, rolls back to the newest only, resizes, frees', async () => {
    const vol = (await ok(['alloc', 'drbd', '100', '-', '8M'])).trim();
    expect(vol).toMatch(/^drbd:/);
    const listed = await json<Array<{ volid: string; size: number; vmid: number }>>(['list', 'drbd', '--vmid', '100']);
    expect(listed.map((v) => v.volid)).toEqual([vol]);
    expect(listed[0]?.size).toBeGreaterThanOrEqual(8 * M);

    await ok(['snapshot', vol, 'one']);
    await ok(['snapshot', vol, 'two']);
    expect((await json<Array<{ name: string }>>(['snapshots', vol])).map((x) => x.name)).toEqual(['one', 'two']);
    const blocked = await run(['rollback', vol, 'one', '--json']);
    expect(blocked.code).toBe(EXIT_CODES.SNAPSHOT_BLOCKERS);
    expect(jsonError(blocked.stderr).details['blockers']).toEqual(['two']);
    await ok(['rollback', vol, 'two']);
    await ok(['delsnapshot', vol, 'two']);
    await ok(['delsnapshot', vol, 'one']);

    expect(await json(['resize', vol, '+4M'])).toEqual({ volid: vol, size: listed[0]!.size + 4 * M });
    expect((await run(['resize', vol, '1M'])).code).toBe(EXIT_CODES.CANNOT_SHRINK);
    await ok(['free', vol]);
    expect(await json(['list', 'drbd', '--vmid', '100'])).toEqual([]);
  });

  it('makes a template and a linked clone, and refuses to free the template while the clone exists', async () => {
    const vol = (await ok(['alloc', 'drbd', '110', '-', '4M'])).trim();
    const base = (await ok(['template', vol])).trim();
    const clone = (await ok(['clone', base, '111'])).trim();
    const r = await run(['free', base, '--json']);
    expect(r.code).toBe(EXIT_CODES.IN_USE);
    expect(jsonError(r.stderr).details['clones']).toEqual([clone]);
    await ok(['free', clone]);
    await ok(['free', base]);
  });

  it('exports to a file and imports it back byte for byte; copies to a directory storage', async () => {
    const vol = (await ok(['alloc', 'drbd', '120', '-', '4M'])).trim();
    const device = (await ok(['path', vol])).trim();
    const data = Buffer.alloc(4 * M, 0);
    data.write('linstor bytes', 12345);
    writeFileSync(device, data);
    await ok(['export', vol, 'raw+size', 'drbd.bin']);
    const file = readFileSync(join(s.dir, 'drbd.bin'));
    expect(file.readBigUInt64LE(0)).toBe(BigInt(file.length - 8));
    expect(file.subarray(8, 8 + data.length).equals(data)).toBe(true);
    const copy = (await ok(['copy', vol, 'local'])).trim();
    expect(readFileSync((await ok(['path', copy])).trim()).subarray(0, data.length).equals(data)).toBe(true);
    const back = (await ok(['import', `drbd:${vol.slice('drbd:'.length).replace('120', '121')}`, 'raw+size', 'drbd.bin', '--allow-rename'])).trim();
    expect(readFileSync((await ok(['path', back])).trim()).subarray(0, data.length).equals(data)).toBe(true);
    for (const v of [vol, copy, back]) await ok(['free', v]);
  });

  it('shows a controller that is down as inactive, and fails operations with a stable code', async () => {
    await cluster.controllers[0]!.stop();
    try {
      const rows = await json<Array<{ status: string }>>(['status', 'drbd']);
      expect(rows[0]?.status).toBe('inactive');
      const r = await run(['alloc', 'drbd', '130', '-', '4M', '--json']);
      expect(r.code).not.toBe(0);
      expect(r.code).toBe(EXIT_CODES[jsonError(r.stderr).code as keyof typeof EXIT_CODES]);
    } finally {
      await cluster.controllers[0]!.restart();
    }
  });

  it('handoff prepare/abort put and remove a diskless replica on the target node; dir storage is refused', async () => {
    const vol = (await ok(['alloc', 'drbd', '130', '-', '4M'])).trim();
    const d = [...cluster.model.definitions.values()].at(-1)!;
    const target = ['node-a', 'node-b', 'node-c'].find((n) => !d.resources.has(n))!;
    expect(await json(['handoff', 'prepare', vol, '--to-node', target])).toEqual({ volid: vol, node: target, prepared: true });
    expect(d.resources.get(target)?.diskless).toBe(true);
    await ok(['handoff', 'abort', vol, '--to-node', target]);
    expect(d.resources.has(target)).toBe(false);
    const local = (await ok(['alloc', 'local', '130', '-', '1M'])).trim();
    const refused = await s.run(['handoff', 'prepare', local, '--to-node', target, '--json'], { env: shared });
    expect(jsonError(refused.stderr).code).toBe('NOT_SUPPORTED');
    await ok(['free', local]);
    await ok(['free', vol]);
  });
});
