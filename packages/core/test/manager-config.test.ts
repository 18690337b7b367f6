/**
 * The manager's storage.cfg changes through a ConfigStore (issue 11 items 8 to 10, issue 13):
 * read-modify-write with retry on the current sections, storages of other writers kept and
 * seen, bad sections skipped and repairable, empty values refused, comments kept.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  addStorageCfgSection,
  FileConfigStore,
  MemoryConfigStore,
  parseStorageCfgDocument,
  StorageManager,
  updateStorageCfgSection,
  type ConfigSnapshot,
  type ConfigStore,
  type StorageManagerOptions,
} from '@stowage/core';
import { codeOf } from './support/file-manager.js';
import { FilePlugin } from './support/file-plugin.js';

let root: string;
const managers: StorageManager[] = [];

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'stowage-mcfg-'));
});
afterEach(async () => {
  vi.useRealTimers();
  for (const m of managers.splice(0)) await m.close();
  await rm(root, { recursive: true, force: true });
});

async function open(options: Partial<StorageManagerOptions>, warnings: string[] = []): Promise<StorageManager> {
  const m = await StorageManager.open({
    plugins: [FilePlugin],
    lockDir: join(root, 'locks'),
    node: 'testnode',
    log: { debug() {}, info() {}, warn: (w) => warnings.push(w) },
    ...options,
  });
  managers.push(m);
  return m;
}

async function storageDir(id: string): Promise<string> {
  const dir = join(root, id);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** A store where another writer changes the text once, between the manager's read and its write. */
class InterferingStore implements ConfigStore {
  readonly location = 'interfering store';
  readonly inner: MemoryConfigStore;
  writes = 0;
  constructor(
    text: string,
    private readonly other: (text: string) => string,
  ) {
    this.inner = new MemoryConfigStore(text);
  }
  read(): Promise<ConfigSnapshot> {
    return this.inner.read();
  }
  async write(text: string, expectedRevision: string): Promise<string | undefined> {
    if (this.writes++ === 0) {
      const now = await this.inner.read();
      await this.inner.write(this.other(now.text), now.revision);
    }
    return this.inner.write(text, expectedRevision);
  }
}

