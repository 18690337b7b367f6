/**
 * Loading the configured storages and adding, updating and removing them (with the plugins'
 * hooks and the `storage.cfg` write). Internal to the manager.
 *
 * @module
 */
import { readStorageConfigFile, writeStorageConfigFile } from '../config/file.js';
import { sectionToConfig, configToSection } from '../config/section-config.js';
import { applyConfigUpdate, validateStorageConfig, type ConfigSource } from '../config/validate.js';
import type { StorageConfig } from '../config/base-schema.js';
import { ConfigError, StorageError, type ConfigIssue } from '../errors.js';
import type { PluginRegistry } from '../registry.js';
import type { ManagerState, StorageEntry } from './state.js';

/** A storage config as given (file text or caller's values), kept so that writes change only what was changed. */
export type RawConfig = Readonly<Record<string, unknown>>;

/** Where the manager keeps its storages' configs. */
export interface ConfigStore {
  /** The raw config of each storage, in order. */
  readonly raw: Map<string, RawConfig>;
  /** The `storage.cfg` file to write, when opened from one. */
  readonly file: string | undefined;
  /** Whether a `sharedLockDir` is available for shared storages. */
  readonly hasSharedLockDir: boolean;
}

function typeOf(raw: RawConfig): string {
  return typeof raw['type'] === 'string' ? raw['type'] : '';
}

function idOf(raw: RawConfig): string {
  return typeof raw['storage'] === 'string' ? raw['storage'] : '?';
}

/**
 * Validates one raw config with its plugin's schema.
 *
 * @param registry - the plugins
 * @param raw - the raw config
 * @param source - file lines, for issues
 * @throws {@link ConfigError} `CONFIG_INVALID` (an unknown type included)
 */
export function validateRaw(registry: PluginRegistry, raw: RawConfig, source?: ConfigSource) {
  const type = typeOf(raw);
  if (!registry.has(type)) {
    const issue: ConfigIssue = { path: [idOf(raw), 'type'], message: `no plugin for storage type '${type}'`, ...(source?.line ? { line: source.line } : {}) };
    throw new ConfigError(`storage '${idOf(raw)}': unknown type '${type}'`, [issue], { details: { storeId: idOf(raw), type } });
  }
  const cls = registry.lookup(type);
  return { cls, config: validateStorageConfig(cls, raw, source) };
}

/**
 * Reads and validates every storage, reporting all issues at once.
 *
 * @param registry - the plugins
 * @param options - the config objects or the file
 * @returns each storage's raw and validated config, in order
 * @throws {@link ConfigError} `CONFIG_INVALID` with every issue of every storage
 */
export async function loadStorages(
  registry: PluginRegistry,
  options: { config?: readonly RawConfig[] | undefined; configFile?: string | undefined },
): Promise<{ raw: RawConfig; config: StorageConfig; cls: ReturnType<PluginRegistry['lookup']> }[]> {
  const inputs: { raw: RawConfig; source?: ConfigSource }[] = options.configFile
    ? (await readStorageConfigFile(options.configFile)).map((s) => ({ raw: sectionToConfig(s), source: s }))
    : (options.config ?? []).map((raw) => ({ raw }));
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const out: { raw: RawConfig; config: StorageConfig; cls: ReturnType<PluginRegistry['lookup']> }[] = [];
  for (const { raw, source } of inputs) {
    if (typeof raw !== 'object' || raw === null) {
      issues.push({ path: [], message: 'a storage config must be an object' });
      continue;
    }
    const id = idOf(raw);
    if (seen.has(id)) {
      issues.push({ path: [id], message: `storage '${id}' is defined twice`, ...(source?.line ? { line: source.line } : {}) });
      continue;
    }
    seen.add(id);
    try {
      out.push({ raw, ...validateRaw(registry, raw, source) });
    } catch (e) {
      if (e instanceof ConfigError) issues.push(...e.issues);
      else throw e;
    }
  }
  if (issues.length > 0) {
    const text = issues.map((i) => (i.line !== undefined ? `line ${i.line}: ${i.message}` : i.message)).join('; ');
    throw new ConfigError(`invalid storage config${options.configFile ? ` in ${options.configFile}` : ''}: ${text}`, issues);
  }
  return out;
}

/**
 * Throws `CONFIG_INVALID` when a storage is shared but no shared lock directory was given.
 *
 * @param store - the config store
 * @param shared - whether the storage is shared
 * @param storeId - the storage
 */
