/**
 * A small file-backed plugin for the manager's own tests (not the reference plugin of the kit).
 * Each volume is a sparse file `<path>/<name>`; metadata (parent, snapshots, protection) lives
 * in `<name>.meta.json`; a snapshot is a copy `<name>@<snap>`. Linked clones are named like ZFS
 * ones: `base-100-disk-0/vm-101-disk-0`. Streams: `raw+size`, and `test+snaps` (a JSON stream
 * that carries snapshots) to exercise negotiation. Only erasable TypeScript, so worker
 * processes can load it with Node's type stripping.
 */
import { constants } from 'node:fs';
import { copyFile, link, open, readdir, readFile, rename, rm, stat, statfs, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createReadStream, createWriteStream } from 'node:fs';
import { z } from 'zod';
import {
  API_VERSION,
  StorageError,
  type AttributeValue,
  type ImageInfo,
  type ParsedVolume,
  type PluginCapabilities,
  type SnapshotInfo,
  type StorageStatus,
  type VolumePath,
  type VolumeSizeInfo,
} from '@stowage/core';
import { readSizeHeader, encodeSizeHeader, StoragePlugin, type AllocImageRequest, type CloneImageRequest, type GetAttributeRequest, type ListImagesRequest, type PathRequest, type PluginContext, type RenameVolumeRequest, type SnapshotRequest, type SnapshotRollbackRequest, type UpdateAttributeRequest, type VolumeExportRequest, type VolumeImportRequest, type VolumeRequest, type VolumeResizeRequest } from '@stowage/core/plugin';
import { baseStorageConfigSchema, fixedOption } from '@stowage/core/config';

export const fileConfigSchema = baseStorageConfigSchema.extend({
  type: z.literal('testfile'),
  path: fixedOption(z.string().regex(/^\/[-/a-zA-Z0-9_.@]+$/)),
  comment: z.string().optional(),
});
export type FileConfig = z.infer<typeof fileConfigSchema> & { storage: string };

interface Meta {
  parent?: string;
  protected?: boolean;
  snapshots: { name: string; timestamp: number }[];
}

const NAME_RE = /^(?:(base-\d+-disk-\d+)\/)?((vm|base)-(\d+)-[A-Za-z0-9_.+-]+)$/;

export const fileCapabilities: PluginCapabilities = {
  content: ['images'],
  defaultContent: ['images'],
  formats: ['raw'],
  defaultFormat: 'raw',
  shared: false,
  features: {
    snapshot: { current: ['raw'], snap: ['raw'] },
    clone: { base: ['raw'] },
    template: { current: ['raw'] },
    copy: { base: ['raw'], current: ['raw'] },
    rename: { current: ['raw'] },
  },
  exportFormats: ['test+snaps' as never, 'raw+size'],
  importFormats: ['raw+size', 'test+snaps' as never],
  rollbackAnySnapshot: false,
  cloneFromSnapshot: false,
  attributes: ['protected'],
  shrink: false,
};

/** The test plugin. Set `FilePlugin.leakOnImportFailure` to make imports leave their half-made file behind. */
export class FilePlugin extends StoragePlugin<FileConfig> {
  static override readonly type = 'testfile';
  static override readonly apiVersion = API_VERSION;
  static override readonly configSchema = fileConfigSchema;
  static override readonly capabilities = fileCapabilities;

  /** Calls seen, for tests that check what the manager asked. */
  readonly calls: string[] = [];
  /** How many times the directory was actually read (listings served from a cache do not count). */
  loads = 0;
  /** Called at each actual read of the directory, for tests that check when listings happen. */
  onLoad: (() => void) | undefined;

