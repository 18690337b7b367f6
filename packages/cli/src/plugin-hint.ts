/**
 * What to say when a storage names a type that no loaded plugin provides: how to load one, and
 * what was searched.
 *
 * @module
 */

/** Where plugins were looked for, for {@link missingTypeHint}. */
export interface PluginSearch {
  /** The types the built-in plugins provide (all of them, loaded or not). */
  readonly builtinTypes: readonly string[];
  /** The third-party plugins named (by `--plugin`, `$STOWAGE_PLUGINS`, `plugins.cfg`), with the types each brought. */
  readonly thirdParty: ReadonlyArray<{ readonly name: string; readonly types: readonly string[] }>;
  /** The `plugins.cfg` that belongs to the configuration in use. */
  readonly pluginList: string;
}

/**
 * What to add to "no plugin for storage type T": how to load the plugin that provides it, and
 * which plugins were searched.
 *
 * @param type - the storage type no plugin provides
 * @param search - what was searched
 * @example
 * ```ts
 * missingTypeHint('xfsreflink', { builtinTypes: ['dir'], thirdParty: [], pluginList: '/etc/stowage/plugins.cfg' });
 * // "load a plugin that provides storage type 'xfsreflink' with --plugin PACKAGE, ..."
 * ```
 */
export function missingTypeHint(type: string, search: PluginSearch): string {
  const third =
    search.thirdParty.length === 0
      ? 'no third-party plugin was named'
      : `third-party plugins ${search.thirdParty.map((p) => `${p.name} (${p.types.length > 0 ? p.types.join(', ') : 'no types'})`).join(', ')}`;
  return (
    `load a plugin that provides storage type '${type}' with --plugin PACKAGE, ` +
    `$STOWAGE_PLUGINS=PACKAGE, or a line 'PACKAGE' in ${search.pluginList} ` +
    `(searched: the built-in types ${search.builtinTypes.join(', ')}; ${third})`
  );
}
