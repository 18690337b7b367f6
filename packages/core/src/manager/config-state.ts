/**
 * The manager's view of its storage configuration: which sections it uses, which it cannot use
 * and why, and the read-modify-write loop through which every change goes. Internal to the
 * manager; works with any {@link ConfigStore}.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { StorageConfig } from '../config/base-schema.js';
import { parseStorageCfgDocument, type StorageCfgDocument, type StorageCfgSection } from '../config/document.js';
import { FileConfigStore } from '../config/file-store.js';
import { MemoryConfigStore } from '../config/memory-store.js';
import { configToSection, formatStorageCfg, sectionToConfig } from '../config/section-config.js';
import type { ConfigSnapshot, ConfigStore } from '../config/store.js';
import type { ConfigMemo } from '../config/memo.js';
import { loadConfigSchema } from '../config/schema-source.js';
import { describeConfigIssues, validateStorageConfig } from '../config/validate.js';
import { ConfigError, StorageError, type ConfigIssue } from '../errors.js';
import type { PluginRegistry } from '../registry.js';
import type { StoragePluginClass } from '../storage-plugin.js';
import type { StorageManagerOptions } from './options.js';
import type { InvalidStorage, ManagerState, StorageEntry } from './state.js';

/** How often one config change is tried against a store that keeps changing under it. */
export const MAX_CONFIG_ATTEMPTS = 100;

/**
 * Validates one raw config with its plugin's schema, which must be loaded (see
 * {@link loadSchemas}); or, given the config a memo recalled for it, checks only that a plugin
 * provides its type.
 *
 * @param registry - the plugins
 * @param raw - the raw config
 * @param source - file lines, for issues
 * @param recalled - what a {@link ConfigMemo} recalled for exactly this raw config
 * @throws {@link ConfigError} `CONFIG_INVALID` (an unknown type included)
 */
export function validateRaw(
  registry: PluginRegistry,
  raw: Readonly<Record<string, unknown>>,
  source?: { readonly line?: number; readonly optionLines?: Readonly<Record<string, number>> },
  recalled?: StorageConfig,
): { cls: StoragePluginClass; config: StorageConfig } {
  const type = typeof raw['type'] === 'string' ? raw['type'] : '';
  const id = typeof raw['storage'] === 'string' ? raw['storage'] : '?';
  if (!registry.has(type)) {
    const issue: ConfigIssue = { path: [id, 'type'], message: `no plugin for storage type '${type}'`, ...(source?.line ? { line: source.line } : {}) };
    throw new ConfigError(`storage '${id}': unknown type '${type}'`, [issue], { details: { storeId: id, type } });
  }
  const cls = registry.lookup(type);
  return { cls, config: recalled ?? validateStorageConfig(cls, raw, source) };
}

/**
 * Loads the config schemas of these storage types (those with a plugin), so that their configs
 * can be validated.
 *
 * @param registry - the plugins
 * @param types - storage types, repeats allowed
 * @throws what a plugin's schema loader throws; {@link StorageError} `INVALID_ARGUMENT` when a
 *   loaded schema cannot be a plugin's
 */
export async function loadSchemas(registry: PluginRegistry, types: Iterable<unknown>): Promise<void> {
  const classes = new Set<StoragePluginClass>();
  for (const type of types) if (typeof type === 'string' && registry.has(type)) classes.add(registry.lookup(type));
  await Promise.all([...classes].map((cls) => loadConfigSchema(cls)));
}

/**
 * Throws `CONFIG_INVALID` when a storage is shared but no lock service can lock it across nodes.
 *
 * @param hasSharedLocks - whether a `sharedLockDir` or a lock service was given
 * @param shared - whether the storage is shared
 * @param storeId - the storage
 */
export function assertLockable(hasSharedLocks: boolean, shared: boolean, storeId: string): void {
  if (shared && !hasSharedLocks) {
    throw new ConfigError(`storage '${storeId}' is shared, but the manager was opened without sharedLockDir`, [
      { path: [storeId, 'shared'], message: 'shared storage needs sharedLockDir' },
    ]);
  }
}

/**
 * Validates config objects given to `StorageManager.open` as `config`, all at once: unlike a
 * file, which is loaded with its bad sections skipped, objects from the application must all be
 * right.
 *
 * @param registry - the plugins
 * @param configs - the config objects
 * @param hasSharedLocks - whether shared storages can be locked
 * @returns the sections to start the configuration with
 * @throws {@link ConfigError} `CONFIG_INVALID` with every issue of every storage
 */
