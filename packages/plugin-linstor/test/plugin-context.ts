/**
 * A plugin context for calling the plugin directly (without the manager), for unit tests of
 * the plugin's own behaviour.
 */
import { OperationCache, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { linstorConfigSchema, type LinstorConfig } from '../src/config.js';

export interface LogLine {
  level: 'debug' | 'info' | 'warn';
  message: string;
  fields?: Record<string, unknown>;
}

const noRunner: CommandRunner = {
  description: 'none',
  run: () => Promise.reject(new Error('the linstor plugin runs no commands')),
};

export function pluginContext(config: Record<string, unknown>, node: string, logs: LogLine[] = []): PluginContext<LinstorConfig> {
  return {
    storeId: String(config.storage),
    config: linstorConfigSchema.parse(config) as LinstorConfig,
    cache: new OperationCache(),
    runner: noRunner,
    run: (argv, options) => noRunner.run(argv, options),
    signal: undefined,
    log: {
      debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
      info: (message, fields) => logs.push({ level: 'info', message, fields }),
      warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    },
    node,
    nameReserved: () => undefined,
  };
}
