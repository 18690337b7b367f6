/**
 * A {@link CommandRunner} that runs the `stowage-memory` tool in process against a
 * {@link MemoryStore}, and hands any other program to an optional fallback runner.
 *
 * @module
 */
import type { Writable } from 'node:stream';
import { abortedError, assertArgv, exitCodeError, spawnError } from '../../command/failure.js';
import type { CommandResult, CommandRunner, RunOptions } from '../../command/runner.js';
import { MEMORY_TOOL } from './commands.js';
import { MemoryStore, MemoryToolError, type MemoryStoreOptions } from './store.js';

/**
 * Options of a {@link MemoryRunner}.
 *
 * @example
 * ```ts
 * const store = new MemoryStore({ capacity: 256 * 1024 ** 2 });
 * const runner = new MemoryRunner({ store, fallback: new LocalRunner() }); // two runners may share one store
 * ```
 */
export interface MemoryRunnerOptions extends MemoryStoreOptions {
  /** The store to work on; a new empty one (with `capacity` and `chunkSize`) when omitted. */
  readonly store?: MemoryStore;
  /** Runs every program other than `stowage-memory` (for example a `LocalRunner`); such commands fail as "not found" without it. */
  readonly fallback?: CommandRunner;
}

class UsageError extends Error {}

/**
 * Runs `stowage-memory` commands in process. Failures look exactly like a real tool's: a
 * {@link @stowage/core!index.CommandError | CommandError} with exit code 1 and the reason on stderr (exit code 2 for a malformed
 * command line), so the plugin classifies them the way a real plugin classifies its tool's errors.
 *
 * @example
 * ```ts
 * const storages = await StorageManager.open({
 *   plugins: [MemoryPlugin],
 *   config: [{ type: 'memory', storage: 'mem' }],
 *   runner: new MemoryRunner({ capacity: 1024 ** 3 }),
 * });
 * ```
 */
export class MemoryRunner implements CommandRunner {
  /** The store the commands work on. */
  readonly store: MemoryStore;
  /** For logs and errors. */
  readonly description = 'memory';
  readonly #fallback: CommandRunner | undefined;

  /** @param options - the store (or its capacity and chunk size) and a fallback runner */
  constructor(options: MemoryRunnerOptions = {}) {
    this.store = options.store ?? new MemoryStore(options);
    this.#fallback = options.fallback;
  }

  /**
   * Runs one command.
   *
   * @param argv - `stowage-memory <subcommand> ...`, or any program the fallback runs
   * @param options - stdin, stdout stream, signal, accepted exit codes
   * @returns captured stdout (empty when piped to `options.stdout`) and stderr
   * @throws {@link @stowage/core!index.CommandError | CommandError} `COMMAND_FAILED` when the tool fails, `ABORTED` when the signal fired
   */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    assertArgv(argv);
    if (argv[0] !== MEMORY_TOOL) {
      if (this.#fallback) return this.#fallback.run(argv, options);
      throw spawnError(argv, argv[0] ?? '', 'ENOENT');
    }
    if (options.signal?.aborted) throw abortedError(argv, options.signal.reason);
    let exitCode = 0;
    let stdout = '';
    let stderr = '';
    try {
      stdout = await this.#dispatch(argv.slice(1), options);
    } catch (e) {
      if (e instanceof UsageError) exitCode = 2;
      else if (e instanceof MemoryToolError) exitCode = 1;
      else throw e;
      stderr = `${MEMORY_TOOL}: ${e.message}\n`;
    }
    if (options.signal?.aborted) throw abortedError(argv, options.signal.reason, stderr);
    if (!(options.okExitCodes ?? [0]).includes(exitCode)) throw exitCodeError({ argv, exitCode, stdout, stderr });
    return { stdout: options.stdout ? '' : stdout, stderr, exitCode };
  }

