/**
 * Running a parsed verb: find the configuration, load the plugins and open the manager (or the
 * cluster) when the verb asks for them, and close them after it. Imported by {@link runCli}
 * only for a verb that runs (help needs none of this, nor the core).
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { isStorageError, StorageError, StorageManager, type Logger } from '@stowage/core';
import type { VerbArgs } from './args.js';
import { BUILTIN_PLUGIN_PACKAGES, configuredStorages, loadBuiltins, storagesIn } from './builtins.js';
import { ClusterConnector, findClusterAddress } from './cluster-connect.js';
import { configMemoPath, openConfigMemo, type FileConfigMemo } from './config-memo.js';
import { findConfigFile } from './config-path.js';
import type { RunCliOptions } from './main.js';
import type { VerbOutput } from './output.js';
import type { PluginSearch } from './plugin-hint.js';
import { loadPlugins, parsePluginEnv, pluginListPath, readPluginList, type LoadedPlugins } from './plugin-loader.js';
import { createProgressBar } from './progress.js';
import type { CliIO, VerbContext, VerbSpec } from './verb.js';
import type { EtcdCluster } from '@stowage/cluster-etcd';

/**
 * The manager's log on standard error. A warning about a storage gets `hint(storeId)` on the
 * next line, when there is one (a storage whose type no plugin provides).
 */
