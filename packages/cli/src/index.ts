/**
 * `@stowage/cli`: the `stowage` command, used like Proxmox's `pvesm`, and the pieces it is made
 * of for programs that embed it: {@link runCli}, the size parser, the exit-status table, the
 * configuration lookup and the plugin loader.
 *
 * @packageDocumentation
 */
export { GLOBAL_OPTIONS, UsageError, type GlobalArgs, type OptionSpec } from './args.js';
export { findConfigFile, SYSTEM_CONFIG_PATH, type ConfigLocation, type ConfigLookup, type ConfigSource } from './config-path.js';
export { EXIT_CLOSED_PIPE, EXIT_CODES, EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE } from './exit-codes.js';
export { exitCodeFor } from './report.js';
export { BUILTIN_PLUGIN_PACKAGES, configuredTypes, loadBuiltins, storageTypesIn, type BuiltinPackage } from './builtins.js';
export { runCli, type RunCliOptions } from './main.js';
export {
  loadPlugins,
  locatePlugin,
  parsePluginEnv,
  parsePluginList,
  pluginClassesOf,
  pluginListPath,
  resolvePluginModule,
  type LoadedPlugins,
  type ModuleNamespace,
  type PluginLocation,
  type PluginOrigin,
  type PluginSources,
} from './plugin-loader.js';
export { createProgressBar, renderProgressLine, type BarStream, type ProgressBar } from './progress.js';
export { formatSize, MAX_SIZE_BYTES, parseSize, parseSizeSpec, type SizeSpec } from './sizes.js';
export type { CliIO } from './verb.js';
