/**
 * Plugin contexts for tests that call the plugin directly (fixture capture and replay), the way
 * the manager makes them for a write: the core's `pluginContext`, with owner tokens masked.
 */
import type { CommandRunner, PluginContext } from '@stowage/core/plugin';
import { pluginContext } from '@stowage/core/testing';
import { OwnerMaskingRunner } from '../../../testbed/src/capture/owner-mask.js';
import type { ZfsPoolConfig } from '../../src/config.js';

/** Makes a fresh context for one plugin call (node `test`, owner tokens masked: see `OwnerMaskingRunner`). */
export function captureContext(runner: CommandRunner, config: ZfsPoolConfig): PluginContext<ZfsPoolConfig> {
  // the owner tokens of unfinished volumes are the same stand-in in every capture and replay
  return pluginContext({ config, runner: new OwnerMaskingRunner(runner, 'test'), node: 'test' });
}

/** The capture pool made by `capture.ts` on a sparse file in the guest (not on the testbed's disks). */
export const CAPTURE_POOL = 'stowzcap';

/** The config of the capture storage: a dataset of the capture pool, zvols thin. */
export const CAPTURE_CONFIG: ZfsPoolConfig = { type: 'zfspool', storage: 'cap', pool: `${CAPTURE_POOL}/cap`, sparse: true };