  override parseVolname(volname: string): ParsedVolume {
    const m = NAME_RE.exec(volname);
    if (!m) throw new StorageError('INVALID_VOLUME_ID', `unable to parse volume name '${volname}'`, { details: { volname } });
    const baseName = m[1];
    const name = m[2] as string;
    return {
      volname,
      vtype: 'images',
      name,
      vmid: Number(m[4]),
      baseName,
      baseVmid: baseName ? Number(/^base-(\d+)-/.exec(baseName)?.[1]) : undefined,
      isBase: m[3] === 'base',
      format: 'raw',
    };
  }

  file(ctx: PluginContext<FileConfig>, name: string): string {
    return join(ctx.config.path, name);
  }

  async readMeta(ctx: PluginContext<FileConfig>, name: string): Promise<Meta> {
    try {
      return JSON.parse(await readFile(this.file(ctx, `${name}.meta.json`), 'utf8')) as Meta;
    } catch {
      return { snapshots: [] };
    }
  }

  async writeMeta(ctx: PluginContext<FileConfig>, name: string, meta: Meta): Promise<void> {
    await writeFile(this.file(ctx, `${name}.meta.json`), JSON.stringify(meta));
  }

  async mustExist(ctx: PluginContext<FileConfig>, name: string): Promise<void> {
    const ok = await stat(this.file(ctx, name)).then(
      () => true,
      () => false,
    );
    if (!ok) throw new StorageError('NOT_FOUND', `volume '${name}' does not exist`, { details: { name } });
  }

  override async listImages(ctx: PluginContext<FileConfig>, request: ListImagesRequest): Promise<ImageInfo[]> {
    this.calls.push('listImages');
    return ctx.cache.shared('list', async () => {
      this.loads++;
      this.onLoad?.();
      const out: ImageInfo[] = [];
      for (const entry of await readdir(ctx.config.path)) {
        if (!/^(vm|base)-\d+-[A-Za-z0-9_.+-]+$/.test(entry) || entry.includes('@') || entry.endsWith('.json')) continue;
        const meta = await this.readMeta(ctx, entry);
        const volname = meta.parent ? `${meta.parent}/${entry}` : entry;
        const parsed = this.parseVolname(volname);
        const st = await stat(this.file(ctx, entry));
        out.push({
          volid: `${ctx.storeId}:${volname}`,
          volname,
          format: 'raw',
          size: st.size,
          used: st.blocks * 512,
          vmid: parsed.vmid as number,
          isBase: parsed.isBase,
          parent: meta.parent ? `${ctx.storeId}:${meta.parent}` : undefined,
          ctime: Math.floor(st.ctimeMs / 1000),
        });
      }
      return out;
    }).then((all) => {
      if (request.volnames) return all.filter((i) => request.volnames?.includes(i.volname));
      return request.vmid === undefined ? all : all.filter((i) => i.vmid === request.vmid);
    });
  }

