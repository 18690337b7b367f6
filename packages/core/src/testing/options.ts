/**
 * Options of the conformance kit.
 *
 * @module
 */
import type { FeatureMatrix, StreamFormat, VolumeAttribute, VolumeFormat } from '../capabilities.js';
import type { CommandRunner } from '../command/runner.js';
import type { StoragePluginClass } from '../storage-plugin.js';

/**
 * One write of {@link KitVolumeData.fill}: `length` bytes of value `byte` at `offset` of a volume,
 * the way a guest would write its disk.
 *
 * @example
 * ```ts
 * const request: KitFillRequest = { volid: 'kit:vm-700000000-disk-0', path: '/dev/zvol/tank/kit/vm-700000000-disk-0', format: 'raw', offset: 524288, length: 65536, byte: 0xa2 };
 * ```
 */
export interface KitFillRequest {
  /** The volume written, for messages. */
  readonly volid: string;
  /** Where it is, as the manager's `path(volid)` gives it (the volume is activated first). */
  readonly path: string;
  /** The image format, as listed (`qcow2` for a file that needs `qemu-io -f qcow2`). */
  readonly format: VolumeFormat;
  /** The first byte written, counted from the start of the guest-visible disk. */
  readonly offset: number;
  /** How many bytes are written. */
  readonly length: number;
  /** The value of every byte written, 0 to 255. */
  readonly byte: number;
}

/**
 * How the kit writes into an existing volume, which the contract itself cannot do: with it the
 * kit checks data, not only listings (a rollback brings back the snapshot's bytes, a linked
 * clone shows its base's, a grown volume keeps its own). Write through the same path a guest
 * would use, outside the plugin. The kit activates the volume before and deactivates it after
 * its writes; without this hook, the data cases are skipped.
 *
 * @example
 * ```ts
 * // block devices or raw files in the test VM, over the suite's runner:
 * setup: () => ({ config, runner, volumeData: ddVolumeData(runner) }),
 * // qcow2, raw or vmdk files here, with the real qemu-io:
 * setup: () => ({
 *   config,
 *   volumeData: {
 *     fill: async ({ path, format, offset, length, byte }) => {
 *       await new LocalRunner().run(['qemu-io', '-f', format, '-c', `write -P ${byte} ${offset} ${length}`, path]);
 *     },
 *   },
 * }),
 * ```
 */
export interface KitVolumeData {
  /**
   * Writes `request.length` bytes of `request.byte` at `request.offset` into the volume at
   * `request.path`, durably (flushed before it resolves: the kit may snapshot right after).
   *
   * @param request - where and what to write
   * @throws anything when the write fails; the case fails with it
   */
  fill(request: KitFillRequest): Promise<void>;
}

/**
 * Fails the k-th step of whatever a plugin does to reach its storage. The kit's own
 * `FaultInjectingRunner` is one (for plugins that run commands or change files through
 * `ctx.fs`); a plugin that talks to its storage otherwise (a REST API, a library) supplies its
 * own through {@link KitTarget.faults} so that the fault cases can break its steps too.
 *
 * @example
 * ```ts
 * setup: async () => {
 *   const cluster = await startStandIn();
 *   return { config: cluster.config({ storage: 'kit' }), faults: cluster.faults }; // faults.failAt = k fails the k-th HTTP request
 * },
 * ```
 */
export interface KitFaultInjector {
  /** The 1-based index of the step to fail from the last {@link KitFaultInjector.reset}; `0` fails none. */
  failAt: number | ((step: readonly string[], index: number) => boolean);
  /** Steps taken since the last reset, including failed ones. */
  readonly count: number;
  /** Starts counting from 1 again. */
  reset(): void;
  /** The steps taken since the last reset (an argv, or a request line), for failure messages. */
  readonly commands?: readonly (readonly string[])[];
}

