/**
 * A plugin's config schema given as a loader (src/config/schema-source.ts): loaded once however
 * many ask at the same time, checked for each class as `register()` checks a schema given
 * directly (a bad one is refused on every call; a loader that failed is run again), at hand
 * synchronously only once loaded; a class that gives its schema directly needs no loading, and
 * the registry takes a loader class without running it.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  configSchemaOf,
  loadConfigSchema,
  loadedConfigSchema,
  PluginRegistry,
  validateStorageConfig,
  type ConfigSchemaLoader,
} from '@stowage/core';
import { baseStorageConfigSchema, type StorageConfigSchema } from '@stowage/core/config';
import { expectCode } from '@stowage/core/testing';
import { fileConfigSchema, FilePlugin } from './support/file-plugin.js';

const lazySchema = baseStorageConfigSchema.extend({ type: z.literal('lazy'), path: z.string() });

/** A loader that counts its calls and returns what `next` gives, each call after `gate` resolves. */
function countingLoader(next: () => unknown, gate: Promise<void> = Promise.resolve()): { load: ConfigSchemaLoader; calls: () => number } {
  let calls = 0;
  const load = async (): Promise<StorageConfigSchema> => {
    calls++;
    await gate;
    return next() as StorageConfigSchema;
  };
  return { load, calls: () => calls };
}

describe('loadConfigSchema', () => {
  it('runs a loader once for callers that ask at the same time, and not again afterwards', async () => {
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const loader = countingLoader(() => lazySchema, gate);
    const cls = { type: 'lazy', configSchema: loader.load };
    const pending = [loadConfigSchema(cls), loadConfigSchema(cls), loadConfigSchema(cls)];
    open();
    const schemas = await Promise.all(pending);
    expect(loader.calls()).toBe(1);
    for (const schema of schemas) expect(schema).toBe(lazySchema);
    expect(await loadConfigSchema(cls)).toBe(lazySchema);
    expect(loader.calls()).toBe(1);
  });

  it('loads a schema shared by two classes once', async () => {
    const loader = countingLoader(() => lazySchema);
    await loadConfigSchema({ type: 'lazy', configSchema: loader.load });
    expect(await loadConfigSchema({ type: 'lazy', configSchema: loader.load })).toBe(lazySchema);
    expect(loader.calls()).toBe(1);
  });

  it.each([
    ['lacks base keys', z.strictObject({ type: z.literal('lazy'), storage: z.string() })],
    ["does not accept the plugin's type", baseStorageConfigSchema.extend({ type: z.literal('other') })],
    ['is not an object schema', z.string()],
  ])('refuses a loaded schema that %s with INVALID_ARGUMENT, on every call, and never takes it as loaded', async (_what, bad) => {
    const loader = countingLoader(() => bad);
    const cls = { type: 'lazy', configSchema: loader.load };
    const refused = await expectCode(loadConfigSchema(cls), 'INVALID_ARGUMENT', 'loading a bad schema');
    // found when loaded, long after register(): the message says so
    expect(refused.message).toMatch(/^the config schema that plugin 'lazy' loaded cannot be used: configSchema/);
    expect(loadedConfigSchema(cls)).toBeUndefined();
    await expectCode(() => configSchemaOf(cls), 'INVALID_ARGUMENT', 'configSchemaOf(cls)');
    // a later call checks again: refused again, still not loaded
    await expectCode(loadConfigSchema(cls), 'INVALID_ARGUMENT', 'loadConfigSchema(cls)');
    expect(loadedConfigSchema(cls)).toBeUndefined();
    await expectCode(() => configSchemaOf(cls), 'INVALID_ARGUMENT', 'configSchemaOf(cls)');
  });

  it('checks a loader shared by two classes for each of them: the schema of one type is refused for another', async () => {
    const loader = countingLoader(() => lazySchema);
    const lazy = { type: 'lazy', configSchema: loader.load };
    const other = { type: 'other', configSchema: loader.load };
    expect(await loadConfigSchema(lazy)).toBe(lazySchema);
    await expectCode(loadConfigSchema(other), 'INVALID_ARGUMENT', 'loadConfigSchema(other)');
    expect(loadedConfigSchema(other)).toBeUndefined();
    await expectCode(() => configSchemaOf(other), 'INVALID_ARGUMENT', 'configSchemaOf(other)');
    expect(configSchemaOf(lazy)).toBe(lazySchema);
    expect(loader.calls()).toBe(1);
  });

  it('loads again after a loader that failed', async () => {
    let fail = true;
    const loader = countingLoader(() => {
      if (fail) throw new Error('disk on fire');
      return lazySchema;
    });
    const cls = { type: 'lazy', configSchema: loader.load };
    await expect(loadConfigSchema(cls)).rejects.toThrow('disk on fire');
    fail = false;
    expect(await loadConfigSchema(cls)).toBe(lazySchema);
    expect(loader.calls()).toBe(2);
  });
});

describe('configSchemaOf and loadedConfigSchema', () => {
  it('refuses a loader that has not run with INVALID_ARGUMENT, and gives its schema once it has', async () => {
    const loader = countingLoader(() => lazySchema);
    const cls = { type: 'lazy', configSchema: loader.load };
    expect(loadedConfigSchema(cls)).toBeUndefined();
    await expectCode(() => configSchemaOf(cls), 'INVALID_ARGUMENT', 'configSchemaOf(cls)');
    expect(loader.calls()).toBe(0);
    await loadConfigSchema(cls);
    expect(loadedConfigSchema(cls)).toBe(lazySchema);
    expect(configSchemaOf(cls)).toBe(lazySchema);
  });

  it('a class that gives its schema directly needs no loading: validation works at once', async () => {
    expect(loadedConfigSchema(FilePlugin)).toBe(fileConfigSchema);
    expect(configSchemaOf(FilePlugin)).toBe(fileConfigSchema);
    expect(validateStorageConfig(FilePlugin, { type: 'testfile', storage: 'sa', path: '/srv/a', content: 'images' })).toMatchObject({ content: ['images'] });
    expect(await loadConfigSchema(FilePlugin)).toBe(fileConfigSchema);
  });
});

describe('PluginRegistry and a loader class', () => {
  it('registers a class whose schema is a loader without running the loader', async () => {
    const loader = countingLoader(() => fileConfigSchema);
    class LazyFile extends FilePlugin {}
    Object.defineProperty(LazyFile, 'configSchema', { value: loader.load });
    const registry = new PluginRegistry([LazyFile]);
    expect(registry.lookup('testfile')).toBe(LazyFile);
    expect(loader.calls()).toBe(0);
    // its schema is checked when it is loaded
    expect(await loadConfigSchema(LazyFile)).toBe(fileConfigSchema);
  });

  it('still checks a schema given directly when registering', async () => {
    class NoBase extends FilePlugin {}
    Object.defineProperty(NoBase, 'configSchema', { value: z.strictObject({ type: z.literal('testfile'), storage: z.string() }) });
    await expectCode(() => new PluginRegistry([NoBase]), 'INVALID_ARGUMENT', 'new PluginRegistry([NoBase])');
  });
});
