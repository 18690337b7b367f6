/**
 * The manager with a memo of validated configs (`StorageManagerOptions.configMemo`) and a plugin
 * whose schema is a loader: a section the memo knows is taken from it without loading the schema
 * (and is still checked for locks); a section it does not know is validated and remembered with
 * its validated config; a bad section is never remembered and stays invalid; config objects and
 * changes are always validated, loading the schema first.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  parseStorageCfgDocument,
  sectionToConfig,
  StorageManager,
  type ConfigMemo,
  type StorageConfig,
  type StorageManagerOptions,
  type StoragePluginClass,
} from '@stowage/core';
import { codeOf } from './support/file-manager.js';
import { fileConfigSchema, FilePlugin } from './support/file-plugin.js';

type Raw = Readonly<Record<string, unknown>>;

/** A memo kept in a map by the raw config's JSON, recording what the manager asks and tells. */
class MapMemo implements ConfigMemo {
  readonly records = new Map<string, StorageConfig>();
  readonly recalled: Raw[] = [];
  readonly remembered: Array<[Raw, StorageConfig]> = [];
  recall(raw: Raw): StorageConfig | undefined {
    this.recalled.push(structuredClone(raw));
    const config = this.records.get(JSON.stringify(raw));
    return config === undefined ? undefined : structuredClone(config);
  }
  remember(raw: Raw, config: StorageConfig): void {
    this.remembered.push([structuredClone(raw), structuredClone(config)]);
    this.records.set(JSON.stringify(raw), structuredClone(config));
  }
  /** Records `config` for `raw`, as an earlier run would have. */
  plant(raw: Raw, config: StorageConfig): this {
    this.records.set(JSON.stringify(raw), config);
    return this;
  }
}

/** A new plugin class of type `testfile` whose schema is a loader counting its calls (each class its own loader). */
function lazyFilePlugin(): { cls: StoragePluginClass; loads: () => number } {
  let loads = 0;
  class LazyFile extends FilePlugin {}
  Object.defineProperty(LazyFile, 'configSchema', {
    value: async () => {
      loads++;
      return fileConfigSchema;
    },
  });
  return { cls: LazyFile, loads: () => loads };
}

let root: string;
let configFile: string;
const managers: StorageManager[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-memo-'));
  configFile = join(root, 'storage.cfg');
  for (const id of ['sa', 'sb', 'sc', 'sd']) await mkdir(join(root, id));
});
afterEach(async () => {
  for (const m of managers.splice(0)) await m.close();
  await rm(root, { recursive: true, force: true });
});

async function open(cls: StoragePluginClass, options: Partial<StorageManagerOptions>): Promise<StorageManager> {
  const m = await StorageManager.open({
    plugins: [cls],
    lockDir: join(root, 'locks'),
    node: 'testnode',
    log: { debug() {}, info() {}, warn() {} },
    ...(options.config === undefined && options.configStore === undefined ? { configFile } : {}),
    ...options,
  });
  managers.push(m);
  return m;
}

/** The raw configs of the sections of `text`, as the manager reads them. */
const rawsOf = (text: string): Raw[] => parseStorageCfgDocument(text).sections.map((s) => sectionToConfig(s));

const twoStorages = (): string => `testfile: sa\n\tpath ${root}/sa\n\tcontent images\n\ntestfile: sb\n\tpath ${root}/sb\n\tcontent images\n\tdisable 1\n`;

describe('opening a configuration with a memo', () => {
  it('a memo that knows every section: the schema loader never runs, and the recalled configs are used', async () => {
    const text = twoStorages();
    await writeFile(configFile, text);
    const [rawA, rawB] = rawsOf(text);
    const memo = new MapMemo()
      .plant(rawA!, { type: 'testfile', storage: 'sa', path: `${root}/sa`, content: ['images'], comment: 'recalled sa' })
      .plant(rawB!, { type: 'testfile', storage: 'sb', path: `${root}/sb`, content: ['images'], disable: true, comment: 'recalled sb' });
    const lazy = lazyFilePlugin();
    const m = await open(lazy.cls, { configMemo: memo });
    expect(lazy.loads()).toBe(0);
    expect(m.storageIds().sort()).toEqual(['sa', 'sb']);
    expect(m.invalidStorages()).toEqual([]);
    expect(m.storageConfig('sa')['comment']).toBe('recalled sa');
    expect(m.storageConfig('sb')['comment']).toBe('recalled sb');
    expect(memo.remembered).toEqual([]);
  });

  it('a section the memo does not know is validated (the loader runs once) and remembered with its validated config', async () => {
    const text = twoStorages();
    await writeFile(configFile, text);
    const [rawA, rawB] = rawsOf(text);
    const memo = new MapMemo().plant(rawA!, { type: 'testfile', storage: 'sa', path: `${root}/sa`, content: ['images'], comment: 'recalled sa' });
    const lazy = lazyFilePlugin();
    const m = await open(lazy.cls, { configMemo: memo });
    expect(lazy.loads()).toBe(1);
    expect(m.storageConfig('sa')['comment']).toBe('recalled sa');
    // remembered as read (text values) → as validated (typed values)
    const validated = { type: 'testfile', storage: 'sb', path: `${root}/sb`, content: ['images'], disable: true };
    expect(memo.remembered).toEqual([[rawB, validated]]);
    expect(rawB).toMatchObject({ content: 'images', disable: '1' });
    expect(m.storageConfig('sb')).toEqual(validated);

    // the next run with this memo loads no schema at all
    const again = lazyFilePlugin();
    const m2 = await open(again.cls, { configMemo: memo });
    expect(again.loads()).toBe(0);
    expect(m2.storageConfig('sb')).toEqual(validated);
    expect(memo.remembered).toHaveLength(1);
  });

  it('a section taken from the memo is still checked for locks: a shared storage without sharedLockDir is invalid', async () => {
    const text = `testfile: sc\n\tpath ${root}/sc\n\tshared 1\n`;
    await writeFile(configFile, text);
    const memo = new MapMemo().plant(rawsOf(text)[0]!, { type: 'testfile', storage: 'sc', path: `${root}/sc`, shared: true });
    const lazy = lazyFilePlugin();
    const m = await open(lazy.cls, { configMemo: memo });
    expect(lazy.loads()).toBe(0);
    expect(m.storageIds()).toEqual([]);
    expect(m.invalidStorages().map((s) => [s.storage, s.issues.map((i) => i.path.join('.'))])).toEqual([['sc', ['sc.shared']]]);
  });

  it('a bad section is never remembered and stays invalid, though the memo has a config for another text of that storage', async () => {
    const good = `testfile: sa\n\tpath ${root}/sa\n`;
    const bad = `testfile: sa\n\tpath relative/sa\n`;
    const memo = new MapMemo().plant(rawsOf(good)[0]!, { type: 'testfile', storage: 'sa', path: `${root}/sa` });
    await writeFile(configFile, bad);
    for (let run = 1; run <= 2; run++) {
      const lazy = lazyFilePlugin();
      const m = await open(lazy.cls, { configMemo: memo });
      expect(lazy.loads()).toBe(1);
      expect(m.storageIds()).toEqual([]);
      expect(m.invalidStorages().map((s) => [s.storage, s.issues.map((i) => i.path.join('.'))])).toEqual([['sa', ['sa.path']]]);
      expect(await codeOf(m.listImages('sa'))).toBe('CONFIG_INVALID');
      expect(memo.remembered).toEqual([]);
      expect(memo.records.size).toBe(1);
    }
    // the memo was asked about the section exactly as read, never by its id alone
    expect(memo.recalled.length).toBeGreaterThan(0);
    for (const raw of memo.recalled) expect(raw).toEqual({ type: 'testfile', storage: 'sa', path: 'relative/sa' });
  });
});