/**
 * How the kit starts an operation in a separate Node process that it can SIGKILL, to check what
 * a crash leaves: the child imports the plugin (and, when given, a runner class) by module
 * specifier, opens its own manager on the same storage with the same lock directories, and runs
 * the operation. Without it, the crash cases are skipped.
 *
 * @example
 * ```ts
 * // a plugin published as a package, run on this machine:
 * child: { pluginModule: '@acme/stowage-plugin-xfs', pluginExport: 'XfsReflinkPlugin' },
 * // a plugin reached over ssh (the runner's options must be plain JSON):
 * child: {
 *   pluginModule: '@stowage/plugin-zfs',
 *   pluginExport: 'ZfsPoolPlugin',
 *   runner: { module: '@stowage/core/plugin', export: 'SshRunner', options: { host: '127.0.0.1', port: 2222, user: 'root' } },
 * },
 * ```
 */
export interface KitChildProcess {
  /** A module specifier (resolvable from the kit's own package) or an absolute `file:` URL that exports the plugin class. */
  readonly pluginModule: string;
  /** The name of the plugin class's export in {@link KitChildProcess.pluginModule}. */
  readonly pluginExport: string;
  /**
   * The runner class the child uses (constructed with `options`); a `LocalRunner` when omitted.
   */
  readonly runner?: { readonly module: string; readonly export: string; readonly options?: unknown };
  /**
   * The specifier the child imports the `StorageManager` from: the same copy of `@stowage/core`
   * the plugin module uses.
   * @default '@stowage/core'
   */
  readonly coreModule?: string;
}

/** A kind of hostile file the kit asks {@link KitHostileFiles.place} to put into the storage. */
export type HostileKind =
  | 'backing-outside'
  | 'backing-protocol'
  | 'data-file-outside'
  | 'extent-outside'
  | 'fifo'
  | 'symlink-outside'
  | 'symlink-to-fifo';

/**
 * Puts hostile files into a file-based storage, the way an attacker with write access to the
 * storage directory (or a careless copy) would, so that the kit can check that no verb reads or
 * writes outside the storage and none blocks. Without it, the hostile-file cases are skipped.
 */
export interface KitHostileFiles {
  /**
   * Places one hostile file as a new disk of guest `vmid`:
   * - `backing-outside`: an image whose backing file is `outside` (absolute, and as a `../` path);
   * - `backing-protocol`: an image whose backing file name uses a protocol prefix (`file:` + `outside`);
   * - `data-file-outside`: an image whose external data file is `outside`;
   * - `extent-outside`: a descriptor image whose data extent is `outside`;
   * - `fifo`: a named pipe named like an image;
   * - `symlink-outside`: a symbolic link named like an image that points to `outside`;
   * - `symlink-to-fifo`: a symbolic link named like an image that points to a named pipe.
   *
   * @param request - the kind, the guest, and a file outside the storage holding secret bytes
   * @returns the volid the file stands at, or `undefined` when the kind does not apply to this storage
   */
  place(request: { readonly kind: HostileKind; readonly vmid: number; readonly outside: string }): Promise<string | undefined>;
}

/** The storage the kit works on, as returned by {@link StoragePluginSuiteOptions.setup}. *
 * @example
 * ```ts
 * const runner = new SshRunner({ host: '127.0.0.1', port: 2222, user: 'root' });
 * const target: KitTarget = {
 *   config: { type: 'zfspool', storage: 'kit', pool: 'tank/kit' },
 *   runner,
 *   sizeUnit: 4 * 1024 * 1024,
 *   volumeData: ddVolumeData(runner), // writes into the zvols with dd, for the data cases
 * };
 * ```
 */
