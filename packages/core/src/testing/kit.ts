/**
 * The kit's run-time state: the storage under test, the manager it opened on it, the guest ids
 * it uses, and the clean-up that removes everything a case made, even when the case failed.
 *
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PluginCapabilities, StreamFormat, VolumeFormat } from '../capabilities.js';
import { FaultInjectingRunner } from '../command/fault-runner.js';
import { LocalRunner } from '../command/local-runner.js';
import { isStorageError } from '../errors.js';
import type { ImageInfo, Logger, ParsedVolume } from '../plugin-types.js';
import { StorageManager } from '../storage-manager.js';
import type { StorageManagerOptions } from '../manager/options.js';
import type { ChangeFeed } from '../cluster.js';
import type { StoragePlugin, StoragePluginClass } from '../storage-plugin.js';
import { SIZE_HEADER_BYTES } from '../transfer.js';
import { formatDiskName, formatVolumeId, parseDiskName, parseVolumeId } from '../volume-id.js';
import { byteSink, rawSizeStream } from './bytes.js';
import { effectiveCapabilities, type KitCapabilities } from './gates.js';
import type { KitFaultInjector, KitFillRequest, KitTarget, StoragePluginSuiteOptions } from './options.js';

/** The default {@link KitTarget.sizeUnit}: 4 MiB. */
export const DEFAULT_SIZE_UNIT = 4 * 1024 * 1024;

/** The default {@link KitTarget.vmidRange}. */
export const DEFAULT_VMID_RANGE: readonly [number, number] = [700_000_000, 999_999_999];

/** How many guest ids one run may use. */
const VMIDS_PER_RUN = 100_000;

/**
 * Options of {@link StorageKit.alloc}.
 *
 * @example
 * ```ts
 * const volid = await kit.alloc({ format: 'qcow2', units: 2 }); // a fresh guest, 2 size units
 * ```
 */
export interface KitAllocOptions {
  /** The owner; a fresh guest id by default. */
  readonly vmid?: number;
  /** Size in units of {@link StorageKit.unit}; 1 by default. */
  readonly units?: number;
  /** Image format; the tested default by default. */
  readonly format?: VolumeFormat;
  /** Disk name. */
  readonly name?: string;
}

/**
 * One write of {@link StorageKit.fill}: `length` bytes of value `byte` at `offset`.
 *
 * @example
 * ```ts
 * await kit.fill(volid, [{ offset: 0, length: 65536, byte: 0xa1 }]);
 * ```
 */
export type KitFill = Pick<KitFillRequest, 'offset' | 'length' | 'byte'>;

const quiet: Logger = { debug() {}, info() {}, warn() {} };

/**
 * A change feed within this process, for the kit's managers: what one writes, the others hear at
 * once (as a cluster's nodes do), so that each one's cached listings follow the others' writes.
 */
function processFeed(): ChangeFeed {
  const listeners = new Set<(storeId: string) => void>();
  return {
    publish: async (storeId) => {
      for (const listener of listeners) listener(storeId);
    },
    subscribe: (onChange) => {
      listeners.add(onChange);
      return () => listeners.delete(onChange);
    },
  };
}

/**
 * One storage under test, shared by the cases of a suite. Made by {@link useStorageKit}; the
 * group functions take it and reach the manager through it once the suite has started.
 */
export class StorageKit {
  /** The suite's options. */
  readonly options: StoragePluginSuiteOptions;
  /** The plugin class under test. */
  readonly pluginClass: StoragePluginClass;
  /** What the plugin declares. */
  readonly declared: PluginCapabilities;
  /** What the kit tests: the declared capabilities narrowed by `features`. */
  readonly caps: KitCapabilities;
  /** An instance of the plugin, for its pure methods (`parseVolname`). */
  readonly plugin: StoragePlugin;
  #manager: StorageManager | undefined;
  #impatient: StorageManager | undefined;
  #managerOptions: StorageManagerOptions | undefined;
  #faulty: FaultInjectingRunner | undefined;
  #target: KitTarget | undefined;
  #tmp: string | undefined;
  #firstVmid = 0;
  #nextVmid = 0;
  #caseVmids = new Set<number>();

  /**
   * @param options - the suite's options
   * @throws TypeError when `features` widens the capabilities
   */
  constructor(options: StoragePluginSuiteOptions) {
    this.options = options;
    this.pluginClass = options.plugin;
    this.declared = options.plugin.capabilities;
    this.caps = effectiveCapabilities(this.declared, options.features);
    this.plugin = new options.plugin();
  }

