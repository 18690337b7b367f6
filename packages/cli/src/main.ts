/**
 * The command's entry: find the verb, parse its arguments, open the configuration and the
 * plugins when the verb needs them, run it, print the result, and map a failure to its exit
 * status.
 *
 * @module
 */
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';
import { isCommandError, isStorageError, StorageError, StorageManager, type Logger } from '@stowage/core';
import { BUILTIN_PLUGIN_PACKAGES, configuredTypes, loadBuiltins, storageTypesIn, type BuiltinPackage } from './builtins.js';
import { parseOpenArgs, parseVerbArgs, splitCommand, UsageError, type VerbArgs } from './args.js';
import { ClusterConnector, findClusterAddress } from './cluster-connect.js';
import { findConfigFile } from './config-path.js';
import { EXIT_CLOSED_PIPE, EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE, exitCodeFor } from './exit-codes.js';
import { overviewHelp, usageLine, verbHelp } from './help.js';
import { renderOutput } from './output.js';
import { loadPlugins, parsePluginEnv, readPluginList, type LoadedPlugins } from './plugin-loader.js';
import { createProgressBar } from './progress.js';
import { StdStreams } from './std-streams.js';
import type { CliIO, VerbContext, VerbSpec } from './verb.js';
import type { EtcdCluster } from '@stowage/cluster-etcd';
import { VERB_GROUPS, VERBS } from './verbs/index.js';

function write(stream: CliIO['stdout'], text: string): void {
  if (text !== '') stream.write(text);
}

function stderrLogger(io: CliIO): Logger {
  const debug = io.env['STOWAGE_DEBUG'] !== undefined && io.env['STOWAGE_DEBUG'] !== '';
  const line = (level: string, message: string, fields?: Record<string, unknown>): void => {
    io.stderr.write(`${level}: ${message}${fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : ''}\n`);
  };
  return {
    debug: (m, f) => (debug ? line('debug', m, f) : undefined),
    info: (m, f) => (debug ? line('info', m, f) : undefined),
    warn: (m, f) => line('warning', m, f),
  };
}

/** Prints an error to standard error, as JSON with `--json`. */
function reportError(io: CliIO, error: unknown, json: boolean): void {
  if (isStorageError(error)) {
    if (json) {
      write(io.stderr, JSON.stringify({ error: error.toJSON() }) + '\n');
      return;
    }
    const lines = [`stowage: ${error.message} [${error.code}]`];
    for (const key of ['clones', 'blockers']) {
      const list = error.details[key];
      if (Array.isArray(list) && list.length > 0) lines.push(`  ${key}: ${list.join(', ')}`);
    }
    if (isCommandError(error)) {
      lines.push(`  command: ${error.argv.join(' ')}`);
      if (error.stderr) lines.push(`  stderr: ${error.stderr.trim().split('\n').join('\n          ')}`);
    }
    write(io.stderr, lines.join('\n') + '\n');
    return;
  }
  const text = error instanceof Error ? (error.stack ?? error.message) : String(error);
  write(io.stderr, json ? JSON.stringify({ error: { code: 'UNEXPECTED', message: String(error instanceof Error ? error.message : error) } }) + '\n' : `stowage: unexpected error: ${text}\n`);
}

/** Options of {@link runCli}, for tests and embedding. */
export interface RunCliOptions {
  /** Built-in plugin packages; {@link BUILTIN_PLUGIN_PACKAGES} by default. */
  readonly builtins?: readonly BuiltinPackage[];
  /** The system-wide configuration path; `/etc/stowage/storage.cfg` by default. */
  readonly systemConfigPath?: string;
}

/**
 * Runs the `stowage` command: parses `argv`, runs the verb, prints to `io`, and returns the exit
 * status (0 success, 1 unexpected, 2 usage, 10-31 per error code, see {@link EXIT_CODES}; 141
 * when standard output is a pipe whose reader went away, see {@link EXIT_CLOSED_PIPE}).
 * Never throws: a failed write to standard output (a full disk, an I/O error) is reported as
 * its code, not thrown, and stops the running operation.
 *
 * @param argv - the arguments after the program name
 * @param io - standard streams, environment, working directory and abort signal
 * @param options - built-in plugins and the system configuration path
 * @returns the exit status
 * @example
 * ```ts
 * process.exitCode = await runCli(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout,
 *   stderr: process.stderr, env: process.env, cwd: process.cwd() });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIO, options: RunCliOptions = {}): Promise<number> {
  const std = new StdStreams(io);
  const mode = { json: argv.includes('--json') };
  const status = await runVerb(argv, std, options, mode);
  await std.flush();
  const failure = std.outputFailure;
  if (!failure) return status;
  if (failure.closedReader) return EXIT_CLOSED_PIPE;
  reportError(std.io, failure.error, mode.json);
  await std.flush();
  return exitCodeFor(failure.error);
}

/**
 * Runs the verb with guarded streams and returns its exit status; it sets `mode.json` once the
 * arguments are parsed, for how errors are printed. When standard output failed, the caller
 * reports that failure instead.
 */
