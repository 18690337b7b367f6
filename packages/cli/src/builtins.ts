/**
 * The plugin packages built into the command, loaded only when a configured storage (or the
 * verb) needs them: importing every backend costs startup time on each invocation.
 *
 * @module
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseStorageCfg } from '@stowage/core';
import type { ModuleNamespace } from './plugin-loader.js';

/** A built-in plugin package. */
export interface BuiltinPackage {
  /** The npm package name. */
  readonly name: string;
  /** The storage types it provides. */
  readonly types: readonly string[];
  /** Imports it. */
  load(): Promise<ModuleNamespace>;
}

/** The built-in packages: directory, LVM-thin, ZFS pool and LINSTOR storage. */
export const BUILTIN_PLUGIN_PACKAGES: readonly BuiltinPackage[] = [
  { name: '@stowage/plugin-dir', types: ['dir'], load: async () => (await import('@stowage/plugin-dir')) as ModuleNamespace },
  { name: '@stowage/plugin-lvmthin', types: ['lvmthin'], load: async () => (await import('@stowage/plugin-lvmthin')) as ModuleNamespace },
  { name: '@stowage/plugin-zfs', types: ['zfspool'], load: async () => (await import('@stowage/plugin-zfs')) as ModuleNamespace },
  { name: '@stowage/plugin-linstor', types: ['linstor'], load: async () => (await import('@stowage/plugin-linstor')) as ModuleNamespace },
];

/**
 * The storages a storage.cfg text names, with their types (`storage id → type`), or `undefined`
 * when it cannot be read as one (the manager then reports the problem, with every plugin
 * loaded).
 *
 * @param text - the storage.cfg text
 */
export function storagesIn(text: string): Map<string, string> | undefined {
  try {
    return new Map(parseStorageCfg(text).map((s) => [s.storage, s.type]));
  } catch {
    return undefined;
  }
}

/**
 * The storages a configuration file names, with their types (`storage id → type`): none when
 * the file does not exist, `undefined` when it cannot be read as one.
 *
 * @param path - the storage.cfg path
 */
export function configuredStorages(path: string): Map<string, string> | undefined {
  if (!existsSync(path)) return new Map();
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return undefined; // a directory, say: the manager's config store names the problem
  }
  return storagesIn(text);
}

/**
 * The storage types a storage.cfg text uses, or `undefined` when it cannot be read as one.
 *
 * @param text - the storage.cfg text
 */
export function storageTypesIn(text: string): string[] | undefined {
  const storages = storagesIn(text);
  return storages && [...new Set(storages.values())];
}

/**
 * The storage types a configuration file uses, or `undefined` when it cannot be read as one.
 *
 * @param path - the storage.cfg path
 */
export function configuredTypes(path: string): string[] | undefined {
  const storages = configuredStorages(path);
  return storages && [...new Set(storages.values())];
}

/**
 * Imports the built-in packages that provide any of `types` (all of them for `'all'`).
 *
 * @param packages - the built-in packages
 * @param types - the storage types needed, or `'all'`
 * @returns `[name, namespace]` pairs, in the packages' order
 */
export async function loadBuiltins(packages: readonly BuiltinPackage[], types: readonly string[] | 'all'): Promise<Array<[string, ModuleNamespace]>> {
  const wanted = packages.filter((p) => types === 'all' || p.types.some((t) => types.includes(t)));
  return Promise.all(wanted.map(async (p): Promise<[string, ModuleNamespace]> => [p.name, await p.load()]));
}