function stderrLogger(io: CliIO, hint: (storeId: unknown) => string | undefined): Logger {
  const debug = io.env['STOWAGE_DEBUG'] !== undefined && io.env['STOWAGE_DEBUG'] !== '';
  const line = (level: string, message: string, fields?: Record<string, unknown>): void => {
    io.stderr.write(`${level}: ${message}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  return {
    debug: (m, f) => (debug ? line('debug', m, f) : undefined),
    info: (m, f) => (debug ? line('info', m, f) : undefined),
    warn: (m, f) => {
      line('warning', m, f);
      const h = hint(f?.['storeId']);
      if (h !== undefined) io.stderr.write(`  to use it, ${h}\n`);
    },
  };
}

/** The built-in types, and the third-party plugins named with the types each brought. */
function searchedFor(loaded: LoadedPlugins, pluginList: string, options: RunCliOptions): PluginSearch {
  const byPackage = new Map<string, string[]>();
  for (const [type, origin] of loaded.origins) {
    if (origin.source.startsWith('builtin')) continue;
    byPackage.set(origin.source, [...(byPackage.get(origin.source) ?? []), type]);
  }
  return {
    builtinTypes: (options.builtins ?? BUILTIN_PLUGIN_PACKAGES).flatMap((p) => p.types),
    thirdParty: [...byPackage].map(([name, types]) => ({ name, types })),
    pluginList,
  };
}

/**
 * A `CONFIG_INVALID` about a storage (or a type) that no plugin provides, with the hint saying
 * how to load one appended; any other error as it is.
 */
function withPluginHint(e: unknown, hints: ReadonlyMap<string, string>): unknown {
  if (!isStorageError(e, 'CONFIG_INVALID')) return e;
  const { storeId, type } = e.details;
  const hint = (typeof storeId === 'string' ? hints.get(storeId) : undefined) ?? (typeof type === 'string' ? hints.get(`type:${type}`) : undefined);
  if (hint === undefined) return e;
  return new StorageError('CONFIG_INVALID', `${e.message}; ${hint}`, { cause: e, details: { ...e.details, missingPlugin: true } });
}

/**
 * The memo of validated configs (see `config-memo.ts`) for a run of the binary: it answers for
 * the types the built-in plugins provide. None without a build stamp, or with the memo off.
 */
function configMemoFor(stamp: string | undefined, env: CliIO['env'], loaded: LoadedPlugins): FileConfigMemo | undefined {
  const file = stamp === undefined ? undefined : configMemoPath(env);
  if (stamp === undefined || file === undefined) return undefined;
  const types = new Set([...loaded.origins].filter(([, origin]) => origin.source.startsWith('builtin')).map(([type]) => type));
  return openConfigMemo({ file, stamp, types });
}

/**
 * Runs a verb with its context, and closes what it opened (the manager, the cluster
 * connection) whether it succeeds or not.
 *
 * @param verb - the verb
 * @param args - its parsed arguments
 * @param pairs - its open-ended `--key value` options
 * @param io - the guarded streams and surroundings
 * @param options - built-in plugins and the system configuration path
 * @returns what the verb printed
 */
export async function executeVerb(
  verb: VerbSpec,
  args: VerbArgs,
  pairs: ReadonlyArray<readonly [string, string]>,
  io: CliIO,
  options: RunCliOptions,
): Promise<VerbOutput> {
  let manager: StorageManager | undefined;
  let clusters: ClusterConnector | undefined;
  let memo: FileConfigMemo | undefined;
  // storage id → the hint for its type, when no plugin provides that type
  const hints = new Map<string, string>();
  const hinted = new Set<string>();
  try {
    const config = findConfigFile({ flag: args.global.config, env: io.env, cwd: io.cwd, systemPath: options.systemConfigPath });
    const connector = (clusters = new ClusterConnector(await findClusterAddress(args.global.cluster, io.env, config.path), io.env['STOWAGE_NODE'] || undefined));
    const loaded = new Map<string, Promise<LoadedPlugins>>();
    const plugins = (types: readonly string[] | 'all' = 'all'): Promise<LoadedPlugins> => {
      const key = types === 'all' ? '*' : [...types].sort().join(',');
      let p = loaded.get(key);
      if (!p) {
        p = loadBuiltins(options.builtins ?? BUILTIN_PLUGIN_PACKAGES, types).then((builtins) =>
          loadPlugins({
            builtins,
            names: [...readPluginList(config.path), ...parsePluginEnv(io.env['STOWAGE_PLUGINS']), ...args.global.plugins],
            bases: [io.cwd, dirname(config.path)],
          }),
        );
        loaded.set(key, p);
      }
      return p;
    };
    // with a cluster, its storage.cfg is the one, unless a file is named (--config, $STOWAGE_CONFIG)
    const clusterConfig = connector.configured && config.source !== 'flag' && config.source !== 'env';
    const log = stderrLogger(io, (id) => {
      // once per storage: the manager may warn about it more than once
      if (typeof id !== 'string' || hinted.has(id)) return undefined;
      hinted.add(id);
      return hints.get(id);
    });
    const managerOptions = (loadedPlugins: LoadedPlugins) => {
      const lockDir = io.env['STOWAGE_LOCK_DIR'] || undefined;
      const sharedLockDir = io.env['STOWAGE_SHARED_LOCK_DIR'] || undefined;
      memo = configMemoFor(options.configMemoStamp, io.env, loadedPlugins);
      return { log, ...(lockDir ? { lockDir } : {}), ...(sharedLockDir ? { sharedLockDir } : {}), ...(memo ? { configMemo: memo } : {}) };
    };
    /** The plugins for these storages (all of them when the configuration cannot be read) and `extraTypes`, noting a hint for each type none provides. */
    const pluginsFor = async (storages: ReadonlyMap<string, string> | undefined, extraTypes: readonly string[]): Promise<LoadedPlugins> => {
      const types = storages && [...new Set(storages.values())];
      const loadedPlugins = await plugins(types === undefined ? 'all' : [...types, ...extraTypes]);
      const { registry } = loadedPlugins;
      // the hint's module only when some type has no plugin
      const hint = [...(storages?.values() ?? []), ...extraTypes].some((type) => !registry.has(type)) ? (await import('./plugin-hint.js')).missingTypeHint : undefined;
      const hintFor = (type: string): string | undefined =>
        registry.has(type) || !hint ? undefined : hint(type, searchedFor(loadedPlugins, pluginListPath(config.path), options));
      for (const [id, type] of storages ?? []) {
        const h = hintFor(type);
        if (h !== undefined) hints.set(id, h);
      }
      for (const type of extraTypes) {
        const h = hintFor(type);
        if (h !== undefined) hints.set(`type:${type}`, h);
      }
      return loadedPlugins;
    };
    const openOnClusterConfig = async (cluster: EtcdCluster, extraTypes: readonly string[]): Promise<StorageManager> => {
      const { text, revision } = await cluster.config.read();
      if (revision === '0' && config.exists) {
        io.stderr.write(`stowage: the cluster's storage.cfg is empty (${config.path} is not read with a cluster); seed it with 'stowage cluster init --from ${config.path}'\n`);
      }
      const loadedPlugins = await pluginsFor(storagesIn(text), extraTypes);
      return StorageManager.open({ cluster, plugins: loadedPlugins.registry.list(), ...managerOptions(loadedPlugins) });
    };
    const ctx: VerbContext = {
      io,
      args,
      pairs,
      config,
      plugins: () => plugins('all'),
      clusterConfig,
      manager: async (opts) => {
        if (manager) return manager;
        const extraTypes = opts?.extraTypes ?? [];
        if (clusterConfig) return (manager = await openOnClusterConfig(await connector.get(), extraTypes));
        if (!opts?.allowMissingConfig && !existsSync(config.path)) {
          throw new StorageError(
            'NOT_FOUND',
            `no storage configuration at ${config.path}: give --config FILE, set STOWAGE_CONFIG, or create ./storage.cfg or /etc/stowage/storage.cfg ('stowage storage add' creates one)`,
            { details: { path: config.path } },
          );
        }
        const loadedPlugins = await pluginsFor(configuredStorages(config.path), extraTypes);
        const cluster = await connector.maybe();
        manager = await StorageManager.open({ ...(cluster ? { cluster } : {}), plugins: loadedPlugins.registry.list(), configFile: config.path, ...managerOptions(loadedPlugins) });
        return manager;
      },
      progress: (label) => createProgressBar(io.stderr, label),
      cluster: () => connector.get(),
    };
    return await verb.run(ctx);
  } catch (e) {
    throw withPluginHint(e, hints);
  } finally {
    if (manager) await manager.close().catch(() => undefined);
    await clusters?.close().catch(() => undefined);
    memo?.save();
  }
}