async function runVerb(argv: readonly string[], std: StdStreams, options: RunCliOptions, mode: { json: boolean }): Promise<number> {
  const { io } = std;
  let verb: VerbSpec | undefined;
  let manager: StorageManager | undefined;
  let clusters: ClusterConnector | undefined;
  try {
    const split = splitCommand(argv, VERB_GROUPS);
    if (split.verb === '' || split.verb === 'help') {
      const topic = split.verb === 'help' ? split.rest.filter((a) => !a.startsWith('-')).join(' ') : '';
      const target = VERBS.find((v) => v.name === topic);
      if (topic !== '' && !target) throw new UsageError(`unknown verb '${topic}'`);
      const asked = split.verb === 'help' || split.rest.includes('--help') || split.rest.includes('-h');
      write(asked ? io.stdout : io.stderr, target ? verbHelp(target) : overviewHelp(VERBS));
      return asked ? EXIT_OK : EXIT_USAGE;
    }
    verb = VERBS.find((v) => v.name === split.verb);
    if (!verb) {
      if (VERB_GROUPS.has(split.verb)) {
        const subs = VERBS.filter((v) => v.name.startsWith(`${split.verb} `));
        const asked = split.rest.includes('--help') || split.rest.includes('-h');
        write(asked ? io.stdout : io.stderr, overviewHelp(subs));
        return asked ? EXIT_OK : EXIT_USAGE;
      }
      throw new UsageError(`unknown verb '${split.verb}'`);
    }
    let args: VerbArgs;
    let pairs: ReadonlyArray<readonly [string, string]> = [];
    if (verb.open) {
      const parsed = parseOpenArgs(verb.name, split.rest, verb.open.flags, verb.positionals);
      args = parsed;
      pairs = parsed.pairs;
    } else {
      args = parseVerbArgs(verb.name, split.rest, verb.options ?? {}, verb.positionals);
    }
    mode.json = args.global.json;
    if (args.global.help) {
      write(io.stdout, verbHelp(verb));
      return EXIT_OK;
    }
    const config = findConfigFile({ flag: args.global.config, env: io.env, cwd: io.cwd, systemPath: options.systemConfigPath });
    const connector = (clusters = new ClusterConnector(findClusterAddress(args.global.cluster, io.env, config.path), io.env['STOWAGE_NODE'] || undefined));
    // with a cluster, its storage.cfg is the one, unless a file is named (--config, $STOWAGE_CONFIG)
    const clusterConfig = connector.configured && config.source !== 'flag' && config.source !== 'env';
    const loaded = new Map<string, Promise<LoadedPlugins>>();
    const plugins = (types: readonly string[] | 'all' = 'all'): Promise<LoadedPlugins> => {
      const key = types === 'all' ? '*' : [...types].sort().join(',');
      let p = loaded.get(key);
      if (!p) {
        p = loadBuiltins(options.builtins ?? BUILTIN_PLUGIN_PACKAGES, types).then((builtins) =>
          loadPlugins({
            builtins,
            names: [...readPluginList(config.path), ...parsePluginEnv(io.env['STOWAGE_PLUGINS']), ...args.global.plugins],
            bases: [io.cwd, dirname(config.path)],
          }),
        );
        loaded.set(key, p);
      }
      return p;
    };
    const managerOptions = () => {
      const lockDir = io.env['STOWAGE_LOCK_DIR'] || undefined;
      const sharedLockDir = io.env['STOWAGE_SHARED_LOCK_DIR'] || undefined;
      return { log: stderrLogger(io), ...(lockDir ? { lockDir } : {}), ...(sharedLockDir ? { sharedLockDir } : {}) };
    };
    const openOnClusterConfig = async (cluster: EtcdCluster, extraTypes: readonly string[]): Promise<StorageManager> => {
      const { text, revision } = await cluster.config.read();
      if (revision === '0' && config.exists) {
        write(io.stderr, `stowage: the cluster's storage.cfg is empty (${config.path} is not read with a cluster); seed it with 'stowage cluster init --from ${config.path}'\n`);
      }
      const types = storageTypesIn(text);
      const { registry } = await plugins(types === undefined ? 'all' : [...types, ...extraTypes]);
      return StorageManager.open({ cluster, plugins: registry.list(), ...managerOptions() });
    };
    const ctx: VerbContext = {
      io,
      args,
      pairs,
      config,
      plugins: () => plugins('all'),
      clusterConfig,
      manager: async (opts) => {
        if (manager) return manager;
        if (clusterConfig) return (manager = await openOnClusterConfig(await connector.get(), opts?.extraTypes ?? []));
        if (!opts?.allowMissingConfig && !existsSync(config.path)) {
          throw new StorageError(
            'NOT_FOUND',
            `no storage configuration at ${config.path}: give --config FILE, set STOWAGE_CONFIG, or create ./storage.cfg or /etc/stowage/storage.cfg ('stowage storage add' creates one)`,
            { details: { path: config.path } },
          );
        }
        const types = configuredTypes(config.path);
        const { registry } = await plugins(types === undefined ? 'all' : [...types, ...(opts?.extraTypes ?? [])]);
        const cluster = await connector.maybe();
        manager = await StorageManager.open({ ...(cluster ? { cluster } : {}), plugins: registry.list(), configFile: config.path, ...managerOptions() });
        return manager;
      },
      progress: (label) => createProgressBar(io.stderr, label),
      cluster: () => connector.get(),
    };
    const output = await verb.run(ctx);
    write(io.stdout, renderOutput(output, mode.json));
    return EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) {
      const shown = verb ?? VERBS.find((v) => v.name === e.verb);
      write(io.stderr, `stowage: ${e.message}\n${shown ? `usage: ${usageLine(shown)}\nTry 'stowage ${shown.name} --help'.` : "Try 'stowage --help'."}\n`);
      return EXIT_USAGE;
    }
    // when standard output failed, that failure is reported instead of what it caused
    if (!std.outputFailure) reportError(io, e, mode.json);
    return isStorageError(e) ? exitCodeFor(e) : EXIT_UNEXPECTED;
  } finally {
    if (manager) await manager.close().catch(() => undefined);
    await clusters?.close().catch(() => undefined);
  }
}
