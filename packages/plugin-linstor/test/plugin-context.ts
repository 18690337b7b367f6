/**
 * A plugin context for calling the plugin directly (without the manager), for unit tests of
 * the plugin's own behaviour.
 */
import type { PluginContext } from '@stowage/core/plugin';
import { pluginContext as kitContext, type LogLine } from '@stowage/core/testing';
import { linstorConfigSchema, type LinstorConfig } from '../src/config-schema.js';

export type { LogLine };

export function pluginContext(config: Record<string, unknown>, node: string, logs: LogLine[] = []): PluginContext<LinstorConfig> {
  return kitContext({
    config: linstorConfigSchema.parse(config) as LinstorConfig,
    node,
    log: {
      debug: (message, fields) => logs.push({ level: 'debug', message, fields }),
      info: (message, fields) => logs.push({ level: 'info', message, fields }),
      warn: (message, fields) => logs.push({ level: 'warn', message, fields }),
    },
  });
}
