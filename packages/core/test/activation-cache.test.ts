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
    fx = await openFileManager(['st'], { open: { plugins: [SharesActivation], cacheTtlMs: 300, activationTtlMs: 300 } });
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    await fx.manager.listImages('st');
    expect(SharesActivation.asked, 'asked for the first operation only, though each write cleared the TTL cache').toBe(1);
    await sleep(400);
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    expect(SharesActivation.asked, 'asked again once the answer expired').toBe(2);
  });

  it('outlives the listings (activationTtlMs), until an operation fails: the next one activates anew', async () => {
    SharesActivation.asked = 0;
    fx = await openFileManager(['st'], { open: { plugins: [SharesActivation], cacheTtlMs: 50, activationTtlMs: 60_000 } });
    const v = await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    await sleep(120); // the listings have expired
    await fx.manager.listImages('st');
    await fx.manager.allocImage('st', { vmid: 100, size: 4096 });
    expect(SharesActivation.asked, 'asked once: the answer outlived the listings').toBe(1);
    const name = v.split(':')[1]!;
    await expect(fx.manager.allocImage('st', { vmid: 100, size: 4096, name })).rejects.toMatchObject({ code: 'ALREADY_EXISTS' });
    await fx.manager.listImages('st');
    expect(SharesActivation.asked, 'asked again after a failed operation').toBe(2);
    await fx.manager.listImages('st');
    expect(SharesActivation.asked).toBe(2);
  });
});
