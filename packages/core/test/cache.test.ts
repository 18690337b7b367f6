import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { OperationCache, TtlCache } from '@stowage/core/plugin';

function counter<T>(value: (n: number) => T, delayMs = 0): { load: () => Promise<T>; calls: () => number } {
  let n = 0;
  return {
    load: async () => {
      n++;
      const mine = n;
      if (delayMs > 0) await sleep(delayMs);
      return value(mine);
    },
    calls: () => n,
  };
}

describe('OperationCache', () => {
  it('loads a key once per operation, and separately per key', async () => {
    const cache = new OperationCache();
    const lvs = counter((n) => `lvs#${n}`, 5);
    const [a, b] = await Promise.all([cache.get('lvs', lvs.load), cache.get('lvs', lvs.load)]);
    expect([a, b, await cache.get('lvs', lvs.load)]).toEqual(['lvs#1', 'lvs#1', 'lvs#1']);
    expect(lvs.calls()).toBe(1);
    const vgs = counter((n) => `vgs#${n}`);
    expect(await cache.get('vgs', vgs.load)).toBe('vgs#1');
    expect(vgs.calls()).toBe(1);
  });

  it('does not keep a failed load', async () => {
    const cache = new OperationCache();
    let n = 0;
    const load = async (): Promise<string> => {
      n++;
      if (n === 1) throw new Error('transient');
      return 'ok';
    };
    await expect(cache.get('k', load)).rejects.toThrow('transient');
    expect(await cache.get('k', load)).toBe('ok');
    expect(n).toBe(2);
  });

  it('is fresh per operation, and invalidate() forgets one key or all', async () => {
    const c = counter((n) => n);
    expect(await new OperationCache().get('k', c.load)).toBe(1);
    expect(await new OperationCache().get('k', c.load)).toBe(2);
    const cache = new OperationCache();
    await cache.get('a', c.load);
    const other = counter((n) => n);
    await cache.get('b', other.load);
    cache.invalidate('a');
    await cache.get('a', c.load);
    await cache.get('b', other.load);
    expect([c.calls(), other.calls()]).toEqual([4, 1]);
    cache.invalidate();
    await cache.get('b', other.load);
    expect(other.calls()).toBe(2);
  });

  it('shares listings between operations through the storage TTL cache; invalidate clears it', async () => {
    const ttl = new TtlCache({ ttlMs: 60_000 });
    const list = counter((n) => [`vol#${n}`]);
    expect(await new OperationCache(ttl).shared('list', list.load)).toEqual(['vol#1']);
    expect(await new OperationCache(ttl).shared('list', list.load)).toEqual(['vol#1']);
    expect(list.calls()).toBe(1);
    new OperationCache(ttl).invalidate('list');
    expect(await new OperationCache(ttl).shared('list', list.load)).toEqual(['vol#2']);
    // Without a TTL cache, shared() is the per-operation cache.
    const alone = new OperationCache();
    await alone.shared('x', list.load);
    await alone.shared('x', list.load);
    expect(list.calls()).toBe(3);
  });
});

