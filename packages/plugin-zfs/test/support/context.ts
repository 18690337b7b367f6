/**
 * Plugin contexts for tests that call the plugin directly (fixture capture and replay), the way
 * the manager makes them for a write: a fresh operation cache per call, nothing shared.
 */
import { OperationCache, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { type Logger } from '@stowage/core';
import { OwnerMaskingRunner } from '../../../testbed/src/capture/owner-mask.js';
import type { ZfsPoolConfig } from '../../src/config.js';

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
export function pluginContext(given: CommandRunner, config: ZfsPoolConfig, options: { signal?: AbortSignal; log?: Logger } = {}): PluginContext<ZfsPoolConfig> {
  const signal = options.signal;
  // the owner tokens of unfinished volumes are the same stand-in in every capture and replay
  const runner = new OwnerMaskingRunner(given, 'test');
  return {
    storeId: config.storage,
    config,
    cache: new OperationCache(),
    runner,
    run: (argv, runOptions) => runner.run(argv, { ...runOptions, signal: runOptions?.signal ?? signal }),
    signal,
    log: options.log ?? new MemoryLog(),
    node: 'test',
    nameReserved: () => undefined,
  };
}

/** The capture pool made by `capture.ts` on a sparse file in the guest (not on the testbed's disks). */
export const CAPTURE_POOL = 'stowzcap';

/** The config of the capture storage: a dataset of the capture pool, zvols thin. */
export const CAPTURE_CONFIG: ZfsPoolConfig = { type: 'zfspool', storage: 'cap', pool: `${CAPTURE_POOL}/cap`, sparse: true };
