/**
 * Plugin contexts for tests that call a plugin's methods directly, without the manager.
 *
 * @module
 */
import { OperationCache, type TtlCache } from '../cache.js';
import type { CommandRunner } from '../command/runner.js';
import type { StorageConfig } from '../config/base-schema.js';
import { localFileSystem } from '../file-system.js';
import type { Logger, PluginContext } from '../plugin-types.js';

/** One message a {@link RecordingLog} was given. */
export interface LogLine {
  /** `debug`, `info` or `warn`. */
  readonly level: 'debug' | 'info' | 'warn';
  /** The message. */
  readonly message: string;
  /** Its fields, if any. */
  readonly fields?: Record<string, unknown> | undefined;
}

/** A {@link Logger} that keeps every message, for tests to look at. */
export class RecordingLog implements Logger {
  /** Every message, in order. */
  readonly lines: LogLine[] = [];
  /** Keeps a debug message. @param message - the message @param fields - its fields */
  debug(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  /** Keeps an info message. @param message - the message @param fields - its fields */
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, fields });
  }
  /** Keeps a warning. @param message - the message @param fields - its fields */
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, fields });
  }
}

/** What {@link pluginContext} makes a context of. */
export interface PluginContextOptions<C extends StorageConfig> {
  /** The storage's config, already validated by the plugin's schema. */
  readonly config: C;
  /** The runner; by default one that refuses every command (for plugins that run none). */
  readonly runner?: CommandRunner | undefined;
  /** The storage id. @default config.storage */
  readonly storeId?: string | undefined;
  /** The node name. @default 'localhost' */
  readonly node?: string | undefined;
  /** The operation's abort signal, also passed to every command. */
  readonly signal?: AbortSignal | undefined;
  /** Where messages go. @default a new {@link RecordingLog} */
  readonly log?: Logger | undefined;
  /** A shared cache between calls, as the manager keeps one per storage. */
  readonly shared?: TtlCache | undefined;
  /** Called when the plugin reports its new name reserved. @default does nothing */
  readonly nameReserved?: (() => void) | undefined;
}

const noCommands: CommandRunner = {
  description: 'no commands',
  run: (argv) => Promise.reject(new Error(`this test context runs no commands (asked for ${argv[0] ?? 'nothing'})`)),
};

/**
 * Makes a fresh context for one direct call of a plugin method, the way the manager makes one:
 * a new operation cache, the runner with the call's signal, the runner's file-system calls.
 *
 * @param options - config, runner, node, signal, log
 * @returns the context
 * @example
 * ```ts
 * const ctx = pluginContext({ config: fooConfigSchema.parse({ type: 'foo', storage: 't', path }), runner: new LocalRunner() });
 * await new FooPlugin().allocImage(ctx, { vmid: 100, format: 'raw', name: 'vm-100-disk-0.raw', size: 1 << 20 });
 * ```
 */
export function pluginContext<C extends StorageConfig>(options: PluginContextOptions<C>): PluginContext<C> {
  const runner = options.runner ?? noCommands;
  const signal = options.signal;
  return {
    storeId: options.storeId ?? options.config.storage,
    config: options.config,
    cache: new OperationCache(options.shared),
    runner,
    run: (argv, runOptions) => runner.run(argv, { ...runOptions, signal: runOptions?.signal ?? signal }),
    signal,
    fs: runner.fs ?? localFileSystem,
    log: options.log ?? new RecordingLog(),
    node: options.node ?? 'localhost',
    nameReserved: options.nameReserved ?? (() => undefined),
  };
}
