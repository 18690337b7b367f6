import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isStorageError } from '@stowage/core';
import { parsePluginEnv, parsePluginList, pluginClassesOf, resolvePluginModule } from '../src/plugin-loader.js';

describe('plugin lists', () => {
  it('reads plugins.cfg lines with comments', () => {
    expect(parsePluginList('# third-party\nstowage-plugin-btrfs\n\n  @acme/stowage-nfs # ours\n')).toEqual(['stowage-plugin-btrfs', '@acme/stowage-nfs']);
  });
  it('splits $STOWAGE_PLUGINS on commas and spaces', () => {
    expect(parsePluginEnv('a, b  c')).toEqual(['a', 'b', 'c']);
    expect(parsePluginEnv(undefined)).toEqual([]);
  });
});

describe('pluginClassesOf', () => {
  it('picks classes with plugin statics and nothing else', () => {
    class Good {
      static type = 'good';
      static apiVersion = 1;
      static configSchema = {};
      static capabilities = {};
    }
    class Abstract {
      static type = '';
      static apiVersion = 0;
      static configSchema = {};
      static capabilities = {};
    }
    const found = pluginClassesOf({ Good, Abstract, helper: () => 1, value: 3 });
    expect(found.map(([n]) => n)).toEqual(['Good']);
  });
});

describe('resolvePluginModule', () => {
  it('finds a package in node_modules above a base, through its exports', () => {
    const root = mkdtempSync(join(tmpdir(), 'stowage-resolve-'));
    try {
      const pkg = join(root, 'node_modules', '@acme', 'plug');
      mkdirSync(join(pkg, 'dist'), { recursive: true });
      writeFileSync(join(pkg, 'package.json'), JSON.stringify({ name: '@acme/plug', exports: { '.': { types: './dist/i.d.ts', import: './dist/i.js' } } }));
      writeFileSync(join(pkg, 'dist', 'i.js'), 'export const x = 1;\n');
      mkdirSync(join(root, 'a', 'b'), { recursive: true });
      expect(resolvePluginModule('@acme/plug', [join(root, 'a', 'b')])).toBe(`file://${join(pkg, 'dist', 'i.js')}`);
      expect(resolvePluginModule('@acme/missing', [join(root, 'a', 'b')])).toBeUndefined();
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
  it('refuses names that are neither packages nor paths', () => {
    let caught: unknown;
    try {
      resolvePluginModule('bad name;rm', ['/']);
    } catch (e) {
      caught = e;
    }
    expect(isStorageError(caught, 'INVALID_ARGUMENT')).toBe(true);
  });
});
