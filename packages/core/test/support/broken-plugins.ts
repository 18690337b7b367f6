/**
 * Deliberately broken variants of the memory plugin, each with one fault a real plugin could
 * have. The conformance kit must fail on every one of them (test/kit-catches-broken.test.ts).
 */
import { once } from 'node:events';
import { Transform } from 'node:stream';
import type { PluginCapabilities } from '../../src/capabilities.js';
import { StorageError } from '../../src/errors.js';
import type {
  AllocImageRequest,
  AttributeValue,
  FlattenImageRequest,
  GetAttributeRequest,
  ImageInfo,
  ListImagesRequest,
  SnapshotFlattenRequest,
  UpdateAttributeRequest,
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
import { cloneArgs, copyArgs, createArgs, destroyArgs, detachArgs, renameArgs, resizeArgs, setArgs } from '../../src/testing/memory/commands.js';
import { memoryPool, type MemoryConfig } from '../../src/testing/memory/config.js';
import { memoryCapabilities } from '../../src/testing/memory/capabilities.js';
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

/**
 * Declares `cloneRefusesHidden`, so the manager does not read the template's `hidden` attribute
 * before a clone, but its clone (the memory store's) does not look at it: a hidden template is
 * cloned.
 */
export class ClonesHiddenTemplates extends defineMemoryPlugin({ type: 'brokenhiddenclone' }) {
  static override readonly capabilities: PluginCapabilities = { ...memoryCapabilities(), cloneRefusesHidden: true };
}

/** Flattens to a snapshot by deleting every snapshot: the volume keeps its current data. */
export class FlattenKeepsCurrent extends defineMemoryPlugin({ type: 'brokenflatsnap' }) {
  override async volumeSnapshotFlatten(ctx: PluginContext<MemoryConfig>, request: SnapshotFlattenRequest): Promise<void> {
    const r = await this.find(ctx, request.volume);
    for (const s of await this.snapshots(ctx, request.volume)) await ctx.run(destroyArgs(memoryPool(ctx), r.name, s.name));
  }
}

/** Flattens a clone by copying it beside itself, destroying it and renaming the copy, and undoes nothing when a step fails. */
export class FlattenHalfway extends defineMemoryPlugin({ type: 'brokenflatclone' }) {
  override async flattenImage(ctx: PluginContext<MemoryConfig>, request: FlattenImageRequest): Promise<string> {
    const r = await this.find(ctx, request.volume);
    const pool = memoryPool(ctx);
    await ctx.run(copyArgs(pool, r.name, undefined, `${r.name}-flat`));
    await ctx.run(destroyArgs(pool, r.name));
    await ctx.run(renameArgs(pool, `${r.name}-flat`, r.name));
    await ctx.run(detachArgs(pool, r.name));
    ctx.cache.invalidate();
    return r.name;
  }
}

/** Keeps `hidden` in the plugin instance, not on the storage: a restarted manager forgets it. */
export class HiddenInMemory extends defineMemoryPlugin({ type: 'brokenhidden' }) {
  readonly #hidden = new Set<string>();

  override async listImages(ctx: PluginContext<MemoryConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return (await super.listImages(ctx, request)).map((i) => (this.#hidden.has(i.volname) ? { ...i, hidden: true } : i));
  }

  override async getVolumeAttribute(ctx: PluginContext<MemoryConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    if (request.attribute !== 'hidden') return super.getVolumeAttribute(ctx, request);
    await this.find(ctx, request.volume);
    return this.#hidden.has(request.volume.volname);
  }

  override async updateVolumeAttribute(ctx: PluginContext<MemoryConfig>, request: UpdateAttributeRequest): Promise<void> {
    if (request.attribute !== 'hidden') return super.updateVolumeAttribute(ctx, request);
    await this.find(ctx, request.volume);
    if (request.value === true) this.#hidden.add(request.volume.volname);
    else this.#hidden.delete(request.volume.volname);
  }
}

/** Leaves hidden templates out of its own listing, so nothing finds them to free. */
export class ListsNoHidden extends defineMemoryPlugin({ type: 'brokenprune' }) {
  override async listImages(ctx: PluginContext<MemoryConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    return (await super.listImages(ctx, request)).filter((i) => i.hidden !== true);
  }
}