export function checkConfigObjects(registry: PluginRegistry, configs: readonly Readonly<Record<string, unknown>>[], hasSharedLocks: boolean): StorageCfgSection[] {
  const issues: ConfigIssue[] = [];
  const seen = new Set<string>();
  const sections = [];
  for (const raw of configs) {
    if (typeof raw !== 'object' || raw === null) {
      issues.push({ path: [], message: 'a storage config must be an object' });
      continue;
    }
    const id = typeof raw['storage'] === 'string' ? raw['storage'] : '?';
    if (seen.has(id)) {
      issues.push({ path: [id], message: `storage '${id}' is defined twice` });
      continue;
    }
    seen.add(id);
    try {
      const { cls, config } = validateRaw(registry, raw);
      assertLockable(hasSharedLocks, config.shared === true || cls.capabilities.shared, id);
      sections.push(configToSection(raw));
    } catch (e) {
      if (e instanceof ConfigError) issues.push(...e.issues);
      else throw e;
    }
  }
  if (issues.length > 0) throw new ConfigError(`invalid storage config: ${describeConfigIssues(issues)}`, issues);
  return sections;
}

/**
 * The store `StorageManager.open` uses: the one given as `configStore`, a {@link FileConfigStore}
 * on `configFile`, or a {@link MemoryConfigStore} holding the `config` objects (checked first,
 * all at once).
 *
 * @param options - the manager's options
 * @param registry - the plugins
 * @param hasSharedLocks - whether shared storages can be locked
 * @throws {@link StorageError} `INVALID_ARGUMENT` unless exactly one of the three is given;
 *   `CONFIG_INVALID` for bad `config` objects
 */
export function openConfigStore(options: StorageManagerOptions, registry: PluginRegistry, hasSharedLocks: boolean): ConfigStore {
  const given = [options.config, options.configFile, options.configStore].filter((x) => x !== undefined).length;
  if (given === 0 && options.cluster) return options.cluster.config;
  if (given !== 1) throw new StorageError('INVALID_ARGUMENT', 'give exactly one of config, configFile and configStore (or a cluster)');
  if (options.configStore) return options.configStore;
  if (options.configFile !== undefined) return new FileConfigStore(options.configFile, { lockTimeoutMs: options.lockTimeoutMs });
  return new MemoryConfigStore(formatStorageCfg(checkConfigObjects(registry, options.config ?? [], hasSharedLocks)));
}

/** The storage configuration as the manager holds it. Internal. */
export class ConfigState {
  #revision: string | undefined;
  readonly #reported = new Set<string>();

  /**
   * @param store - where the configuration lives
   * @param state - the manager's state, whose entries follow the configuration
   * @param registry - the plugins
   * @param hasSharedLocks - whether shared storages can be locked
   */
  constructor(
    readonly store: ConfigStore,
    readonly state: ManagerState,
    readonly registry: PluginRegistry,
    readonly hasSharedLocks: boolean,
    readonly memo?: ConfigMemo,
  ) {}

  /** Reads the store and makes the entries follow it. */
  async refresh(): Promise<void> {
    await this.load(await this.store.read());
  }

