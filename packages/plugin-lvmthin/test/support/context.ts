/**
 * Plugin contexts for tests that call the plugin directly (fixture capture and replay), the way
 * the manager makes them: the core's `pluginContext`, with owner tokens masked.
 */
import type { CommandRunner, PluginContext } from '@stowage/core/plugin';
import { pluginContext } from '@stowage/core/testing';
import { OwnerMaskingRunner } from '../../../testbed/src/capture/owner-mask.js';
import type { LvmThinConfig } from '../../src/config.js';

/** Makes a fresh context for one plugin call (node `test`, owner tokens masked: see `OwnerMaskingRunner`). */
export function captureContext(runner: CommandRunner, config: LvmThinConfig): PluginContext<LvmThinConfig> {
  // the owner tokens of unfinished volumes are the same stand-in in every capture and replay
  return pluginContext({ config, runner: new OwnerMaskingRunner(runner, 'test'), node: 'test' });
}

/** The config of the capture volume group made by `capture.ts`. */
export const CAPTURE_CONFIG: LvmThinConfig = { type: 'lvmthin', storage: 'cap', vgname: 'stowcap', thinpool: 'pool' };
