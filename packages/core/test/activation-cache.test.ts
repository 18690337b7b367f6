import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import type { PluginContext } from '@stowage/core/plugin';
import { FilePlugin, type FileConfig } from './support/file-plugin.js';
import { openFileManager, type FileManagerFixture } from './support/file-manager.js';

let fx: FileManagerFixture;

afterEach(async () => {
  await fx?.close();
});

/** A plugin whose activation asks something (a pool imported?) and shares the answer through the TTL cache, as zfspool's does. */
class SharesActivation extends FilePlugin {
  static asked = 0;
  override async activateStorage(ctx: PluginContext<FileConfig>): Promise<void> {
    await ctx.cache.shared('active', async () => void SharesActivation.asked++);
    await super.activateStorage(ctx);
  }
}

describe("activation shared through the TTL cache", () => {
  it('is not asked again after a write (a write deactivates nothing), and is once it expires', async () => {
    SharesActivation.asked = 0;
    fx = await openFileManager(['st'], { open: { plugins: [SharesActivation], cacheTtlMs: 300 } });
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    await fx.manager.listImages('st');
    expect(SharesActivation.asked, 'asked for the first operation only, though each write cleared the TTL cache').toBe(1);
    await sleep(400);
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    expect(SharesActivation.asked, 'asked again once the answer expired').toBe(2);
  });
});
