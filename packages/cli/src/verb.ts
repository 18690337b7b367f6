/**
 * The shape of a verb: its name, help, arguments, and what it runs.
 *
 * @module
 */
import type { Readable, Writable } from 'node:stream';
import type { EtcdCluster } from '@stowage/cluster-etcd';
import type { StorageManager } from '@stowage/core';
import type { OptionSpec, VerbArgs } from './args.js';
import type { ConfigLocation } from './config-path.js';
import type { VerbOutput } from './output.js';
import type { LoadedPlugins } from './plugin-loader.js';
import type { BarStream, ProgressBar } from './progress.js';

/** The process's streams and surroundings, injectable for tests. */
export interface CliIO {
  /** Standard input (the data of `import ... -`). */
  readonly stdin: Readable;
  /**
   * The descriptor behind {@link CliIO.stdin} when it is the process's standard input and has not
   * been read (0): an import from standard input then reads it in blocks (see the core's
   * `descriptorInput`). Leave it out for any other stream.
   */
  readonly stdinFd?: number | undefined;
  /** Standard output. */
  readonly stdout: Writable;
  /** Standard error; progress bars are drawn here when it is a terminal. */
  readonly stderr: Writable & BarStream;
  /** The environment. */
  readonly env: Readonly<Record<string, string | undefined>>;
  /** The working directory. */
  readonly cwd: string;
  /** Aborted on SIGINT/SIGTERM: long transfers stop and clean up. */
  readonly signal?: AbortSignal | undefined;
}

/** What a verb gets when it runs. */
export interface VerbContext {
  /** The process's streams and surroundings. */
  readonly io: CliIO;
  /** The parsed arguments. */
  readonly args: VerbArgs;
  /** Open-ended `--key value` pairs (verbs with {@link VerbSpec.open}). */
  readonly pairs: ReadonlyArray<readonly [string, string]>;
  /** The configuration file chosen. */
  readonly config: ConfigLocation;
  /**
   * `true` when the manager uses the cluster's storage.cfg instead of the file: a cluster is
   * configured and no file was named (`--config`, `$STOWAGE_CONFIG`).
   */
  readonly clusterConfig: boolean;
  /** The registered plugins (loaded on first use). */
  plugins(): Promise<LoadedPlugins>;
  /**
   * The manager over the configuration file, or over the cluster's storage.cfg (see
   * {@link VerbContext.clusterConfig}); opened on first use, closed after the verb. A missing
   * file is `NOT_FOUND` unless `allowMissingConfig` (then it has no storages yet); a cluster
   * without a storage.cfg has no storages yet. Only the built-in plugins for the configured
   * storage types (and `extraTypes`) are loaded.
   */
  manager(options?: { readonly allowMissingConfig?: boolean; readonly extraTypes?: readonly string[] }): Promise<StorageManager>;
  /** A progress bar on standard error (silent unless it is a terminal). */
  progress(label: string): ProgressBar;
  /**
   * The etcd cluster connection (opened on first use, closed after the verb); `CONFIG_INVALID`
   * when no cluster is configured.
   */
  cluster(): Promise<EtcdCluster>;
}

/** One verb of the command (its one-line summary is in the verb table, `verbs/index.ts`). */
export interface VerbSpec {
  /** The verb, e.g. `alloc` or `storage add`. */
  readonly name: string;
  /** The arguments part of the usage line, e.g. `<storage> <vmid> <name|-> <size>`. */
  readonly usage: string;
  /** More help: what the arguments mean, what is printed. */
  readonly description?: string;
  /** How many positional arguments it takes. */
  readonly positionals: { readonly min: number; readonly max: number };
  /** Its own options. */
  readonly options?: Readonly<Record<string, OptionSpec>>;
  /** Takes open-ended `--key value` options (plugin config), with these flags of its own. */
  readonly open?: { readonly flags: readonly string[]; readonly help: string };
  /** Runs the verb. */
  run(ctx: VerbContext): Promise<VerbOutput>;
}