describe('TtlCache', () => {
  it('makes concurrent callers share one load', async () => {
    const ttl = new TtlCache();
    const status = counter((n) => ({ n }), 20);
    const results = await Promise.all(Array.from({ length: 10 }, () => ttl.fetch('status', status.load)));
    expect(status.calls()).toBe(1);
    expect(new Set(results.map((r) => r.n))).toEqual(new Set([1]));
  });

  it('reloads after the time to live', async () => {
    const ttl = new TtlCache({ ttlMs: 30 });
    const c = counter((n) => n);
    expect(await ttl.fetch('k', c.load)).toBe(1);
    expect(await ttl.fetch('k', c.load)).toBe(1);
    await sleep(80);
    expect(await ttl.fetch('k', c.load)).toBe(2);
  });

  it('does not keep a failed load', async () => {
    const ttl = new TtlCache();
    let n = 0;
    const load = async (): Promise<number> => {
      n++;
      if (n === 1) throw new Error('offline');
      return n;
    };
    await expect(ttl.fetch('k', load)).rejects.toThrow('offline');
    expect(await ttl.fetch('k', load)).toBe(2);
  });

  it('clear() drops everything, and a load that a clear() overtook is not kept', async () => {
    const ttl = new TtlCache({ ttlMs: 60_000 });
    const c = counter((n) => n, 20);
    expect(await ttl.fetch('k', c.load)).toBe(1);
    ttl.clear();
    const during = ttl.fetch('k', c.load); // load #2 starts
    await sleep(5);
    ttl.clear(); // a write happened while #2 was loading
    expect(await during).toBe(2); // the caller still gets its answer...
    expect(await ttl.fetch('k', c.load)).toBe(3); // ...but it is not served to anyone after the write
    expect(await ttl.fetch('k', c.load)).toBe(3);
  });

  it('lastKnown() serves the last value loaded, cleared or expired since, with the generation its load began in', async () => {
    const ttl = new TtlCache({ ttlMs: 30 });
    const c = counter((n) => n, 5);
    expect(await ttl.lastKnown('k', c.load), 'nothing known: loads').toEqual({ value: 1, generation: 0 });
    ttl.clear();
    ttl.clear();
    expect(ttl.generation).toBe(2);
    expect(await ttl.lastKnown('k', c.load), 'cleared since: still known').toEqual({ value: 1, generation: 0 });
    await sleep(60);
    expect(await ttl.lastKnown('k', c.load), 'expired since: still known').toEqual({ value: 1, generation: 0 });
    expect(await ttl.fetch('k', c.load), 'fetch loads anew').toBe(2);
    expect(await ttl.lastKnown('k', c.load), 'the newer load is known').toEqual({ value: 2, generation: 2 });
    expect(c.calls()).toBe(2);
  });

  it('reload() loads whatever is cached, and keeps the result for fetch and lastKnown unless a clear() overtook it', async () => {
    const ttl = new TtlCache({ ttlMs: 60_000 });
    const c = counter((n) => n, 20);
    expect(await ttl.fetch('k', c.load)).toBe(1);
    expect(await ttl.reload('k', c.load)).toEqual({ value: 2, generation: 0 });
    expect(await ttl.fetch('k', c.load), 'the reloaded value is the fresh one').toBe(2);
    const during = ttl.reload('k', c.load); // load #3 starts
    await sleep(5);
    ttl.clear();
    expect(await during).toEqual({ value: 3, generation: 0 });
    expect(await ttl.lastKnown('k', c.load), 'known, with the generation it began in').toEqual({ value: 3, generation: 0 });
    expect(await ttl.fetch('k', c.load), 'not fresh: a write overtook it').toBe(4);
    expect(await ttl.lastKnown('k', c.load)).toEqual({ value: 4, generation: 1 });
  });

  it('a TTL of 0 keeps nothing between calls (lru-cache would read it as never expiring)', async () => {
    const ttl = new TtlCache({ ttlMs: 0, lastingTtlMs: 0 });
    const c = counter((n) => n);
    expect(await ttl.fetch('k', c.load)).toBe(1);
    await sleep(5);
    expect(await ttl.fetch('k', c.load)).toBe(2);
    expect(await ttl.fetchLasting('l', c.load)).toBe(3);
    await sleep(5);
    expect(await ttl.fetchLasting('l', c.load)).toBe(4);
  });

  it('fetchLasting() keeps a value across clear() until it expires', async () => {
    const ttl = new TtlCache({ ttlMs: 40 });
    const c = counter((n) => n);
    expect(await ttl.fetchLasting('active', c.load)).toBe(1);
    ttl.clear();
    expect(await ttl.fetchLasting('active', c.load), 'after a clear').toBe(1);
    expect(await ttl.fetch('active', c.load), 'fetch is cleared as before').toBe(2);
    await sleep(80);
    expect(await ttl.fetchLasting('active', c.load), 'after it expired').toBe(3);
  });

  it.each([
    ['fetch', (ttl: TtlCache, load: () => Promise<string>) => ttl.fetch('zpool', load)],
    ['fetchLasting', (ttl: TtlCache, load: () => Promise<string>) => ttl.fetchLasting('zpool', load)],
  ])('%s: a caller that joined another caller\'s load is not failed by that caller\'s abort', async (_name, fetch) => {
    const ttl = new TtlCache();
    const aborted = new AbortController();
    // the first caller's load runs with its own signal (ctx.run), and its operation is aborted
    const first = fetch(ttl, async () => {
      await sleep(20, undefined, { signal: aborted.signal });
      return 'first';
    });
    const second = fetch(ttl, async () => 'second');
    aborted.abort();
    await expect(first).rejects.toThrow(/abort/i);
    expect(await second).toBe('second');
  });

  it('a caller whose own load fails gets its own failure, once', async () => {
    const ttl = new TtlCache();
    let n = 0;
    await expect(
      ttl.fetch('k', async () => {
        n++;
        throw new Error('pool is gone');
      }),
    ).rejects.toThrow('pool is gone');
    expect(n).toBe(1);
  });
});