  override async allocImage(ctx: PluginContext<FileConfig>, request: AllocImageRequest): Promise<string> {
    this.calls.push(`allocImage ${request.name}`);
    try {
      const fh = await open(this.file(ctx, request.name), constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY);
      await fh.truncate(request.size);
      await fh.close();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
        throw new StorageError('ALREADY_EXISTS', `volume '${request.name}' already exists`, { details: { name: request.name } });
      }
      throw e;
    }
    return request.name;
  }

  override async freeImage(ctx: PluginContext<FileConfig>, request: VolumeRequest): Promise<void> {
    this.calls.push(`freeImage ${request.volume.volname}`);
    const name = request.volume.name;
    const meta = await this.readMeta(ctx, name);
    for (const s of meta.snapshots) await rm(this.file(ctx, `${name}@${s.name}`), { force: true });
    await rm(this.file(ctx, `${name}.meta.json`), { force: true });
    await rm(this.file(ctx, name), { force: true });
  }

  override async status(ctx: PluginContext<FileConfig>): Promise<StorageStatus> {
    const s = await statfs(ctx.config.path);
    const total = s.blocks * s.bsize;
    const available = s.bavail * s.bsize;
    return { total, available, used: total - s.bfree * s.bsize, active: true };
  }

  override async path(ctx: PluginContext<FileConfig>, request: PathRequest): Promise<VolumePath> {
    const name = request.snapshot ? `${request.volume.name}@${request.snapshot}` : request.volume.name;
    return { path: this.file(ctx, name), vmid: request.volume.vmid, vtype: 'images' };
  }

  override async createBase(ctx: PluginContext<FileConfig>, request: VolumeRequest): Promise<string> {
    const { name, vmid } = request.volume;
    await this.mustExist(ctx, name);
    const baseName = name.replace(/^vm-/, 'base-');
    const meta = await this.readMeta(ctx, name);
    await rename(this.file(ctx, name), this.file(ctx, baseName));
    await rm(this.file(ctx, `${name}.meta.json`), { force: true });
    await this.writeMeta(ctx, baseName, meta);
    void vmid;
    return baseName;
  }

  override async cloneImage(ctx: PluginContext<FileConfig>, request: CloneImageRequest): Promise<string> {
    this.calls.push(`cloneImage ${request.name}`);
    await this.mustExist(ctx, request.volume.name);
    await copyFile(this.file(ctx, request.volume.name), this.file(ctx, request.name), constants.COPYFILE_EXCL).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StorageError('ALREADY_EXISTS', `volume '${request.name}' already exists`, { details: { name: request.name } });
      throw e;
    });
    await this.writeMeta(ctx, request.name, { parent: request.volume.name, snapshots: [] });
    return `${request.volume.name}/${request.name}`;
  }

  override async volumeSizeInfo(ctx: PluginContext<FileConfig>, request: VolumeRequest): Promise<VolumeSizeInfo> {
    await this.mustExist(ctx, request.volume.name);
    const st = await stat(this.file(ctx, request.volume.name));
    const meta = await this.readMeta(ctx, request.volume.name);
    return { size: st.size, format: 'raw', used: st.blocks * 512, parent: meta.parent, ctime: Math.floor(st.ctimeMs / 1000) };
  }

  override async volumeResize(ctx: PluginContext<FileConfig>, request: VolumeResizeRequest): Promise<void> {
    await this.mustExist(ctx, request.volume.name);
    await truncate(this.file(ctx, request.volume.name), request.size);
  }

  override async volumeSnapshot(ctx: PluginContext<FileConfig>, request: SnapshotRequest): Promise<void> {
    const { name } = request.volume;
    await this.mustExist(ctx, name);
    const meta = await this.readMeta(ctx, name);
    if (meta.snapshots.some((s) => s.name === request.snapshot)) {
      throw new StorageError('ALREADY_EXISTS', `snapshot '${request.snapshot}' exists`, { details: { snapshot: request.snapshot } });
    }
    await copyFile(this.file(ctx, name), this.file(ctx, `${name}@${request.snapshot}`));
    meta.snapshots.push({ name: request.snapshot, timestamp: Math.floor(Date.now() / 1000) });
    await this.writeMeta(ctx, name, meta);
  }

  override async volumeSnapshotInfo(ctx: PluginContext<FileConfig>, request: VolumeRequest): Promise<SnapshotInfo[]> {
    const meta = await this.readMeta(ctx, request.volume.name);
    return meta.snapshots.map((s) => ({ name: s.name, id: undefined, timestamp: s.timestamp }));
  }

  override async volumeSnapshotRollback(ctx: PluginContext<FileConfig>, request: SnapshotRollbackRequest): Promise<void> {
    this.calls.push(`rollback ${request.snapshot} destroy=${String(request.destroyBlockers ?? false)}`);
    const { name } = request.volume;
    const meta = await this.readMeta(ctx, name);
    const i = meta.snapshots.findIndex((s) => s.name === request.snapshot);
    if (i < 0) throw new StorageError('NOT_FOUND', `no snapshot '${request.snapshot}'`);
    const newer = meta.snapshots.slice(i + 1);
    if (newer.length > 0 && !request.destroyBlockers) {
      throw new StorageError('SNAPSHOT_BLOCKERS', 'newer snapshots exist', { details: { blockers: newer.map((s) => s.name) } });
    }
    for (const s of newer) await rm(this.file(ctx, `${name}@${s.name}`), { force: true });
    await copyFile(this.file(ctx, `${name}@${request.snapshot}`), this.file(ctx, name));
    meta.snapshots = meta.snapshots.slice(0, i + 1);
    await this.writeMeta(ctx, name, meta);
  }

  override async volumeSnapshotDelete(ctx: PluginContext<FileConfig>, request: SnapshotRequest): Promise<void> {
    const { name } = request.volume;
    const meta = await this.readMeta(ctx, name);
    if (!meta.snapshots.some((s) => s.name === request.snapshot)) throw new StorageError('NOT_FOUND', `no snapshot '${request.snapshot}'`);
    await rm(this.file(ctx, `${name}@${request.snapshot}`), { force: true });
    meta.snapshots = meta.snapshots.filter((s) => s.name !== request.snapshot);
    await this.writeMeta(ctx, name, meta);
  }

  override async renameVolume(ctx: PluginContext<FileConfig>, request: RenameVolumeRequest): Promise<string> {
    const { name } = request.volume;
    await this.mustExist(ctx, name);
    const target = this.file(ctx, request.targetName);
    // link(2) refuses a taken name: nothing is replaced
    await link(this.file(ctx, name), target).catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StorageError('ALREADY_EXISTS', `'${request.targetName}' exists`);
      throw e;
    });
    await rm(this.file(ctx, name));
    await rename(this.file(ctx, `${name}.meta.json`), this.file(ctx, `${request.targetName}.meta.json`)).catch(() => undefined);
    return request.targetName;
  }

  override async getVolumeAttribute(ctx: PluginContext<FileConfig>, request: GetAttributeRequest): Promise<AttributeValue> {
    if (request.attribute !== 'protected') throw new StorageError('NOT_SUPPORTED', 'only protected');
    return (await this.readMeta(ctx, request.volume.name)).protected ?? false;
  }

  override async updateVolumeAttribute(ctx: PluginContext<FileConfig>, request: UpdateAttributeRequest): Promise<void> {
    if (request.attribute !== 'protected') throw new StorageError('NOT_SUPPORTED', 'only protected');
    await this.mustExist(ctx, request.volume.name);
    const meta = await this.readMeta(ctx, request.volume.name);
    meta.protected = request.value === true;
    await this.writeMeta(ctx, request.volume.name, meta);
  }

  override async volumeExport(ctx: PluginContext<FileConfig>, request: VolumeExportRequest): Promise<void> {
    const { name } = request.volume;
    await this.mustExist(ctx, name);
    const file = this.file(ctx, request.snapshot ? `${name}@${request.snapshot}` : name);
    if (request.format === 'raw+size') {
      const st = await stat(file);
      await writeAll(request.output, encodeSizeHeader(st.size));
      await pipeline(createReadStream(file), request.output, { end: false, signal: ctx.signal });
      return;
    }
    // test+snaps: a JSON document with the data and the snapshots, base64.
    const meta = await this.readMeta(ctx, name);
    const doc = {
      data: (await readFile(file)).toString('base64'),
      snapshots: await Promise.all(
        meta.snapshots.map(async (s) => ({ ...s, data: (await readFile(this.file(ctx, `${name}@${s.name}`))).toString('base64') })),
      ),
    };
    await writeAll(request.output, Buffer.from(JSON.stringify(doc)));
  }

  override async volumeImport(ctx: PluginContext<FileConfig>, request: VolumeImportRequest): Promise<string> {
    this.calls.push(`volumeImport ${request.volume.volname} ${request.format}`);
    let name = request.volume.name;
    const exists = async (n: string): Promise<boolean> => stat(this.file(ctx, n)).then(() => true, () => false);
    if (await exists(name)) {
      if (!request.allowRename) throw new StorageError('ALREADY_EXISTS', `volume '${name}' already exists`, { details: { name } });
      name = await this.findFreeDiskname(ctx, { vmid: request.volume.vmid as number });
    }
    const file = this.file(ctx, name);
    try {
      if (request.format === 'raw+size') {
        const size = await readSizeHeader(request.input, ctx.signal);
        await pipeline(request.input, createWriteStream(file, { flags: 'wx' }), { signal: ctx.signal });
        const got = (await stat(file)).size;
        if (got !== size) throw new StorageError('INVALID_ARGUMENT', `truncated stream: ${got} of ${size} bytes`, { details: { got, size } });
      } else {
        const chunks: Buffer[] = [];
        for await (const c of request.input) chunks.push(c as Buffer);
        const doc = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: string; snapshots: { name: string; timestamp: number; data: string }[] };
        await writeFile(file, Buffer.from(doc.data, 'base64'), { flag: 'wx' });
        for (const s of doc.snapshots) await writeFile(this.file(ctx, `${name}@${s.name}`), Buffer.from(s.data, 'base64'));
        await this.writeMeta(ctx, name, { snapshots: doc.snapshots.map((s) => ({ name: s.name, timestamp: s.timestamp })) });
      }
    } catch (e) {
      // a name taken meanwhile ('wx' refused it) is someone else's volume: never remove it
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new StorageError('ALREADY_EXISTS', `volume '${name}' already exists`, { details: { name } });
      if (!FilePlugin.leakOnImportFailure) await this.freeImage(ctx, { volume: this.parseVolname(name) });
      throw e;
    }
    return name;
  }

  /** When true, failed imports leave their file behind, so the manager's own cleanup is tested. */
  static leakOnImportFailure = false;

  override async activateStorage(ctx: PluginContext<FileConfig>): Promise<void> {
    this.calls.push('activateStorage');
    const ok = await stat(ctx.config.path).then((s) => s.isDirectory(), () => false);
    if (!ok) throw new StorageError('UNAVAILABLE', `directory '${ctx.config.path}' does not exist`, { details: { path: ctx.config.path } });
  }

  override async onAddHook(ctx: PluginContext<FileConfig>): Promise<void> {
    this.calls.push(`onAddHook ${ctx.storeId}`);
    if (ctx.config.comment === 'refuse') throw new StorageError('INVALID_ARGUMENT', 'refused by hook');
  }

  override async onUpdateHook(ctx: PluginContext<FileConfig>, previous: FileConfig): Promise<void> {
    this.calls.push(`onUpdateHook ${ctx.storeId} ${String(previous.comment)} -> ${String(ctx.config.comment)}`);
    if (ctx.config.comment === 'refuse') throw new StorageError('INVALID_ARGUMENT', 'refused by hook');
  }

  override async onDeleteHook(ctx: PluginContext<FileConfig>): Promise<void> {
    this.calls.push(`onDeleteHook ${ctx.storeId}`);
  }
}

function writeAll(out: NodeJS.WritableStream, chunk: Buffer): Promise<void> {
  return new Promise((resolve, reject) => {
    out.write(chunk, (e) => (e ? reject(e) : resolve()));
  });
}

/**
 * FilePlugin declaring `exclusiveCreate`, which it honours: allocations (`O_EXCL`), clones
 * (`COPYFILE_EXCL`), renames (`link`) and imports (`wx`) refuse a taken name, and its
 * `findFreeDiskname` (the base class's) counts `request.taken`.
 */
export class ExclusiveFilePlugin extends FilePlugin {
  static override readonly type = 'testfilex';
  static override readonly configSchema = fileConfigSchema.extend({ type: z.literal('testfilex') });
  static override readonly capabilities: PluginCapabilities = { ...fileCapabilities, exclusiveCreate: true };
}
