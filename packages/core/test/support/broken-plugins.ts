/**
 * Deliberately broken variants of the memory plugin, each with one fault a real plugin could
 * have. The conformance kit must fail on every one of them (test/kit-catches-broken.test.ts).
 */
import { once } from 'node:events';
import { Transform } from 'node:stream';
import { StorageError } from '../../src/errors.js';
import type {
  AllocImageRequest,
  CloneImageRequest,
  CreateBaseRequest,
  ParsedVolume,
  PluginContext,
  SnapshotRequest,
  SnapshotRollbackRequest,
  VolumeExportRequest,
  VolumeRequest,
  VolumeResizeRequest,
  VolumeSizeInfo,
} from '../../src/plugin-types.js';
import { cloneArgs, createArgs, destroyArgs, renameArgs, resizeArgs, setArgs } from '../../src/testing/memory/commands.js';
import { memoryPool, type MemoryConfig } from '../../src/testing/memory/config.js';
import { defineMemoryPlugin } from '../../src/testing/memory/variant.js';

/** Declares `shrink: false` and has no size info (so the manager cannot check), but shrinks anyway. */
export class ShrinksAnyway extends defineMemoryPlugin({ type: 'brokenshrink', shrink: false }) {
  override async volumeSizeInfo(ctx: PluginContext<MemoryConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    void ctx;
    throw new StorageError('NOT_SUPPORTED', 'no size info', { details: { volname: request.volume.volname } });
  }

  override async volumeResize(ctx: PluginContext<MemoryConfig>, request: VolumeResizeRequest): Promise<void> {
    const r = await this.find(ctx, request.volume);
    await ctx.run(resizeArgs(memoryPool(ctx), r.name, request.size));
  }
}

/** Exports one byte of the payload wrong. */
export class CorruptsExport extends defineMemoryPlugin({ type: 'brokenexport' }) {
  override async volumeExport(ctx: PluginContext<MemoryConfig>, request: VolumeExportRequest): Promise<void> {
    let offset = 0;
    const flip = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        const out = Buffer.from(chunk);
        const at = 8 + 4096 - offset;
        if (at >= 0 && at < out.length) out[at] = (out[at] ?? 0) ^ 0xff;
        offset += chunk.length;
        callback(null, out);
      },
    });
    flip.pipe(request.output, { end: false });
    const ended = once(flip, 'end');
    await super.volumeExport(ctx, { ...request, output: flip });
    flip.end();
    await ended;
  }
}

/** Allocates in two steps and makes bases in two steps, and undoes neither when the second fails. */
export class LeavesHalfMade extends defineMemoryPlugin({ type: 'brokencleanup' }) {
  override async allocImage(ctx: PluginContext<MemoryConfig>, request: AllocImageRequest): Promise<string> {
    await ctx.run(createArgs(memoryPool(ctx), request.name, request.size));
    await ctx.run(setArgs(memoryPool(ctx), request.name, 'owner', String(request.vmid)));
    return request.name;
  }

  override async createBase(ctx: PluginContext<MemoryConfig>, request: CreateBaseRequest): Promise<string> {
    const v = request.volume;
    await this.find(ctx, v);
    const base = `base-${v.name.slice('vm-'.length)}`;
    await ctx.run(renameArgs(memoryPool(ctx), v.name, base));
    await ctx.run(setArgs(memoryPool(ctx), base, 'readonly', '1'));
    return base;
  }
}

/** Parses any name that contains a `vm-<vmid>-` part, `..`, `/` and shell characters included. */
export class AcceptsAnyName extends defineMemoryPlugin({ type: 'brokennames' }) {
  override parseVolname(volname: string): ParsedVolume {
    try {
      return super.parseVolname(volname);
    } catch (e) {
      const m = /(vm|base)-(\d+)-/.exec(volname);
      if (!m) throw e;
      return { volname, vtype: 'images', name: volname, vmid: Number(m[2]), baseName: undefined, baseVmid: undefined, isBase: m[1] === 'base', format: 'raw' };
    }
  }
}

/** Takes snapshots by doing nothing at all. */
export class IgnoresSnapshots extends defineMemoryPlugin({ type: 'brokensnapshot' }) {
  override async volumeSnapshot(ctx: PluginContext<MemoryConfig>, request: SnapshotRequest): Promise<void> {
    await this.find(ctx, request.volume);
  }
}

/** Rolls back by checking that the snapshot exists, and keeps the current data. */
export class RollbackKeepsData extends defineMemoryPlugin({ type: 'brokenrollback' }) {
  override async volumeSnapshotRollback(ctx: PluginContext<MemoryConfig>, request: SnapshotRollbackRequest): Promise<void> {
    if (!(await this.snapshots(ctx, request.volume)).some((s) => s.name === request.snapshot)) {
      throw new StorageError('NOT_FOUND', `no snapshot '${request.snapshot}'`, { details: { snapshot: request.snapshot } });
    }
  }
}

/** Clones a snapshot by cloning the volume's current state (still linked to the volume). */
export class ClonesCurrentState extends defineMemoryPlugin({ type: 'brokensnapclone' }) {
  override async cloneImage(ctx: PluginContext<MemoryConfig>, request: CloneImageRequest): Promise<string> {
    if (request.snapshot === undefined) return super.cloneImage(ctx, request);
    const r = await this.find(ctx, request.volume);
    await ctx.run(cloneArgs(memoryPool(ctx), r.name, undefined, request.name));
    return request.name;
  }
}

/** Grows a volume by replacing it with a new, empty one of the new size. */
export class GrowLosesData extends defineMemoryPlugin({ type: 'brokengrow' }) {
  override async volumeResize(ctx: PluginContext<MemoryConfig>, request: VolumeResizeRequest): Promise<void> {
    const r = await this.find(ctx, request.volume);
    if (request.size === r.size) return;
    if (request.size < r.size) return super.volumeResize(ctx, request);
    const pool = memoryPool(ctx);
    await ctx.run(createArgs(pool, `${r.name}-new`, request.size));
    await ctx.run(destroyArgs(pool, r.name));
    await ctx.run(renameArgs(pool, `${r.name}-new`, r.name));
  }
}

/**
 * Declares `exclusiveCreate` (as every memory plugin does), but its allocation and clone replace
 * a volume that holds the name (destroy it, then create), as a plugin that forces its create
 * (`-f`, remove-then-create) would.
 */
export class ReplacesTakenNames extends defineMemoryPlugin({ type: 'brokenexclusive' }) {
  override async allocImage(ctx: PluginContext<MemoryConfig>, request: AllocImageRequest): Promise<string> {
    await this.#clear(ctx, request.name);
    return super.allocImage(ctx, request);
  }

  override async cloneImage(ctx: PluginContext<MemoryConfig>, request: CloneImageRequest): Promise<string> {
    await this.#clear(ctx, request.name);
    return super.cloneImage(ctx, request);
  }

  async #clear(ctx: PluginContext<MemoryConfig>, name: string): Promise<void> {
    await ctx.run(destroyArgs(memoryPool(ctx), name)).catch(() => undefined);
  }
}
