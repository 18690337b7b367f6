import { afterEach, describe, expect, it } from 'vitest';
import { LinstorPlugin } from '../src/index.js';
import { pluginContext, type LogLine } from './plugin-context.js';
import { startCluster, type Cluster, type ClusterOptions } from './stand-in/cluster.js';

const MiB = 1024 * 1024;
let cluster: Cluster | undefined;
let plugin: LinstorPlugin | undefined;

async function setup(options: ClusterOptions = {}) {
  cluster = await startCluster(options);
  plugin = new LinstorPlugin();
  const c = cluster;
  const p = plugin;
  const logs: LogLine[] = [];
  const ctx = (overrides: Record<string, unknown> = {}) => pluginContext(c.config(overrides), c.node, logs);
  return { c, p, ctx, logs, vol: (n: string) => p.parseVolname(n) };
}

afterEach(async () => {
  if (plugin && cluster) await plugin.deactivateStorage(pluginContext(cluster.config(), cluster.node));
  if (cluster) {
    expect(cluster.validator?.violations ?? []).toEqual([]);
    await cluster.close();
  }
  cluster = undefined;
  plugin = undefined;
});

describe('controller failover', () => {
  it('uses the first controller whose /health answers, and fails over when it goes down', async () => {
    const { c, p, ctx } = await setup({ controllers: 2 });
    const [first, second] = c.controllers as [NonNullable<Cluster['controllers'][0]>, NonNullable<Cluster['controllers'][0]>];
    await p.allocImage(ctx(), { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB });
    expect(first.count('POST', '/v1/resource-groups')).toBeGreaterThan(0);
    expect(second.requests).toEqual([]);
    await first.stop();
    expect((await p.listImages(ctx(), {})).map((i) => i.volname)).toEqual(['vm-100-disk-0']);
    expect(second.count('GET', '/v1/view/resources')).toBe(1);
    await p.freeImage(ctx(), { volume: p.parseVolname('vm-100-disk-0') }); // writes go to the new controller too
    expect(second.count('DELETE', '/v1/resource-definitions/')).toBe(1);
  });

  it('skips a controller whose /health answers 500', async () => {
    const { c, p, ctx } = await setup({ controllers: 2 });
    c.controllers[0]!.healthy = false;
    expect(await p.listImages(ctx(), {})).toEqual([]);
    expect(c.controllers[0]!.count('GET', '/v1/')).toBe(0);
    expect(c.controllers[1]!.count('GET', '/v1/view/resources')).toBe(1);
  });

  it('reports UNAVAILABLE when no controller answers, and status says inactive', async () => {
    const { c, p, ctx } = await setup({ controllers: 2 });
    for (const s of c.controllers) await s.stop();
    await expect(p.listImages(ctx(), {})).rejects.toMatchObject({ code: 'UNAVAILABLE', details: { controllers: [{}, {}] } });
    expect(await p.status(ctx())).toMatchObject({ active: false, total: 0, available: 0, used: 0 });
  });
});

describe('fault modes', () => {
  it('500s: reads are retried, writes are not (and leave nothing behind)', async () => {
    const { c, p, ctx } = await setup();
    const ctrl = c.controllers[0]!;
    ctrl.failNext(2, (m) => m === 'GET');
    expect(await p.listImages(ctx(), {})).toEqual([]);
    expect(ctrl.requests.filter((r) => r.status === 500)).toHaveLength(2);
    const spawn = '/v1/resource-groups/stowage_test/spawn';
    ctrl.failNext(1, (m, path) => m === 'POST' && path === spawn);
    const err = (await p.allocImage(ctx(), { vmid: 2, format: 'raw', name: 'vm-2-disk-0', size: MiB }).catch((e: unknown) => e)) as {
      code: string;
      details: { status: number; linstor: { message: string; details: string }[] };
    };
    expect(err.code).toBe('COMMAND_FAILED');
    expect(err.details.status).toBe(500);
    expect(err.details.linstor[0]).toMatchObject({ message: 'An unknown error occurred.', details: 'Injected by the stand-in.' });
    expect(ctrl.count('POST', spawn)).toBe(1);
    expect(c.model.definitions.size).toBe(0);
    // a 500 on the placement after the spawn: the spawned definition is removed again
    ctrl.failNext(1, (m, path) => m === 'POST' && path.endsWith('/autoplace'));
    await expect(p.allocImage(ctx(), { vmid: 2, format: 'raw', name: 'vm-2-disk-0', size: MiB })).rejects.toMatchObject({ code: 'COMMAND_FAILED' });
    expect(c.model.definitions.size).toBe(0);
    await p.allocImage(ctx(), { vmid: 2, format: 'raw', name: 'vm-2-disk-0', size: MiB });
    expect((await p.listImages(ctx(), {})).map((i) => i.volname)).toEqual(['vm-2-disk-0']);
  });

  it('slow answers past the time limit: reads move to another controller, a write times out', async () => {
    const { c, p, ctx } = await setup({ controllers: 2 });
    c.controllers[0]!.delayMs = 5000;
    expect(await p.listImages(ctx({ timeoutMs: 1000 }), {})).toEqual([]);
    expect(c.controllers[1]!.count('GET', '/v1/view/resources')).toBe(1);
    const only = await setupSingleSlow();
    await expect(only.p.allocImage(only.ctx({ timeoutMs: 1000 }), { vmid: 3, format: 'raw', name: 'vm-3-disk-0', size: MiB })).rejects.toMatchObject({
      code: 'TIMEOUT',
    });
    await only.close();
  });

  it('a satellite offline: operations succeed, LINSTOR\'s warnings are logged', async () => {
    const { c, p, ctx, logs, vol } = await setup();
    await p.allocImage(ctx(), { vmid: 5, format: 'raw', name: 'vm-5-disk-0', size: MiB });
    const rd = [...c.model.definitions.values()][0]!;
    const remote = [...rd.resources.values()].find((r) => r.node !== c.node)!;
    c.model.nodes.get(remote.node)!.online = false;
    const [img] = await p.listImages(ctx(), {});
    expect(img).toMatchObject({ volname: 'vm-5-disk-0', size: MiB });
    await p.freeImage(ctx(), { volume: vol('vm-5-disk-0') });
    expect(logs.filter((l) => l.level === 'warn' && l.fields?.code === 1002).map((l) => l.message)).toEqual([
      `LINSTOR: No active connection to satellite '${remote.node}'`,
    ]);
    expect(c.model.definitions.size).toBe(0);
  });

  it('an expired token is PERMISSION_DENIED; a valid one works; none is refused too', async () => {
    const { c, p, ctx } = await setup({ token: 'secret-token-1' });
    expect(await p.listImages(ctx({ apiToken: 'secret-token-1' }), {})).toEqual([]);
    await expect(p.listImages(ctx({ apiToken: 'wrong' }), {})).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    await expect(p.listImages(ctx(), {})).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    c.controllers[0]!.expireToken();
    await expect(p.listImages(ctx({ apiToken: 'secret-token-1' }), {})).rejects.toMatchObject({ code: 'PERMISSION_DENIED', details: { status: 401 } });
  });
});

async function setupSingleSlow() {
  const c = await startCluster();
  c.controllers[0]!.delayMs = 5000;
  const p = new LinstorPlugin();
  return {
    p,
    ctx: (o: Record<string, unknown> = {}) => pluginContext(c.config(o), c.node),
    close: async () => {
      await p.deactivateStorage(pluginContext(c.config(), c.node));
      expect(c.validator?.violations ?? []).toEqual([]);
      await c.close();
    },
  };
}
