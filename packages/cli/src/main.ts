/**
 * The command's entry: find the verb, parse its arguments, print help, or run the verb (see
 * `execute.ts`, which opens the configuration and the plugins when the verb needs them), print
 * the result, and map a failure to its exit status. Help and usage errors load neither the core
 * nor any plugin: what a verb needs is imported when it runs; the help texts only when printed.
 *
 * @module
 */
import { parseOpenArgs, parseVerbArgs, splitCommand, UsageError, type VerbArgs } from './args.js';
import type { BuiltinPackage } from './builtins.js';
import { EXIT_CLOSED_PIPE, EXIT_OK, EXIT_USAGE } from './exit-codes.js';
import { renderOutput } from './output.js';
import { outputFailureError, StdStreams } from './std-streams.js';
import type { CliIO, VerbSpec } from './verb.js';
import { findVerb, VERB_GROUPS, VERBS } from './verbs/index.js';

function write(stream: CliIO['stdout'], text: string): void {
  if (text !== '') stream.write(text);
}

/** Options of {@link runCli}, for tests and embedding. */
export interface RunCliOptions {
  /** Built-in plugin packages; {@link BUILTIN_PLUGIN_PACKAGES} by default. */
  readonly builtins?: readonly BuiltinPackage[];
  /** The system-wide configuration path; `/etc/stowage/storage.cfg` by default. */
  readonly systemConfigPath?: string;
  /**
   * The build stamp under which validated storage configs are remembered between runs (see
   * `config-memo.ts`): the `stowage` binary passes its bundle's. Without it every section is
   * validated each time.
   */
  readonly configMemoStamp?: string;
}

/**
 * Runs the `stowage` command: parses `argv`, runs the verb, prints to `io`, and returns the exit
 * status (0 success, 1 unexpected, 2 usage, 10-32 per error code, see {@link EXIT_CODES}; 141
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
  const [{ exitCodeFor, reportError }, error] = await Promise.all([import('./report.js'), outputFailureError(failure)]);
  reportError(std.io, error, mode.json);
  await std.flush();
  return exitCodeFor(error);
}

/**
 * Runs the verb with guarded streams and returns its exit status; it sets `mode.json` once the
 * arguments are parsed, for how errors are printed. When standard output failed, the caller
 * reports that failure instead.
 */
async function runVerb(argv: readonly string[], std: StdStreams, options: RunCliOptions, mode: { json: boolean }): Promise<number> {
  const { io } = std;
  let verb: VerbSpec | undefined;
  try {
    const split = splitCommand(argv, VERB_GROUPS);
    if (split.verb === '' || split.verb === 'help') {
      const topic = split.verb === 'help' ? split.rest.filter((a) => !a.startsWith('-')).join(' ') : '';
      const target = await findVerb(topic);
      if (topic !== '' && !target) throw new UsageError(`unknown verb '${topic}'`);
      const asked = split.verb === 'help' || split.rest.includes('--help') || split.rest.includes('-h');
      const { overviewHelp, verbHelp } = await import('./help.js');
      write(asked ? io.stdout : io.stderr, target ? verbHelp(target.spec, target.entry.summary) : overviewHelp(VERBS));
      return asked ? EXIT_OK : EXIT_USAGE;
    }
    const found = await findVerb(split.verb);
    if (!found) {
      if (VERB_GROUPS.has(split.verb)) {
        const subs = VERBS.filter((v) => v.name.startsWith(`${split.verb} `));
        const asked = split.rest.includes('--help') || split.rest.includes('-h');
        write(asked ? io.stdout : io.stderr, (await import('./help.js')).overviewHelp(subs));
        return asked ? EXIT_OK : EXIT_USAGE;
      }
      throw new UsageError(`unknown verb '${split.verb}'`);
    }
    verb = found.spec;
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
      write(io.stdout, (await import('./help.js')).verbHelp(verb, found.entry.summary));
      return EXIT_OK;
    }
    const { executeVerb } = await import('./execute.js');
    const output = await executeVerb(verb, args, pairs, io, options);
    write(io.stdout, renderOutput(output, mode.json));
    return EXIT_OK;
  } catch (e) {
    if (e instanceof UsageError) {
      const shown = verb ?? (await findVerb(e.verb))?.spec;
      const { usageLine } = await import('./help.js');
      write(io.stderr, `stowage: ${e.message}\n${shown ? `usage: ${usageLine(shown)}\nTry 'stowage ${shown.name} --help'.` : "Try 'stowage --help'."}\n`);
      return EXIT_USAGE;
    }
    const { exitCodeFor, reportError } = await import('./report.js');
    // when standard output failed, that failure is reported instead of what it caused
    if (!std.outputFailure) reportError(io, e, mode.json);
    return exitCodeFor(e);
  }
}
