/**
 * One stowage node in its own OS process, for the multi-node tests: a StorageManager with the
 * directory plugin, on the etcd cluster services (or on a lock that does nothing, to show that
 * the tests can fail). Driven over IPC by nodes.ts; exits when its parent goes away.
 *
 * Spec (JSON in STOWAGE_NODE_SPEC): node, endpoints, prefix, configFile (dir and linstor storages), lockDir, locks
 * ('etcd' | 'none'), feed ('etcd' | 'none'), leaseTtlSeconds, acquireTimeoutMs, cacheTtlMs,
 * slowCreateMs (the storage's listings are cached, see CachedListingDirPlugin; a `qemu-img create` first waits this long, abortably, inside the locked
 * section, which then lasts until the allocation ends, and says so with an `in-locked-section` message), clusterConfig (use the cluster's
 * storage.cfg instead of configFile: 'cas' as it is; 'blind' with writes that overwrite whatever
 * is there, no compare-and-swap; 'unwatched' without its watch).
 */
import { isStorageError, StorageManager, type ChangeFeed, type ConfigStore, type ImageInfo, type LockService } from '@stowage/core';
import {
  LocalRunner,
  type AllocImageRequest,
  type CommandRunner,
  type ListImagesRequest,
  type PluginContext,
  type RunOptions,
} from '@stowage/core/plugin';
import { connect } from '@stowage/cluster-etcd';
import { DirPlugin } from '@stowage/plugin-dir';
import { LinstorPlugin } from '@stowage/plugin-linstor';

interface Spec {
  node: string;
  endpoints: string[];
  prefix: string;
  configFile: string;
  lockDir: string;
  locks: 'etcd' | 'none';
  feed: 'etcd' | 'none';
  leaseTtlSeconds: number;
  acquireTimeoutMs: number;
  cacheTtlMs: number;
  slowCreateMs?: number;
  clusterConfig?: 'cas' | 'blind' | 'unwatched';
}

/** What a request gets back: a result or a StorageError's code. */
export type Outcome = { ok: true; value: unknown } | { ok: false; code: string; message: string };

const spec = JSON.parse(process.env['STOWAGE_NODE_SPEC'] ?? '{}') as Spec;
process.on('disconnect', () => process.exit(1));

/**
 * The directory plugin with its listing kept in the manager's TTL cache, as the LVM and ZFS
 * plugins keep theirs (a directory listing is too cheap to cache, so the dir plugin does not):
 * what makes another node's write invisible until the cache is dropped.
 */
class CachedListingDirPlugin extends DirPlugin {
  override listImages(ctx: PluginContext, request: ListImagesRequest): Promise<ImageInfo[]> {
    return ctx.cache.shared(`test:list:${JSON.stringify(request)}`, () => super.listImages(ctx as never, request));
  }

  /**
   * With `slowCreateMs`, the storage lock is held through the (slow) create, as for a plugin
   * that never calls `ctx.nameReserved()`: the directory plugin would give the lock back as soon
   * as its temporary reserves the name, and the faults tests need a holder that stalls while
   * it holds the lock and has already made something.
   */
  override allocImage(ctx: PluginContext, request: AllocImageRequest): Promise<string> {
    if (!spec.slowCreateMs) return super.allocImage(ctx as never, request);
    return super.allocImage({ ...ctx, nameReserved: () => undefined } as never, request);
  }
}

const doNothingLocks: LockService = {
  acquire: async () => ({ signal: new AbortController().signal, release: async () => undefined }),
};
const silentFeed: ChangeFeed = { publish: async () => undefined, subscribe: () => () => undefined };

class SlowCreateRunner implements CommandRunner {
  readonly description = 'local, slow qemu-img create';
  readonly #inner = new LocalRunner();
  run(argv: readonly string[], options?: RunOptions) {
    const slow = spec.slowCreateMs;
    if (!slow || !argv.includes('create')) return this.#inner.run(argv, options);
    return (async () => {
      process.send?.({ event: 'in-locked-section' });
      await new Promise<void>((resolve, reject) => {
        const signal = options?.signal;
        const timer = setTimeout(resolve, slow);
        signal?.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(signal.reason);
        }, { once: true });
      });
      return this.#inner.run(argv, options);
    })();
  }
}

const cluster = await connect({
  endpoints: spec.endpoints,
  prefix: spec.prefix,
  node: spec.node,
  leaseTtlSeconds: spec.leaseTtlSeconds,
  acquireTimeoutMs: spec.acquireTimeoutMs,
});
/** The cluster's storage.cfg as the spec asks for it (the controls are what the tests show to fail). */
function clusterConfig(store: ConfigStore, how: 'cas' | 'blind' | 'unwatched'): ConfigStore {
  if (how === 'cas') return store;
  if (how === 'unwatched') return { location: store.location, read: () => store.read(), write: (text, revision) => store.write(text, revision) };
  return {
    location: store.location,
    read: () => store.read(),
    // no compare-and-swap: the text computed from an older read replaces whatever is there now
    write: async (text) => {
      for (;;) {
        const written = await store.write(text, (await store.read()).revision);
        if (written !== undefined) return written;
      }
    },
    watch: (onChange) => store.watch!(onChange),
  };
}

const manager = await StorageManager.open({
  plugins: [CachedListingDirPlugin, LinstorPlugin],
  ...(spec.clusterConfig ? { configStore: clusterConfig(cluster.config, spec.clusterConfig) } : { configFile: spec.configFile }),
  lockDir: spec.lockDir,
  cluster,
  cacheTtlMs: spec.cacheTtlMs,
  runner: new SlowCreateRunner(),
  log: { debug() {}, info() {}, warn() {} },
  ...(spec.locks === 'none' ? { locks: doNothingLocks } : {}),
  ...(spec.feed === 'none' ? { changes: silentFeed } : {}),
});

async function outcome(fn: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    return { ok: false, code: isStorageError(e) ? e.code : 'UNEXPECTED', message: String((e as Error).message ?? e) };
  }
}

type Request =
  | { id: number; op: 'alloc'; storeId: string; vmid: number; count: number; format?: 'raw' | 'qcow2' }
  | { id: number; op: 'list'; storeId: string }
  | { id: number; op: 'holders' }
  | { id: number; op: 'addStorages'; configs: Record<string, unknown>[] }
  | { id: number; op: 'storageIds' }
  | { id: number; op: 'close' };

process.on('message', (msg: Request) => {
  void (async () => {
    switch (msg.op) {
      case 'alloc': {
        const results = await Promise.all(
          Array.from({ length: msg.count }, () =>
            outcome(() => manager.allocImage(msg.storeId, { vmid: msg.vmid, size: 1024 * 1024, format: msg.format ?? 'raw' })),
          ),
        );
        process.send?.({ id: msg.id, results });
        break;
      }
      case 'list':
        process.send?.({ id: msg.id, results: [await outcome(async () => (await manager.listImages(msg.storeId)).map((i) => i.volid))] });
        break;
      case 'addStorages':
        process.send?.({ id: msg.id, results: await Promise.all(msg.configs.map((c) => outcome(() => manager.addStorage(c)))) });
        break;
      case 'storageIds':
        process.send?.({ id: msg.id, results: [await outcome(async () => manager.storageIds())] });
        break;
      case 'holders':
        process.send?.({ id: msg.id, results: [await outcome(() => cluster.locks.holders())] });
        break;
      case 'close':
        await manager.close();
        await cluster.close();
        process.send?.({ id: msg.id, results: [] }, () => process.exit(0));
        break;
    }
  })();
});
process.send?.({ event: 'ready' });