describe('config objects and changes with a memo', () => {
  it('config objects are validated even when the memo has a config for them', async () => {
    const bad = { type: 'testfile', storage: 'sa', path: 'relative/sa' };
    const memo = new MapMemo().plant(bad, { type: 'testfile', storage: 'sa', path: `${root}/sa` });
    const lazy = lazyFilePlugin();
    expect(await codeOf(open(lazy.cls, { config: [bad], configMemo: memo }))).toBe('CONFIG_INVALID');
    expect(lazy.loads()).toBe(1);
  });

  it('config objects of a loader class are validated with its schema, loaded first', async () => {
    const lazy = lazyFilePlugin();
    const m = await open(lazy.cls, { config: [{ type: 'testfile', storage: 'sa', path: `${root}/sa`, content: 'images' }], configMemo: new MapMemo() });
    expect(lazy.loads()).toBe(1);
    expect(m.storageConfig('sa')).toEqual({ type: 'testfile', storage: 'sa', path: `${root}/sa`, content: ['images'] });
  });

  it('updateStorage works with a loader class whose schema was never loaded, and still refuses a fixed option', async () => {
    const text = twoStorages();
    await writeFile(configFile, text);
    const [rawA, rawB] = rawsOf(text);
    const memo = new MapMemo()
      .plant(rawA!, { type: 'testfile', storage: 'sa', path: `${root}/sa`, content: ['images'] })
      .plant(rawB!, { type: 'testfile', storage: 'sb', path: `${root}/sb`, content: ['images'], disable: true });
    const lazy = lazyFilePlugin();
    const m = await open(lazy.cls, { configMemo: memo });
    expect(lazy.loads()).toBe(0);
    expect(await m.updateStorage('sa', { comment: 'changed' })).toMatchObject({ storage: 'sa', comment: 'changed' });
    expect(lazy.loads()).toBe(1);
    expect(m.storageConfig('sa')['comment']).toBe('changed');
    // the new text was validated and remembered
    expect(memo.remembered.map(([raw]) => raw)).toEqual([{ ...rawA, comment: 'changed' }]);

    const fresh = lazyFilePlugin();
    const m2 = await open(fresh.cls, { configMemo: memo });
    expect(fresh.loads()).toBe(0);
    expect(await codeOf(m2.updateStorage('sb', { path: `${root}/sd` }))).toBe('CONFIG_INVALID');
    expect(fresh.loads()).toBe(1);
  });

  it('addStorage works with a loader class whose schema was never loaded, and still refuses a bad config', async () => {
    await writeFile(configFile, '');
    const lazy = lazyFilePlugin();
    const m = await open(lazy.cls, { configMemo: new MapMemo() });
    expect(lazy.loads()).toBe(0);
    expect(await m.addStorage({ type: 'testfile', storage: 'sd', path: `${root}/sd`, content: 'images' })).toEqual({
      type: 'testfile',
      storage: 'sd',
      path: `${root}/sd`,
      content: ['images'],
    });
    expect(lazy.loads()).toBe(1);

    const fresh = lazyFilePlugin();
    const m2 = await open(fresh.cls, { configMemo: new MapMemo().plant(rawsOf(`testfile: sd\n\tpath ${root}/sd\n\tcontent images\n`)[0]!, m.storageConfig('sd')) });
    expect(fresh.loads()).toBe(0);
    expect(await codeOf(m2.addStorage({ type: 'testfile', storage: 'se', path: 'relative/se' }))).toBe('CONFIG_INVALID');
    expect(fresh.loads()).toBe(1);
  });
});