  /** The manager the kit opened on the storage (its runner is {@link StorageKit.faulty}). */
  get manager(): StorageManager {
    if (!this.#manager) throw new Error('the storage kit has not started: call it from inside a test');
    return this.#manager;
  }

  /**
   * A second manager on the same storage and lock directories that waits only 2 s for a lock:
   * for cases that expect a call to be refused while another operation holds the lock.
   */
  get impatient(): StorageManager {
    if (!this.#impatient) throw new Error('the storage kit has not started: call it from inside a test');
    return this.#impatient;
  }

  /** The fault-injecting runner every command and every call of `ctx.fs` goes through; it fails nothing unless told to. */
  get faulty(): FaultInjectingRunner {
    if (!this.#faulty) throw new Error('the storage kit has not started');
    return this.#faulty;
  }

  /** What the fault cases fail steps with: `setup`'s {@link KitTarget.faults}, else {@link StorageKit.faulty}. */
  get injector(): KitFaultInjector {
    return this.#targetOrThrow().faults ?? this.faulty;
  }

  /** What `setup` returned. */
  get target(): KitTarget {
    return this.#targetOrThrow();
  }

  /** The storage id under test. */
  get storeId(): string {
    return String(this.#targetOrThrow().config['storage']);
  }

  /** The lock directory of the kit's manager (children of the crash cases use it too). */
  get lockDir(): string {
    return join(this.#tmpOrThrow(), 'locks');
  }

  /** The shared lock directory of the kit's manager. */
  get sharedLockDir(): string {
    return join(this.#tmpOrThrow(), 'shared-locks');
  }

  /** The node name of the kit's manager: this host's short name. */
  get node(): string {
    return hostname().split('.')[0] || 'localhost';
  }

  /** A private temporary directory of this run, removed when the suite ends. */
  get tmp(): string {
    return this.#tmpOrThrow();
  }

  /** The size step, in bytes. */
  get unit(): number {
    return this.#targetOrThrow().sizeUnit ?? DEFAULT_SIZE_UNIT;
  }

  /** Calls `setup` and opens the manager. Run once before the suite's cases. */
  async start(): Promise<void> {
    const target = await this.options.setup();
    this.#target = target;
    const [min, max] = target.vmidRange ?? DEFAULT_VMID_RANGE;
    const span = Math.max(1, max - min + 1 - VMIDS_PER_RUN);
    this.#firstVmid = min + Math.floor(Math.random() * span);
    this.#nextVmid = this.#firstVmid;
    this.#tmp = await mkdtemp(join(tmpdir(), 'stowage-kit-'));
    // The lock code wants a shared lock directory to exist (it stands for a cluster filesystem).
    await mkdir(join(this.#tmp, 'shared-locks'));
    this.#faulty = new FaultInjectingRunner(target.runner ?? new LocalRunner(), { fs: true });
    const options = {
      plugins: [this.pluginClass],
      config: [target.config],
      runner: this.#faulty,
      lockDir: this.lockDir,
      sharedLockDir: this.sharedLockDir,
      node: this.node,
      log: quiet,
      // a crash case's child may die holding the lock: its lock file goes stale after 10 s
      lockTimeoutMs: 30_000,
      // every operation first removes what dead operations left, so the crash cases can check it
      gcIntervalMs: 0,
      // the managers the kit opens hear each other's writes
      changes: processFeed(),
    };
    this.#managerOptions = options;
    this.#manager = await StorageManager.open(options);
    this.#impatient = await StorageManager.open({ ...options, lockTimeoutMs: 2000 });
  }

  /**
   * Opens one more manager on the storage, with the kit's runner, lock directories, node and
   * change feed (it hears the other managers' writes, and they hear its), and the options given: for cases that need a manager configured otherwise (one that collects
   * garbage only once a minute, as one in service does, so that its cached listing goes stale
   * between calls). The caller closes it.
   *
   * @param options - what differs from the kit's manager
   * @returns the manager
   */
  openManager(options: Partial<Pick<StorageManagerOptions, 'gcIntervalMs' | 'cacheTtlMs' | 'lockTimeoutMs'>>): Promise<StorageManager> {
    if (!this.#managerOptions) throw new Error('the storage kit has not started');
    return StorageManager.open({ ...this.#managerOptions, ...options });
  }

  /** Removes what is left of this run, closes the manager and calls `teardown`. Run once after the suite. */
  async stop(): Promise<void> {
    try {
      if (this.#manager) await this.sweep(() => true);
    } finally {
      await this.#manager?.close();
      await this.#impatient?.close();
      if (this.#tmp) await rm(this.#tmp, { recursive: true, force: true });
      await this.options.teardown?.();
    }
  }

  /** A guest id no other case of this run (or of another run, most likely) uses. */
  newVmid(): number {
    const vmid = this.#nextVmid++;
    this.#caseVmids.add(vmid);
    return vmid;
  }

  /** Tells whether a guest id belongs to this run. */
  ownsVmid(vmid: number | undefined): boolean {
    return vmid !== undefined && vmid >= this.#firstVmid && vmid < this.#nextVmid;
  }

  /**
   * Frees everything the current case made (its guests' images), clones before bases, and
   * un-protects what is protected. Run after each case.
   *
   * @throws Error naming what could not be freed
   */
  async cleanupCase(): Promise<void> {
    if (!this.#manager) return;
    const vmids = new Set(this.#caseVmids);
    this.#caseVmids.clear();
    this.faulty.failAt = 0;
    this.injector.failAt = 0;
    await this.sweep((i) => vmids.has(i.vmid));
  }

  /**
   * Frees the images a predicate picks, in rounds (a base is freed once its clones are gone).
   *
   * @param pick - which images to free
   * @throws Error naming what could not be freed
   */
  async sweep(pick: (image: ImageInfo) => boolean): Promise<void> {
    const problems = new Map<string, string>();
    for (let round = 0; round < 6; round++) {
      const left = (await this.manager.listImages(this.storeId, { includeHidden: true })).filter((i) => this.ownsVmid(i.vmid) && pick(i));
      if (left.length === 0) return;
      const order = (i: ImageInfo): number => (i.isBase ? 2 : i.parent !== undefined ? 0 : 1);
      for (const image of [...left].sort((a, b) => order(a) - order(b))) {
        try {
          await this.#free(image.volid);
          problems.delete(image.volid);
        } catch (e) {
          problems.set(image.volid, isStorageError(e) ? `${e.code}: ${e.message}` : String(e));
        }
      }
    }
    const left = (await this.manager.listImages(this.storeId, { includeHidden: true })).filter((i) => this.ownsVmid(i.vmid) && pick(i));
    if (left.length > 0) {
      const why = left.map((i) => `${i.volid} (${problems.get(i.volid) ?? 'freed without error but still listed'})`);
      throw new Error(`the kit could not clean up after the case: ${why.join('; ')}`);
    }
  }

  async #free(volid: string): Promise<void> {
    try {
      await this.manager.freeImage(volid);
    } catch (e) {
      if (!isStorageError(e, 'PROTECTED')) throw e;
      await this.manager.updateVolumeAttribute(volid, 'protected', false);
      await this.manager.freeImage(volid);
    }
  }

  /** This run's images on the storage, hidden templates included, for before/after comparisons. */
  async images(): Promise<ImageInfo[]> {
    return (await this.manager.listImages(this.storeId, { includeHidden: true })).filter((i) => this.ownsVmid(i.vmid));
  }

  /** A short, comparable form of {@link StorageKit.images}: `volid size base? hidden? parent`. */
  async imageSummary(): Promise<string[]> {
    return (await this.images()).map((i) => `${i.volid} ${i.size}${i.isBase ? ' base' : ''}${i.hidden === true ? ' hidden' : ''}${i.parent ? ` <- ${i.parent}` : ''}`);
  }

  /**
   * Allocates an image for the current case.
   *
   * @param options - owner, size in units, format, name
   * @returns the new volid
   */
  async alloc(options: KitAllocOptions = {}): Promise<string> {
    const vmid = options.vmid ?? this.newVmid();
    return this.manager.allocImage(this.storeId, {
      vmid,
      size: (options.units ?? 1) * this.unit,
      format: options.format ?? this.caps.defaultFormat,
      name: options.name,
    });
  }

  /** Parses a volid of the storage with the plugin. */
  parse(volid: string): ParsedVolume {
    return this.plugin.parseVolname(parseVolumeId(volid).volname);
  }

  /**
   * A volid at which nothing exists yet, in the plugin's naming: the name an allocation gets,
   * freed again.
   *
   * @param vmid - the owner
   * @param format - the image format
   */
  async vacantVolid(vmid: number, format: VolumeFormat): Promise<string> {
    const volid = await this.alloc({ vmid, format });
    await this.manager.freeImage(volid);
    return volid;
  }

  /**
   * A volid of a fresh guest that was never allocated, named like `like` (the plugin's
   * `imageVolname` of the same disk name for another guest); a {@link StorageKit.vacantVolid}
   * when the plugin cannot name it that way.
   *
   * @param like - a volid of the storage to take the naming from
   */
  async neverMadeVolid(like: string): Promise<string> {
    const vmid = this.newVmid();
    const d = parseDiskName(this.parse(like).name);
    try {
      return formatVolumeId(this.storeId, this.plugin.imageVolname({ vmid, name: formatDiskName({ vmid, index: 0, ext: d?.ext }) }));
    } catch {
      return this.vacantVolid(vmid, this.caps.defaultFormat);
    }
  }

  /**
   * Imports bytes in `raw+size` into a new volume.
   *
   * @param volid - the target (see {@link StorageKit.vacantVolid})
   * @param data - the bytes
   * @param options - allow a rename when the name is taken
   * @returns the volid written
   */
  importBytes(volid: string, data: Buffer, options: { allowRename?: boolean } = {}): Promise<string> {
    return this.manager.volumeImport(volid, { format: 'raw+size', input: rawSizeStream(data), allowRename: options.allowRename });
  }

  /**
   * Exports a volume (or snapshot) in a stream format and returns the whole stream.
   *
   * @param volid - the volume
   * @param options - format (default `raw+size`), snapshot
   */
  async exportBytes(volid: string, options: { format?: StreamFormat; snapshot?: string } = {}): Promise<Buffer> {
    const sink = byteSink();
    await this.manager.volumeExport(volid, { format: options.format ?? 'raw+size', output: sink.stream, snapshot: options.snapshot });
    return sink.bytes();
  }

  /**
   * Writes into a volume through `setup`'s {@link KitTarget.volumeData}, as a guest would:
   * activates the volume, asks for its path, writes each fill in turn, deactivates it.
   *
   * @param volid - the volume
   * @param fills - what to write, in order
   * @throws Error when `setup` returned no `volumeData` or the volume is not listed; the hook's
   *   and the manager's errors
   */
  async fill(volid: string, fills: readonly KitFill[]): Promise<void> {
    const data = this.#targetOrThrow().volumeData;
    if (!data) throw new Error('setup returned no volumeData: the kit cannot write into volumes');
    const [image] = await this.manager.listImages(this.storeId, { volids: [volid] });
    if (!image || image.format === 'invalid') throw new Error(`cannot write into ${volid}: it is ${image ? 'listed with format invalid' : 'not listed'}`);
    await this.manager.activateVolume(volid);
    try {
      const { path } = await this.manager.path(volid);
      for (const f of fills) await data.fill({ volid, path, format: image.format, offset: f.offset, length: f.length, byte: f.byte });
    } catch (e) {
      await this.manager.deactivateVolume(volid).catch(() => undefined);
      throw e;
    }
    await this.manager.deactivateVolume(volid);
  }

  /**
   * The guest-visible bytes of a volume (or snapshot): its `raw+size` export without the header,
   * after checking that the header announces exactly the bytes that follow.
   *
   * @param volid - the volume
   * @param options - a snapshot's bytes instead
   * @throws Error when the header and the payload disagree; the manager's errors
   */
  async volumeBytes(volid: string, options: { snapshot?: string } = {}): Promise<Buffer> {
    const stream = await this.exportBytes(volid, { format: 'raw+size', snapshot: options.snapshot });
    const announced = stream.length >= SIZE_HEADER_BYTES ? Number(stream.readBigUInt64LE(0)) : -1;
    if (announced !== stream.length - SIZE_HEADER_BYTES) {
      throw new Error(`raw+size export of ${volid}: the header announces ${announced} bytes, ${stream.length - SIZE_HEADER_BYTES} follow`);
    }
    return stream.subarray(SIZE_HEADER_BYTES);
  }

  #tmpOrThrow(): string {
    if (!this.#tmp) throw new Error('the storage kit has not started: call it from inside a test');
    return this.#tmp;
  }

  #targetOrThrow(): KitTarget {
    if (!this.#target) throw new Error('the storage kit has not started: call it from inside a test');
    return this.#target;
  }
}
