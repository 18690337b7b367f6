/**
 * Plugin contexts for tests that call the plugin directly (fixture capture and replay), the way
 * the manager makes them: a fresh operation cache per call.
 */
import { OperationCache, type CommandRunner, type PluginContext, type TtlCache } from '@stowage/core/plugin';
import { type Logger } from '@stowage/core';
import { OwnerMaskingRunner } from '../../../testbed/src/capture/owner-mask.js';
import type { LvmThinConfig } from '../../src/config.js';

/** A logger that keeps what it was told. */
export class MemoryLog implements Logger {
  readonly lines: Array<{ level: string; message: string; fields?: Record<string, unknown> }> = [];
  debug(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'debug', message, fields });
  }
  info(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'info', message, fields });
  }
  warn(message: string, fields?: Record<string, unknown>): void {
    this.lines.push({ level: 'warn', message, fields });
  }
}

/** Makes a fresh context for one plugin call (node `test`, owner tokens masked: see `OwnerMaskingRunner`). */
export function pluginContext(
  given: CommandRunner,
  config: LvmThinConfig,
  options: { shared?: TtlCache; signal?: AbortSignal; log?: Logger } = {},
): PluginContext<LvmThinConfig> {
  const signal = options.signal;
  // the owner tokens of unfinished volumes are the same stand-in in every capture and replay
  const runner = new OwnerMaskingRunner(given, 'test');
  return {
    storeId: config.storage,
    config,
    cache: new OperationCache(options.shared),
    runner,
    run: (argv, runOptions) => runner.run(argv, { ...runOptions, signal: runOptions?.signal ?? signal }),
    signal,
    log: options.log ?? new MemoryLog(),
    node: 'test',
    nameReserved: () => undefined,
  };
}

/** The config of the capture volume group made by `capture.ts`. */
export const CAPTURE_CONFIG: LvmThinConfig = { type: 'lvmthin', storage: 'cap', vgname: 'stowcap', thinpool: 'pool' };
