/**
 * Lists a directory storage's images with the `dir` plugin, in a process of its own so that its
 * peak memory is the listing's. Prints one JSON line: durations (ms) of each run, the count,
 * and the process's peak RSS and heap growth.
 *
 * Usage: dir-list.ts <storage path> <runs> [manager]
 */
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { LocalRunner, localFileSystem, OperationCache, type PluginContext } from '@stowage/core/plugin';
import { StorageManager } from '@stowage/core';
import { DirPlugin, type DirConfig } from '@stowage/plugin-dir';
import { dirConfigSchema } from '@stowage/plugin-dir/config-schema';

const [path = '', runsArg = '5', mode = 'plugin'] = process.argv.slice(2);
const runs = Number(runsArg);
const heapBefore = process.memoryUsage().heapUsed;
const times: number[] = [];
let count = 0;

if (mode === 'manager') {
  const manager = await StorageManager.open({
    plugins: [DirPlugin],
    config: [{ type: 'dir', storage: 'bench', path }],
    lockDir: join(path, 'locks'),
    cacheTtlMs: 0,
  });
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    count = (await manager.listImages('bench')).length;
    times.push(performance.now() - t0);
  }
  await manager.close();
} else {
  const plugin = new DirPlugin();
  const config = dirConfigSchema.parse({ type: 'dir', storage: 'bench', path }) as DirConfig;
  const runner = new LocalRunner();
  const log = { debug: () => undefined, info: () => undefined, warn: (m: string) => console.error(m) };
  for (let i = 0; i < runs; i++) {
    const ctx: PluginContext<DirConfig> = {
      storeId: 'bench',
      config,
      cache: new OperationCache(),
      runner,
      run: (argv, o) => runner.run(argv, o),
      signal: undefined,
      fs: localFileSystem,
      log,
      node: 'bench',
      nameReserved: () => undefined,
    };
    const t0 = performance.now();
    count = (await plugin.listImages(ctx, {})).length;
    times.push(performance.now() - t0);
  }
}

const usage = process.memoryUsage();
console.log(
  JSON.stringify({ times, count, peakRssMiB: process.resourceUsage().maxRSS / 1024, heapGrowthMiB: (usage.heapUsed - heapBefore) / 1024 / 1024 }),
);