  async #dispatch(args: readonly string[], options: RunOptions): Promise<string> {
    const [sub, pool = '', a, b] = args;
    const s = this.store;
    const want = (n: number): void => {
      if (args.length !== n + 1) throw new UsageError(`'${sub ?? ''}' takes ${n} arguments`);
    };
    switch (sub) {
      case 'df':
        want(0);
        return `${JSON.stringify(s.usage())}\n`;
      case 'list':
        want(1);
        return s.list(pool).map((r) => `${JSON.stringify(r)}\n`).join('');
      case 'snapshots':
        want(2);
        return s.snapshots(pool, a!).map((r) => `${JSON.stringify(r)}\n`).join('');
      case 'create': {
        if (args.length < 4) throw new UsageError("'create' takes 3 arguments and properties");
        const props = Object.fromEntries(args.slice(4).map(property));
        return `${JSON.stringify({ guid: s.create(pool, a!, bytes(b), props) })}\n`;
      }
      case 'destroy': {
        if (args.length !== 3 && args.length !== 4) throw new UsageError("'destroy' takes 2 or 3 arguments");
        const [name, snap] = splitSnap(a!);
        if (snap === undefined) s.destroy(pool, name, b);
        else s.destroySnapshot(pool, name, snap);
        return '';
      }
      case 'rename':
        want(3);
        s.rename(pool, a!, b!);
        return '';
      case 'set':
        if (args.length !== 4 && args.length !== 5) throw new UsageError("'set' takes 3 or 4 arguments");
        s.setProp(pool, a!, b!, args[4]);
        return '';
      case 'snapshot':
      case 'rollback':
      case 'flatten': {
        want(2);
        const [name, snap] = splitSnap(a!);
        if (snap === undefined) throw new UsageError(`'${sub}' needs <name>@<snapshot>`);
        if (sub === 'snapshot') s.snapshot(pool, name, snap);
        else if (sub === 'rollback') s.rollback(pool, name, snap);
        else s.flatten(pool, name, snap);
        return '';
      }
      case 'detach':
        want(2);
        s.detach(pool, a!);
        return '';
      case 'clone':
      case 'copy': {
        want(3);
        const [name, snap] = splitSnap(a!);
        s.clone(pool, name, snap, b!, sub === 'copy');
        return '';
      }
      case 'resize':
        want(3);
        s.resize(pool, a!, bytes(b));
        return '';
      case 'write':
        want(3);
        await s.write(pool, a!, toChunks(options.stdin), bytes(b));
        return '';
      case 'read': {
        want(2);
        const [name, snap] = splitSnap(a!);
        const chunks = s.read(pool, name, snap);
        if (options.stdout) {
          await pipeInto(chunks, options.stdout, options.signal);
          return '';
        }
        return Buffer.concat([...chunks]).toString('latin1');
      }
      default:
        throw new UsageError(`unknown subcommand '${sub ?? ''}'`);
    }
  }
}

function bytes(text: string | undefined): number {
  if (text === undefined || !/^[0-9]{1,16}$/.test(text)) throw new UsageError(`invalid byte count '${text ?? ''}'`);
  return Number(text);
}

function property(text: string): [string, string] {
  const i = text.indexOf('=');
  if (i <= 0) throw new UsageError(`invalid property '${text}': want key=value`);
  return [text.slice(0, i), text.slice(i + 1)];
}

function splitSnap(spec: string): [string, string | undefined] {
  const i = spec.indexOf('@');
  return i < 0 ? [spec, undefined] : [spec.slice(0, i), spec.slice(i + 1)];
}

async function* toChunks(stdin: RunOptions['stdin']): AsyncGenerator<Uint8Array> {
  if (stdin === undefined) return;
  if (typeof stdin === 'string') yield Buffer.from(stdin);
  else if (stdin instanceof Uint8Array) yield stdin;
  else for await (const chunk of stdin) yield typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Uint8Array);
}

/** Writes every chunk into `out` with back-pressure and without ending it. */
async function pipeInto(chunks: Iterable<Buffer>, out: Writable, signal: AbortSignal | undefined): Promise<void> {
  for (const chunk of chunks) {
    if (signal?.aborted) return;
    if (out.destroyed || out.writableEnded) throw new MemoryToolError('write to stdout failed: stdout was closed');
    if (!out.write(chunk)) {
      await new Promise<void>((resolve, reject) => {
        const done = (err?: Error): void => {
          out.off('drain', onDrain);
          out.off('error', done);
          out.off('close', onClose);
          if (err) reject(new MemoryToolError(`write to stdout failed: ${err.message}`));
          else resolve();
        };
        const onDrain = (): void => done();
        const onClose = (): void => done(new Error('stdout was closed'));
        out.on('drain', onDrain);
        out.on('error', done);
        out.on('close', onClose);
      });
    }
  }
}
