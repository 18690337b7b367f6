/**
 * Adding, updating and removing storages: the plugins' hooks, then the change to the storage
 * configuration, made through the {@link ConfigState} read-modify-write loop so that changes
 * from other processes and nodes are kept. Internal to the manager.
 *
 * @module
 */
import type { StorageConfig } from '../config/base-schema.js';
import { addStorageCfgSection, notConfigured, parseStorageCfgDocument, removeStorageCfgSection, updateStorageCfgSection } from '../config/document.js';
import { configToSection, optionText, sectionToConfig } from '../config/section-config.js';
import { failConfig, fixedOptionChanges, updateRefusals } from '../config/validate.js';
import { ConfigError, StorageError } from '../errors.js';
import { loadConfigSchema } from '../config/schema-source.js';
import { assertLockable, loadSchemas, validateRaw, type ConfigState } from './config-state.js';
import type { ManagerState } from './state.js';

/** A storage config as given: file text or the caller's values. */
export type RawConfig = Readonly<Record<string, unknown>>;

/**
 * Adds a storage: validate (the text it will be stored as, too), `onAddHook`, activate it when
 * it is for this node (on failure `onDeleteHook` and rethrow, as Proxmox's API does), then add
 * its section to the configuration as it is at that moment.
 *
 * @param state - the manager's state
 * @param cfg - the configuration
 * @param raw - the new storage's config
 * @returns the validated config
 */
export async function addStorage(state: ManagerState, cfg: ConfigState, raw: RawConfig): Promise<StorageConfig> {
  await loadSchemas(cfg.registry, [raw['type']]);
  validateRaw(cfg.registry, raw);
  const section = configToSection(raw);
  const { cls, config } = validateRaw(cfg.registry, sectionToConfig(section));
  await cfg.refresh();
  if (state.entries.has(config.storage) || state.invalid.some((x) => x.storage === config.storage)) {
    throw new StorageError('ALREADY_EXISTS', `storage '${config.storage}' already exists`, { details: { storeId: config.storage } });
  }
  const entry = state.makeEntry(cls, config);
  assertLockable(cfg.hasSharedLocks, state.isShared(entry), entry.id);
  const ctx = state.context(entry, { signal: undefined, sharedCache: false });
  await entry.plugin.onAddHook(ctx);
  try {
    const local = !config.nodes || config.nodes.length === 0 || config.nodes.includes(state.node);
    if (config.disable !== true && local) await entry.plugin.activateStorage(ctx);
    await cfg.change(`adding storage '${entry.id}'`, (doc) => addStorageCfgSection(doc, section), entry);
  } catch (e) {
    await entry.plugin.onDeleteHook(ctx).catch((hookError: unknown) => state.log.warn(`onDeleteHook of '${entry.id}' failed`, { error: String(hookError) }));
    throw e;
  }
  return config;
}

/**
 * The text of each option to set, and the options to delete: those asked for, and those whose
 * new value is not written (`undefined`, `null`, a false `disable`, as Proxmox writes none).
 *
 * @throws {@link ConfigError} `CONFIG_INVALID` for empty values and values that cannot be written
 */
function optionTexts(storeId: string, changes: RawConfig, deleteKeys: readonly string[]): { set: Record<string, string>; del: string[] } {
  const set: Record<string, string> = {};
  const del = new Set(deleteKeys);
  for (const [key, value] of Object.entries(changes)) {
    if (key === 'type' || key === 'storage') continue;
    const text = optionText(storeId, key, value);
    if (text === undefined) del.add(key);
    else set[key] = text;
  }
  return { set, del: [...del] };
}

/**
 * Updates a storage: fixed options enforced, `onUpdateHook` with the previous config, then the
 * storage's section is changed in place (its other lines, and every other section, stay as they
 * are). A section that could not be used is repaired this way when the result is valid; no hook
 * runs for it, since it had no valid config. If another writer changed the same storage
 * meanwhile, the change is re-applied to its current section and the hook runs again for the
 * config that results.
 *
 * @param state - the manager's state
 * @param cfg - the configuration
 * @param storeId - the storage
 * @param changes - options to set
 * @param deleteKeys - options to remove
 * @returns the new validated config
 */
export async function updateStorage(state: ManagerState, cfg: ConfigState, storeId: string, changes: RawConfig, deleteKeys: readonly string[]): Promise<StorageConfig> {
  const { set, del } = optionTexts(storeId, changes, deleteKeys);
  const asked = { ...set, ...Object.fromEntries(['type', 'storage'].filter((k) => k in changes).map((k) => [k, changes[k]])) };
  let hooked: string | undefined;
  let result: StorageConfig | undefined;
  await cfg.change(`updating storage '${storeId}'`, async (doc) => {
    const section = doc.sections.find((s) => s.storage === storeId);
    if (!section) {
      const configured = doc.sections.map((x) => x.storage).sort();
      throw new StorageError('NOT_FOUND', `storage '${storeId}' ${notConfigured(configured)}`, { details: { storeId, configured } });
    }
    if (!cfg.registry.has(section.type)) {
      failConfig(storeId, [{ path: [storeId, 'type'], message: `no plugin for storage type '${section.type}'`, line: section.line }]);
    }
    const cls = cfg.registry.lookup(section.type);
    await loadConfigSchema(cls);
    const before = sectionToConfig(section);
    const refused = updateRefusals(cls, before, asked, del);
    if (refused.length > 0) failConfig(storeId, refused);
    const text = updateStorageCfgSection(doc, storeId, set, del);
    const after = parseStorageCfgDocument(text).sections.find((s) => s.storage === storeId);
    if (!after || after.issues.length > 0) failConfig(storeId, after?.issues ?? []);
    const next = validateRaw(cfg.registry, sectionToConfig(after), after).config;
    const previous = section.issues.length === 0 ? tryValidate(cfg, before) : undefined;
    const fixed = fixedOptionChanges(cls, previous ?? before, next, Object.keys(set), previous === undefined);
    if (fixed.length > 0) failConfig(storeId, fixed);
    assertLockable(cfg.hasSharedLocks, next.shared === true || cls.capabilities.shared, storeId);
    const key = JSON.stringify(next);
    if (previous !== undefined && key !== hooked) {
      const entry = state.entries.get(storeId) ?? state.makeEntry(cls, previous);
      await entry.plugin.onUpdateHook(state.context({ ...entry, config: next }, { signal: undefined, sharedCache: false }), previous);
      hooked = key;
    }
    result = next;
    return text;
  });
  return result as StorageConfig;
}

function tryValidate(cfg: ConfigState, raw: RawConfig): StorageConfig | undefined {
  try {
    return validateRaw(cfg.registry, raw).config;
  } catch (e) {
    if (e instanceof ConfigError) return undefined;
    throw e;
  }
}

/**
 * Removes a storage's section (every section with its id) from the configuration, after the
 * plugin's `onDeleteHook` when the storage was usable. Its volumes are not touched.
 *
 * @param state - the manager's state
 * @param cfg - the configuration
 * @param storeId - the storage
 */
export async function removeStorage(state: ManagerState, cfg: ConfigState, storeId: string): Promise<void> {
  await cfg.refresh();
  const entry = state.entries.get(storeId);
  if (entry) await entry.plugin.onDeleteHook(state.context(entry, { signal: undefined, sharedCache: false }));
  await cfg.change(`removing storage '${storeId}'`, (doc) => removeStorageCfgSection(doc, storeId));
}