describe('config changes through a ConfigStore', () => {
  it('re-applies an add to the current sections: the storage another writer added meanwhile is kept and becomes visible', async () => {
    const a = await storageDir('sa');
    const other = await storageDir('so');
    const store = new InterferingStore(`testfile: sa\n\tpath ${a}\n`, (t) =>
      addStorageCfgSection(parseStorageCfgDocument(t), { type: 'testfile', storage: 'so', options: { path: other } }),
    );
    const m = await open({ configStore: store });
    await m.addStorage({ type: 'testfile', storage: 'mine', path: await storageDir('mine') });
    expect(store.writes).toBe(2);
    expect(parseStorageCfgDocument((await store.read()).text).sections.map((s) => s.storage)).toEqual(['sa', 'so', 'mine']);
    expect(m.storageIds()).toEqual(['sa', 'so', 'mine']);
    expect(m.storageConfig('so')).toMatchObject({ path: other });
  });

  it('refuses an add with ALREADY_EXISTS when another writer added the same id meanwhile, and runs onDeleteHook', async () => {
    const mine = await storageDir('mine');
    const store = new InterferingStore('', (t) => addStorageCfgSection(parseStorageCfgDocument(t), { type: 'testfile', storage: 'mine', options: { path: '/elsewhere' } }));
    const m = await open({ configStore: store });
    const e = await m.addStorage({ type: 'testfile', storage: 'mine', path: mine }).catch((x: unknown) => x);
    expect(await codeOf(Promise.reject(e))).toBe('ALREADY_EXISTS');
    expect((await store.read()).text).toBe('testfile: mine\n\tpath /elsewhere\n');
    expect(m.storageConfig('mine')).toMatchObject({ path: '/elsewhere' });
  });

  it('re-applies an update to the storage\'s current section, and runs the hook again for the config that results', async () => {
    const a = await storageDir('sa');
    const store = new InterferingStore(`testfile: sa\n\tpath ${a}\n\tcomment old\n`, (t) => updateStorageCfgSection(parseStorageCfgDocument(t), 'sa', { content: 'images' }));
    const m = await open({ configStore: store });
    const next = await m.updateStorage('sa', { comment: 'new' });
    expect(next).toMatchObject({ comment: 'new', content: ['images'] });
    expect((await store.read()).text).toBe(`testfile: sa\n\tpath ${a}\n\tcomment new\n\tcontent images\n`);
    expect((m.pluginFor('sa') as FilePlugin).calls.filter((c) => c.startsWith('onUpdateHook'))).toEqual([
      'onUpdateHook sa old -> new',
      'onUpdateHook sa old -> new',
    ]);
    expect(m.storageConfig('sa')).toMatchObject({ comment: 'new', content: ['images'] });
  });

  it('writes a true disable as a bare flag and a false one as no line, as Proxmox does', async () => {
    const a = await storageDir('sa');
    const store = new MemoryConfigStore(`testfile: sa\n\tpath ${a}\n`);
    const m = await open({ configStore: store });
    await m.updateStorage('sa', { disable: true });
    expect((await store.read()).text).toBe(`testfile: sa\n\tpath ${a}\n\tdisable\n`);
    expect(await m.updateStorage('sa', { disable: false })).not.toHaveProperty('disable');
    expect((await store.read()).text).toBe(`testfile: sa\n\tpath ${a}\n`);
    expect(await codeOf(m.updateStorage('sa', { comment: 'x' }, ['comment']))).toBe('CONFIG_INVALID');
  });

  it('gives up with LOCK_TIMEOUT naming the store when it changes before every write, having written nothing', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    const a = await storageDir('sa');
    const text = `testfile: sa\n\tpath ${a}\n`;
    const store: ConfigStore = { location: 'always-busy', read: () => Promise.resolve({ text, revision: 'r' }), write: () => Promise.resolve(undefined) };
    const m = await open({ configStore: store });
    let settled: unknown;
    const p = m.removeStorage('sa').then(
      () => (settled = 'resolved'),
      (e: unknown) => (settled = e),
    );
    while (settled === undefined) await vi.advanceTimersByTimeAsync(1000);
    await p;
    expect(await codeOf(Promise.reject(settled))).toBe('LOCK_TIMEOUT');
    expect(String((settled as Error).message)).toContain('always-busy');
    expect(m.storageIds()).toEqual(['sa']);
  });

  it('two managers of one process, 20 concurrent adds each on one file: all 40 sections present, each manager sees all', async () => {
    const file = join(root, 'storage.cfg');
    const m1 = await open({ configFile: file });
    const m2 = await open({ configFile: file });
    const ids = Array.from({ length: 40 }, (_, i) => `s${i}`);
    await Promise.all(ids.map(async (id, i) => (i % 2 === 0 ? m1 : m2).addStorage({ type: 'testfile', storage: id, path: await storageDir(id) })));
    expect(parseStorageCfgDocument(await readFile(file, 'utf8')).sections.map((s) => s.storage).sort()).toEqual([...ids].sort());
    await m1.addStorage({ type: 'testfile', storage: 'last', path: await storageDir('last') });
    expect(m1.storageIds().sort()).toEqual([...ids, 'last'].sort());
    await vi.waitFor(() => expect(m2.storageIds()).toContain('last'), 10_000);
  });
});

