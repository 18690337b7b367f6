import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  API_AGE,
  API_VERSION,
  applyConfigUpdate,
  ConfigError,
  isStorageError,
  parseStorageCfg,
  PluginRegistry,
  sectionToConfig,
  validateStorageConfig,
  type StoragePluginClass,
} from '@stowage/core';
import { baseStorageConfigSchema } from '@stowage/core/config';
import { FilePlugin } from './support/file-plugin.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    return isStorageError(e) ? e.code : `not a StorageError: ${String(e)}`;
  }
  return undefined;
}

describe('PluginRegistry', () => {
  it('registers, looks up and lists plugins; the same class twice is a no-op', () => {
    const r = new PluginRegistry([FilePlugin]);
    r.register(FilePlugin);
    expect(r.lookup('testfile')).toBe(FilePlugin);
    expect(r.list()).toEqual([FilePlugin]);
    expect(r.has('dir')).toBe(false);
    expect(codeOf(() => r.lookup('dir'))).toBe('NOT_FOUND');
  });

  it('refuses another class under a taken type with ALREADY_EXISTS', () => {
    class Other extends FilePlugin {}
    const r = new PluginRegistry([FilePlugin]);
    expect(codeOf(() => r.register(Other))).toBe('ALREADY_EXISTS');
    expect(r.lookup('testfile')).toBe(FilePlugin);
  });

  it('refuses plugins outside the API window with API_VERSION_MISMATCH', () => {
    class TooNew extends FilePlugin {
      static override readonly apiVersion = API_VERSION + 1;
    }
    class TooOld extends FilePlugin {
      static override readonly apiVersion = API_VERSION - API_AGE - 1;
    }
    class NotANumber extends FilePlugin {
      static override readonly apiVersion = Number.NaN;
    }
    for (const cls of [TooNew, TooOld, NotANumber]) {
      const r = new PluginRegistry();
      expect(codeOf(() => r.register(cls))).toBe('API_VERSION_MISMATCH');
      expect(r.list()).toEqual([]);
    }
  });

  it('refuses malformed static metadata with INVALID_ARGUMENT', () => {
    class BadType extends FilePlugin {
      static override readonly type = 'Test-File';
    }
    class NoBase extends FilePlugin {
      static override readonly configSchema = z.strictObject({ type: z.literal('testfile'), storage: z.string() });
    }
    class WrongLiteral extends FilePlugin {
      static override readonly type = 'other';
    }
    class BadCaps extends FilePlugin {
      static override readonly capabilities = { ...FilePlugin.capabilities, defaultFormat: 'qcow2' as const };
    }
    for (const cls of [BadType, NoBase, WrongLiteral, BadCaps] as StoragePluginClass[]) {
      expect(codeOf(() => new PluginRegistry().register(cls))).toBe('INVALID_ARGUMENT');
    }
  });
});

describe('validateStorageConfig', () => {
  it('turns file text into typed values', () => {
    const [section] = parseStorageCfg('testfile: scratch\n\tpath /srv/x\n\tcontent images\n\tnodes a,b\n\tdisable\n\tshared 0\n');
    const config = validateStorageConfig(FilePlugin, sectionToConfig(section!), section);
    expect(config).toEqual({ type: 'testfile', storage: 'scratch', path: '/srv/x', content: ['images'], nodes: ['a', 'b'], disable: true, shared: false });
  });

  it('rejects unknown keys and bad values, naming each with its file line', () => {
    const text = 'testfile: scratch\n\tpath relative/path\n\tcolour blue\n\tshared maybe\n';
    const [section] = parseStorageCfg(text);
    let error: unknown;
    try {
      validateStorageConfig(FilePlugin, sectionToConfig(section!), section);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const issues = (error as ConfigError).issues;
    expect(issues.map((i) => [i.path.join('.'), i.line])).toEqual(
      expect.arrayContaining([
        ['scratch.path', 2],
        ['scratch.colour', 3],
        ['scratch.shared', 4],
      ]),
    );
  });

  it('rejects a missing required option, a bad storage id and a type that is not the plugin\'s', () => {
    expect(codeOf(() => validateStorageConfig(FilePlugin, { type: 'testfile', storage: 'x' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => validateStorageConfig(FilePlugin, { type: 'testfile', storage: '1bad', path: '/x' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => validateStorageConfig(FilePlugin, { type: 'dir', storage: 'x', path: '/x' }))).toBe('CONFIG_INVALID');
  });
});

describe('applyConfigUpdate', () => {
  const current = validateStorageConfig(FilePlugin, { type: 'testfile', storage: 'scratch', path: '/srv/x', content: 'images' });

  it('applies changes and deletions of optional keys', () => {
    const next = applyConfigUpdate(FilePlugin, current, { disable: '1', nodes: 'n1' }, ['content']);
    expect(next).toEqual({ type: 'testfile', storage: 'scratch', path: '/srv/x', disable: true, nodes: ['n1'] });
  });

  it('refuses to change or delete a fixed option, and leaves the config as it was', () => {
    const before = JSON.stringify(current);
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, { path: '/elsewhere' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, {}, ['path']))).toBe('CONFIG_INVALID');
    expect(JSON.stringify(current)).toBe(before);
    // Setting a fixed option to the value it has is not a change.
    expect(applyConfigUpdate(FilePlugin, current, { path: '/srv/x' }).path).toBe('/srv/x');
  });

  it('refuses type and id changes, unknown keys, and setting and deleting a key at once', () => {
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, { type: 'dir' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, { storage: 'other' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, { colour: 'blue' }))).toBe('CONFIG_INVALID');
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, {}, ['colour']))).toBe('CONFIG_INVALID');
    expect(codeOf(() => applyConfigUpdate(FilePlugin, current, { content: 'images' }, ['content']))).toBe('CONFIG_INVALID');
  });

  it('works for any plugin schema extending the base one', () => {
    expect(Object.keys(FilePlugin.configSchema.shape)).toEqual(expect.arrayContaining(Object.keys(baseStorageConfigSchema.shape)));
  });
});