export interface KitTarget {
  /**
   * The storage's config as a plain object: `type` (the plugin's), `storage` (an id of your
   * choice) and the plugin's options. The kit opens its own manager with it.
   */
  readonly config: Readonly<Record<string, unknown>>;
  /**
   * Runs the plugin's commands (an `SshRunner` for a test VM, a `MemoryRunner` for the memory
   * plugin). The kit wraps it in a `FaultInjectingRunner` for the fault cases.
   * @default new LocalRunner()
   */
  readonly runner?: CommandRunner;
  /**
   * The fault injector of a plugin that does not reach its storage through the runner (for
   * example an HTTP client's); the fault cases then fail its steps instead of commands.
   * @default the kit's `FaultInjectingRunner` around {@link KitTarget.runner}
   */
  readonly faults?: KitFaultInjector;
  /**
   * The smallest size step the storage allocates exactly, in bytes (an LVM extent, a ZFS
   * volblocksize multiple, ...). Every size the kit asks for is a small multiple of it (1 to 3
   * units), and reported sizes must match exactly. Keep it small so that real storage stays fast.
   * @default 4194304 (4 MiB)
   */
  readonly sizeUnit?: number;
  /**
   * The range of guest ids the kit may pick from, `[min, max]`; each run takes a random block in
   * it so that parallel or left-over runs do not clash.
   * @default [700000000, 999999999]
   */
  readonly vmidRange?: readonly [number, number];
  /**
   * Writes into existing volumes, so that the kit can check what rollback, clones and resize do
   * to the data. The data cases are skipped without it.
   */
  readonly volumeData?: KitVolumeData;
  /** Runs operations in a child process for the crash cases; they are skipped without it. */
  readonly child?: KitChildProcess;
  /** Puts hostile files into the storage for the confinement cases; they are skipped without it. */
  readonly hostile?: KitHostileFiles;
}

/**
 * Narrows what the kit tests below what the plugin's static capabilities declare, for example
 * when a test storage lacks something the plugin could do elsewhere. It can only take away: a
 * value that grants more than the capabilities is refused with a `TypeError`. Groups are gated
 * on the capabilities narrowed by these; refusal checks (such as `CANNOT_SHRINK`) follow the
 * plugin's own capabilities.
 *
 * @example
 * ```ts
 * // the test pool has no room for snapshots: test everything else
 * const features: KitFeatures = { features: { clone: { base: ['raw'] }, template: { current: ['raw'] } }, faults: false };
 * ```
 */
export interface KitFeatures {
  /** Test only these image formats (a subset of `capabilities.formats`). */
  readonly formats?: readonly VolumeFormat[];
  /** Test only these entries of the feature matrix (a subset of `capabilities.features`). */
  readonly features?: FeatureMatrix;
  /** Test only these attributes (a subset of `capabilities.attributes`). */
  readonly attributes?: readonly VolumeAttribute[];
  /** Test only these export formats (a subset of `capabilities.exportFormats`). */
  readonly exportFormats?: readonly StreamFormat[];
  /** Test only these import formats (a subset of `capabilities.importFormats`). */
  readonly importFormats?: readonly StreamFormat[];
  /** `false`: do not test rollback to older snapshots even though the plugin declares it. */
  readonly rollbackAnySnapshot?: boolean;
  /** `false`: do not test cloning from snapshots even though the plugin declares it. */
  readonly cloneFromSnapshot?: boolean;
  /** `false`: do not test shrinking even though the plugin declares it. */
  readonly shrink?: boolean;
  /** `false`: skip the resize group (the contract has no capability flag for growing). */
  readonly resize?: boolean;
  /** `false`: skip the fault-injection group (for example on a storage too slow for it). */
  readonly faults?: boolean;
}

/**
 * Options of {@link describeStoragePlugin}.
 *
 * @example
 * ```ts
 * describeStoragePlugin({
 *   name: 'dir',
 *   plugin: DirPlugin,
 *   setup: async () => ({ config: { type: 'dir', storage: 'kit', path: await mkdtemp(join(tmpdir(), 'kit-')) } }),
 * });
 * ```
 */
export interface StoragePluginSuiteOptions {
  /** A name for the suite's title, e.g. `dir` or `zfspool on the testbed`. */
  readonly name: string;
  /** The plugin class under test. */
  readonly plugin: StoragePluginClass;
  /** Prepares a storage (once, before the suite's first test) and says how to reach it. */
  readonly setup: () => KitTarget | Promise<KitTarget>;
  /** Releases what `setup` made (once, after the suite's last test and the kit's own clean-up). */
  readonly teardown?: () => void | Promise<void>;
  /** Narrows what is tested below the plugin's capabilities. */
  readonly features?: KitFeatures;
  /**
   * The time limit of each case (and of `setup`, `teardown` and each case's clean-up), in
   * milliseconds; raise it for slow storage.
   * @default 60000
   */
  readonly timeoutMs?: number;
}