describe('a storage.cfg with bad sections', () => {
  it('loads the others, lists the bad ones with their issues once as a warning, refuses to use them, and repairs or removes them', async () => {
    const a = await storageDir('good');
    const text =
      `# top\ntestfile: good\n\tpath ${a}\n\n` +
      `testfile: bare\n\tpath ${a}\n\tcontent\n\n` +
      `testfile: colour\n\tpath ${a}\n\tcolour blue\n\n` +
      `nosuchtype: alien\n\tpath /x\n`;
    const store = new MemoryConfigStore(text, 'test.cfg');
    const warnings: string[] = [];
    const m = await open({ configStore: store }, warnings);
    expect(m.storageIds()).toEqual(['good']);
    expect(m.invalidStorages().map((x) => [x.storage, x.line, x.issues.map((i) => i.line)])).toEqual([
      ['bare', 5, [7]],
      ['colour', 9, [11]],
      ['alien', 13, [13]],
    ]);
    expect(warnings.length).toBe(3);
    expect(warnings[0]).toMatch(/'bare' in test\.cfg \(line 5\).*line 7: content/);
    expect(await codeOf(m.listImages('bare'))).toBe('CONFIG_INVALID');
    expect(await codeOf(() => m.storageConfig('colour'))).toBe('CONFIG_INVALID');
    expect(await codeOf(m.allocImage('good', { vmid: 1, size: 4096 }))).toBe('resolved');

    // A change elsewhere keeps the bad sections' text.
    await m.updateStorage('good', { comment: 'fine' });
    expect((await store.read()).text).toBe(text.replace(`path ${a}\n\n`, `path ${a}\n\tcomment fine\n\n`));
    expect(warnings.length).toBe(3);

    // Repairs: a value for the bare key, the unknown key deleted. A repair that leaves it bad is refused.
    expect(await codeOf(m.updateStorage('colour', { comment: 'x' }))).toBe('CONFIG_INVALID');
    await m.updateStorage('bare', { content: 'images' });
    await m.updateStorage('colour', {}, ['colour']);
    expect(m.storageIds()).toEqual(['good', 'bare', 'colour']);
    expect(m.invalidStorages().map((x) => x.storage)).toEqual(['alien']);
    // No hook ran for the repaired ones, since they had no valid config before.
    expect((m.pluginFor('bare') as FilePlugin).calls).toEqual([]);
    await m.removeStorage('alien');
    expect(m.invalidStorages()).toEqual([]);
    expect((await store.read()).text).toBe(
      `# top\ntestfile: good\n\tpath ${a}\n\tcomment fine\n\ntestfile: bare\n\tpath ${a}\n\tcontent images\n\ntestfile: colour\n\tpath ${a}\n`,
    );
  });

  it('refuses empty values before anything is written', async () => {
    const a = await storageDir('sa');
    const store = new MemoryConfigStore(`testfile: sa\n\tpath ${a}\n`);
    const m = await open({ configStore: store });
    const cases: Array<() => Promise<unknown>> = [
      () => m.addStorage({ type: 'testfile', storage: 'sb', path: a, content: '' }),
      () => m.addStorage({ type: 'testfile', storage: 'sb', path: a, content: [] }),
      () => m.addStorage({ type: 'testfile', storage: 'sb', path: a, nodes: ' , ' }),
      () => m.addStorage({ type: 'testfile', storage: 'sb', path: a, disable: '' }),
      () => m.addStorage({ type: 'testfile', storage: 'sb', path: a, comment: '  ' }),
      () => m.updateStorage('sa', { content: '' }),
      () => m.updateStorage('sa', { comment: '' }),
    ];
    for (const run of cases) expect(await codeOf(run())).toBe('CONFIG_INVALID');
    expect((await store.read()).revision).toBe('0');
    expect((m.pluginFor('sa') as FilePlugin).calls).toEqual([]);
  });

  it('keeps config objects strict: one bad object fails open', async () => {
    expect(await codeOf(open({ config: [{ type: 'testfile', storage: 'sa', path: '/a', content: '' }] }))).toBe('CONFIG_INVALID');
  });
});

describe('comments through the manager', () => {
  it('survive add, update and remove on a real file', async () => {
    const file = join(root, 'storage.cfg');
    const a = await storageDir('sa');
    const text = `# managed by hand and by stowage\n\ntestfile: sa\n\t# the first one\n\tpath ${a}\n\n# end\n`;
    await writeFile(file, text);
    const m = await open({ configFile: file });
    await m.addStorage({ type: 'testfile', storage: 'sb', path: await storageDir('sb') });
    await m.updateStorage('sa', { comment: 'x' });
    await m.removeStorage('sb');
    expect(await readFile(file, 'utf8')).toBe(`# managed by hand and by stowage\n\ntestfile: sa\n\t# the first one\n\tpath ${a}\n\tcomment x\n\n# end\n`);
    // The file's store was used: a FileConfigStore on the same path reads what the manager wrote.
    expect((await new FileConfigStore(file).read()).text).toContain('comment x');
  });
});