  /**
   * Makes the manager's entries follow a snapshot: a storage whose config is unchanged keeps its
   * entry (plugin instance, caches), a changed one gets the new config and an empty cache, new
   * ones are added, missing ones dropped. A section that cannot be used (bad lines, failed
   * validation, a shared storage that cannot be locked) becomes an {@link InvalidStorage}, with
   * a warning the first time it is seen.
   *
   * @param snapshot - the text and its revision
   * @param keep - an entry made before the text was written (by `addStorage`), to use for its id
   */
  async load(snapshot: ConfigSnapshot, keep?: StorageEntry): Promise<void> {
    if (snapshot.revision === this.#revision && keep === undefined) return;
    const doc = parseStorageCfgDocument(snapshot.text);
    const raws = doc.sections.map((section) => (section.issues.length === 0 ? sectionToConfig(section) : undefined));
    const recalled = raws.map((raw) => (raw === undefined ? undefined : this.memo?.recall(raw)));
    // the schemas of the sections the memo does not know (all of them without a memo)
    await loadSchemas(this.registry, doc.sections.filter((_, i) => raws[i] !== undefined && recalled[i] === undefined).map((section) => section.type));
    const entries = new Map<string, StorageEntry>();
    const invalid: InvalidStorage[] = [];
    for (const [i, section] of doc.sections.entries()) {
      const issues = [...section.issues];
      const raw = raws[i];
      let found: { cls: StoragePluginClass; config: StorageConfig } | undefined;
      if (raw !== undefined) {
        try {
          found = validateRaw(this.registry, raw, section, recalled[i]);
          if (recalled[i] === undefined) this.memo?.remember(raw, found.config);
          assertLockable(this.hasSharedLocks, found.config.shared === true || found.cls.capabilities.shared, section.storage);
        } catch (e) {
          if (!(e instanceof ConfigError)) throw e;
          found = undefined;
          issues.push(...e.issues);
        }
      }
      if (!found) {
        invalid.push({ storage: section.storage, type: section.type, line: section.line, issues });
        continue;
      }
      entries.set(section.storage, this.#entryFor(found.cls, found.config, keep));
    }
    this.state.entries.clear();
    for (const [id, entry] of entries) this.state.entries.set(id, entry);
    this.state.invalid = invalid;
    this.#revision = snapshot.revision;
    this.#warn(doc, invalid);
  }

  /**
   * Makes a change: reads the store, applies `apply` to the current text, and writes the result
   * with the revision it read. When another writer got in between, reads again and re-applies,
   * so the change lands on the current sections and nobody's change is lost. The entries then
   * follow the written text.
   *
   * @param what - what the change does, for messages (`adding storage 'x'`)
   * @param apply - computes the new text from the current document; may throw to refuse
   * @param keep - an entry to use for its id (see {@link ConfigState.load})
   * @throws {@link StorageError} `LOCK_TIMEOUT` when the store changed under every one of
   *   {@link MAX_CONFIG_ATTEMPTS} tries; whatever `apply` and the store throw
   */
  async change(what: string, apply: (doc: StorageCfgDocument) => string | Promise<string>, keep?: StorageEntry): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const snapshot = await this.store.read();
      let text: string;
      try {
        text = await apply(parseStorageCfgDocument(snapshot.text));
      } catch (e) {
        // Refused (the storage exists, or is gone): the entries still follow what was read.
        await this.load(snapshot);
        throw e;
      }
      const revision = text === snapshot.text ? snapshot.revision : await this.store.write(text, snapshot.revision);
      if (revision !== undefined) {
        await this.load({ text, revision }, keep);
        return;
      }
      if (attempt >= MAX_CONFIG_ATTEMPTS) {
        throw new StorageError('LOCK_TIMEOUT', `gave up ${what}: ${this.store.location} was changed by another writer before each of ${attempt} tries`, {
          details: { location: this.store.location, attempts: attempt },
        });
      }
      // Let the other writers through before trying again: a random wait that doubles with
      // each conflict (up to a second) spreads the writers out instead of having them collide again.
      this.state.log.debug(`${this.store.location} changed while ${what}; trying again`, { attempt });
      await sleep(Math.random() * Math.min(1000, 5 * 2 ** attempt));
    }
  }

  #entryFor(cls: StoragePluginClass, config: StorageConfig, keep: StorageEntry | undefined): StorageEntry {
    const existing = keep?.id === config.storage && keep.cls === cls ? keep : this.state.entries.get(config.storage);
    if (existing === undefined || existing.cls !== cls) return this.state.makeEntry(cls, config);
    if (JSON.stringify(existing.config) !== JSON.stringify(config)) {
      existing.config = config;
      existing.ttl.clear();
    }
    return existing;
  }

  #warn(doc: StorageCfgDocument, invalid: readonly InvalidStorage[]): void {
    const where = this.store.location;
    // Each problem is reported once per manager, however often the text is read again (line
    // numbers shift when other sections change, so they are not part of what is remembered).
    for (const issue of doc.issues) {
      if (this.#reported.has(issue.message)) continue;
      this.#reported.add(issue.message);
      this.state.log.warn(`${where}: line ${issue.line}: ${issue.message} (line ignored)`, { path: where, line: issue.line });
    }
    for (const bad of invalid) {
      const text = describeConfigIssues(bad.issues);
      const key = `${bad.type}: ${bad.storage}: ${bad.issues.map((i) => i.message).join('; ')}`;
      if (this.#reported.has(key)) continue;
      this.#reported.add(key);
      this.state.log.warn(`storage '${bad.storage}' in ${where} (line ${bad.line}) is skipped until it is repaired: ${text}`, {
        storeId: bad.storage,
        path: where,
      });
    }
  }
}