export function assertLockable(store: ConfigStore, shared: boolean, storeId: string): void {
  if (shared && !store.hasSharedLockDir) {
    throw new ConfigError(`storage '${storeId}' is shared, but the manager was opened without sharedLockDir`, [
      { path: [storeId, 'shared'], message: 'shared storage needs sharedLockDir' },
    ]);
  }
}

async function persist(store: ConfigStore): Promise<void> {
  if (store.file !== undefined) await writeStorageConfigFile(store.file, [...store.raw.values()].map(configToSection));
}

/**
 * Adds a storage: validate, `onAddHook`, activate it (on failure `onDeleteHook` and rethrow, as
 * Proxmox's API does), then write the config.
 *
 * @param state - the manager's state
 * @param registry - the plugins
 * @param store - the config store
 * @param raw - the new storage's config
 * @returns the validated config
 */
export async function addStorage(state: ManagerState, registry: PluginRegistry, store: ConfigStore, raw: RawConfig): Promise<StorageConfig> {
  const { cls, config } = validateRaw(registry, raw);
  if (state.entries.has(config.storage)) {
    throw new StorageError('ALREADY_EXISTS', `storage '${config.storage}' already exists`, { details: { storeId: config.storage } });
  }
  const entry = state.makeEntry(cls, config);
  assertLockable(store, state.isShared(entry), entry.id);
  const ctx = state.context(entry, { signal: undefined, sharedCache: false });
  await entry.plugin.onAddHook(ctx);
  try {
    const local = !config.nodes || config.nodes.length === 0 || config.nodes.includes(state.node);
    if (config.disable !== true && local) await entry.plugin.activateStorage(ctx);
    state.entries.set(entry.id, entry);
    store.raw.set(entry.id, raw);
    await persist(store);
  } catch (e) {
    state.entries.delete(entry.id);
    store.raw.delete(entry.id);
    await entry.plugin.onDeleteHook(ctx).catch((hookError: unknown) => state.log.warn(`onDeleteHook of '${entry.id}' failed`, { error: String(hookError) }));
    throw e;
  }
  return config;
}

/**
 * Updates a storage: fixed options enforced, `onUpdateHook` with the previous config, then the
 * config is written; the storage's caches are cleared.
 *
 * @param state - the manager's state
 * @param store - the config store
 * @param storeId - the storage
 * @param changes - options to set
 * @param deleteKeys - options to remove
 * @returns the new validated config
 */
export async function updateStorage(
  state: ManagerState,
  store: ConfigStore,
  storeId: string,
  changes: RawConfig,
  deleteKeys: readonly string[],
): Promise<StorageConfig> {
  const entry = state.entry(storeId);
  const next = applyConfigUpdate(entry.cls, entry.config, changes, deleteKeys);
  assertLockable(store, next.shared === true || entry.cls.capabilities.shared, storeId);
  const previous = entry.config;
  const ctx = state.context({ ...entry, config: next }, { signal: undefined, sharedCache: false });
  await entry.plugin.onUpdateHook(ctx, previous);
  const previousRaw = store.raw.get(storeId) ?? {};
  const nextRaw: Record<string, unknown> = { ...previousRaw };
  for (const k of deleteKeys) delete nextRaw[k];
  Object.assign(nextRaw, changes);
  entry.config = next;
  store.raw.set(storeId, nextRaw);
  entry.ttl.clear();
  try {
    await persist(store);
  } catch (e) {
    entry.config = previous;
    store.raw.set(storeId, previousRaw);
    throw e;
  }
  return next;
}

/**
 * Removes a storage from the config after its `onDeleteHook`. Its volumes are not touched.
 *
 * @param state - the manager's state
 * @param store - the config store
 * @param storeId - the storage
 */
export async function removeStorage(state: ManagerState, store: ConfigStore, storeId: string): Promise<void> {
  const entry: StorageEntry = state.entry(storeId);
  await entry.plugin.onDeleteHook(state.context(entry, { signal: undefined, sharedCache: false }));
  const entries = [...state.entries];
  const raws = [...store.raw];
  state.entries.delete(storeId);
  store.raw.delete(storeId);
  try {
    await persist(store);
  } catch (e) {
    // Put it back where it was.
    state.entries.clear();
    for (const [k, v] of entries) state.entries.set(k, v);
    store.raw.clear();
    for (const [k, v] of raws) store.raw.set(k, v);
    throw e;
  }
}
