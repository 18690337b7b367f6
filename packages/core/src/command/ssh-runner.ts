/**
 * The runner for commands on another host, through the OpenSSH client.
 *
 * @module
 */
import { CommandError, isCommandError } from '../errors.js';
import { nodeCrypto } from '../on-first-use.js';
import { abortedError, assertArgv, describeArgv, exitCodeError, shortenOutput, spawnError, timeoutError } from './failure.js';
import { LocalRunner } from './local-runner.js';
import type { CommandResult, CommandRunner, RunOptions } from './runner.js';
import { remoteCommand } from './shell-quote.js';

/**
 * The environment variable that marks the remote processes of one {@link SshRunner} run, so
 * that a timeout or abort stops exactly them.
 */
export const RUN_ID_VARIABLE = 'STOWAGE_RUN_ID';

/** How long a stopped run waits for the remote command to end before killing the ssh client. */
const STOP_GRACE_MS = 3000;

const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);

/** Options of an {@link SshRunner}. */
export interface SshRunnerOptions {
  /** The host name or address to connect to. */
  readonly host: string;
  /** The ssh port. @default the ssh client's (22 unless configured) */
  readonly port?: number;
  /** The remote user. @default the ssh client's (the local user unless configured) */
  readonly user?: string;
  /** A private key to log in with; only this key is offered (`IdentitiesOnly=yes`). */
  readonly identityFile?: string;
  /**
   * A socket path for connection sharing: the first command opens a master connection
   * (`ControlMaster=auto`) that stays up for {@link SshRunnerOptions.controlPersistSeconds},
   * and every later command reuses it, which saves the key exchange (about 0.1 s per command
   * instead of 0.5 s). Its directory must exist and be private. Without it, every command opens
   * its own connection (unless the user's ssh config says otherwise).
   */
  readonly controlPath?: string;
  /** How long an idle master connection stays up. @default 600 */
  readonly controlPersistSeconds?: number;
  /** The known-hosts file to check the host key against. @default the ssh client's */
  readonly knownHostsFile?: string;
  /**
   * Check the host key (`StrictHostKeyChecking=yes`). Turn it off only for a throwaway test
   * guest: then any key is accepted and nothing is written to a known-hosts file (unless
   * {@link SshRunnerOptions.knownHostsFile} is given).
   * @default true
   */
  readonly strictHostKeyChecking?: boolean;
  /** Give up connecting after this many seconds (`ConnectTimeout`). @default 10 */
  readonly connectTimeoutSeconds?: number;
  /**
   * Kill a command after this many milliseconds (code `TIMEOUT`) unless the call sets its own.
   * `0` means no limit.
   * @default 3_600_000
   */
  readonly timeoutMs?: number;
  /** The ssh client program. @default 'ssh' */
  readonly sshPath?: string;
  /** More `-o` options for the client, e.g. `['Ciphers=aes128-gcm@openssh.com']`. */
  readonly sshOptions?: readonly string[];
  /** The most bytes of standard output captured as text. @default 64 MiB */
  readonly maxOutputBytes?: number;
}

/**
 * Builds the ssh client's argv for an {@link SshRunner}, without the command: program, options,
 * `--`, destination. Append a remote command string (see {@link remoteCommand}) to run one.
 * Pure.
 *
 * @param options - host, port, user, key, connection sharing, host key checking
 * @returns the argv
 * @throws TypeError on a host or user that is empty, starts with `-` or holds whitespace, or a
 *   port outside 1..65535
 * @example
 * ```ts
 * sshArgv({ host: '127.0.0.1', port: 2222, user: 'root' });
 * // ['ssh', '-o', 'BatchMode=yes', ..., '-p', '2222', '-l', 'root', '--', '127.0.0.1']
 * ```
 */
export function sshArgv(options: SshRunnerOptions): string[] {
  const word = /^[^\s-][^\s]*$/;
  if (!word.test(options.host)) throw new TypeError(`bad ssh host '${options.host}'`);
  if (options.user !== undefined && !word.test(options.user)) throw new TypeError(`bad ssh user '${options.user}'`);
  const port = options.port;
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) throw new TypeError(`bad ssh port ${port}`);
  const o = (value: string): string[] => ['-o', value];
  const argv = [
    options.sshPath ?? 'ssh',
    ...o('BatchMode=yes'),
    ...o('LogLevel=ERROR'),
    ...o(`ConnectTimeout=${options.connectTimeoutSeconds ?? 10}`),
    ...o('ServerAliveInterval=15'),
    ...o('ServerAliveCountMax=4'),
    '-T',
    '-x',
    '-a',
  ];
  if (options.strictHostKeyChecking === false) {
    argv.push(...o('StrictHostKeyChecking=no'), ...o(`UserKnownHostsFile=${options.knownHostsFile ?? '/dev/null'}`));
  } else {
    argv.push(...o('StrictHostKeyChecking=yes'));
    if (options.knownHostsFile !== undefined) argv.push(...o(`UserKnownHostsFile=${options.knownHostsFile}`));
  }
  if (options.identityFile !== undefined) argv.push('-i', options.identityFile, ...o('IdentitiesOnly=yes'));
  if (options.controlPath !== undefined) {
    argv.push(
      ...o('ControlMaster=auto'),
      ...o(`ControlPath=${options.controlPath}`),
      ...o(`ControlPersist=${options.controlPersistSeconds ?? 600}`),
    );
  }
  for (const extra of options.sshOptions ?? []) argv.push(...o(extra));
  if (port !== undefined) argv.push('-p', String(port));
  if (options.user !== undefined) argv.push('-l', options.user);
  argv.push('--', options.host);
  return argv;
}

/**
 * Runs commands on another host with the OpenSSH client, for storage that lives there (a
 * Proxmox node, the testbed VM). Each argv element is quoted for the remote POSIX shell with
 * {@link quoteShellArg}, never joined unquoted, and runs as `env LC_ALL=C program args...`.
 * Standard input and output streams pass through, so `volumeExport`/`volumeImport` work
 * remotely. Timeouts, aborts and output limits behave as in {@link LocalRunner}, which runs the
 * ssh client; errors name the remote argv, not the ssh one.
 *
 * An exit code of 255 is what ssh itself returns when it cannot connect or authenticate; it
 * becomes a {@link @stowage/core!index.CommandError | CommandError} with code `UNAVAILABLE` ("ssh connection failed"), unless the
 * call lists 255 in `okExitCodes`. (A remote command that itself exits 255 is reported the same
 * way: ssh cannot tell the two apart.)
 *
 * On a timeout or abort the remote command is stopped too: each run carries a unique
 * {@link RUN_ID_VARIABLE} in its environment, and a second ssh session sends SIGTERM (then
 * SIGKILL) to exactly the remote processes that carry it (this needs Linux's `/proc` and `grep`
 * on the remote host). With a shared master connection this also matters locally: the master
 * holds the session's pipes until the remote command ends.
 *
 * @example
 * ```ts
 * const runner = new SshRunner({ host: 'pve1', user: 'root', controlPath: '/run/user/1000/pve1.sock' });
 * const { stdout } = await runner.run(['lvs', '--noheadings', '--options', 'lv_name', 'pve']);
 * await runner.close();
 * ```
 */
export class SshRunner implements CommandRunner {
  /** `ssh [user@]host[:port]`. */
  readonly description: string;
  readonly #options: SshRunnerOptions;
  readonly #ssh: readonly string[];
  readonly #local: LocalRunner;
  readonly #timeoutMs: number;

  /**
   * @param options - where to connect and how
   * @throws TypeError on a bad host, user, port or timeout
   */
  constructor(options: SshRunnerOptions) {
    this.#options = { ...options };
    this.#ssh = sshArgv(options);
    this.#timeoutMs = options.timeoutMs ?? 3_600_000;
    this.#local = new LocalRunner({
      timeoutMs: this.#timeoutMs,
      ...(options.maxOutputBytes !== undefined ? { maxOutputBytes: options.maxOutputBytes } : {}),
    });
    this.description = `ssh ${options.user !== undefined ? `${options.user}@` : ''}${options.host}${options.port !== undefined ? `:${options.port}` : ''}`;
  }

  /**
   * Runs one command on the remote host to its end.
   *
   * @param argv - program first, then its arguments (looked up on the remote `PATH`)
   * @param options - stdin, stdout stream, timeout, signal, env, accepted exit codes
   * @returns captured stdout (empty when piped), stderr and the exit code
   * @throws {@link @stowage/core!index.CommandError | CommandError} `COMMAND_FAILED` on an exit code outside `okExitCodes` or when
   *   the ssh client is missing; `UNAVAILABLE` when ssh cannot connect (exit code 255);
   *   `TIMEOUT`; `ABORTED`; `INVALID_ARGUMENT` for a NUL character, a bad variable name, or a
   *   program name starting with `-` or containing `=`
   */
  async run(argv: readonly string[], options: RunOptions = {}): Promise<CommandResult> {
    assertArgv(argv);
    const { env, signal, timeoutMs: callTimeout, ...rest } = options;
    if (signal?.aborted) throw abortedError(argv, signal.reason);
    // A token in the remote command's environment (inherited by its children) lets a timeout
    // or an abort find and stop exactly this command on the remote side.
    const runId = nodeCrypto().randomUUID();
    const command = remoteCommand(argv, { ...env, [RUN_ID_VARIABLE]: runId });
    const sshArgv = [...this.#ssh, command];
    const timeoutMs = callTimeout ?? this.#timeoutMs;
    const local = new AbortController();
    let stopped: 'timeout' | 'abort' | undefined;
    let grace: NodeJS.Timeout | undefined;
    const stop = (why: 'timeout' | 'abort'): void => {
      if (stopped) return;
      stopped = why;
      void this.#stopRemote(runId);
      // The client goes when the remote command has ended; if the remote side does not answer,
      // it is killed after a grace period.
      grace = setTimeout(() => local.abort(), STOP_GRACE_MS);
    };
    const timer = timeoutMs > 0 ? setTimeout(() => stop('timeout'), timeoutMs) : undefined;
    const onAbort = (): void => stop('abort');
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      const result = await this.#local.run(sshArgv, { ...rest, timeoutMs: 0, signal: local.signal });
      if (stopped === 'timeout') throw timeoutError(argv, timeoutMs, result.stderr);
      if (stopped === 'abort') throw abortedError(argv, signal?.reason, result.stderr);
      return result;
    } catch (e) {
      const stderr = isCommandError(e) ? e.stderr : '';
      if (stopped === 'timeout') throw timeoutError(argv, timeoutMs, stderr);
      if (stopped === 'abort') throw abortedError(argv, signal?.reason, stderr);
      throw this.#remoteError(e, argv, sshArgv, timeoutMs, signal);
    } finally {
      clearTimeout(timer);
      clearTimeout(grace);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Stops the remote processes of one run (found by their {@link RUN_ID_VARIABLE}): SIGTERM,
   * then SIGKILL two seconds later for any still there. Needs Linux's `/proc` on the remote host;
   * failures are ignored (the local client is killed anyway).
   */
  async #stopRemote(runId: string): Promise<void> {
    const script = [
      'pids=',
      'for f in $(grep -lsxzF "$1" /proc/[0-9]*/environ); do p=${f#/proc/}; pids="$pids ${p%/environ}"; done',
      '[ -n "$pids" ] || exit 0',
      'kill -TERM $pids 2>/dev/null; sleep 2; kill -KILL $pids 2>/dev/null; exit 0',
    ].join('\n');
    const killer = remoteCommand(['sh', '-c', script, 'sh', `${RUN_ID_VARIABLE}=${runId}`]);
    await this.#local.run([...this.#ssh, killer], { timeoutMs: 15_000, okExitCodes: ANY_EXIT }).catch(() => undefined);
  }

  /**
   * Closes the shared master connection, if one is open (`ssh -O exit`). Later commands open a
   * new one. Does nothing without a {@link SshRunnerOptions.controlPath}.
   *
   * @returns when the master has been told to exit
   */
  async close(): Promise<void> {
    if (this.#options.controlPath === undefined) return;
    const [program, ...args] = this.#ssh;
    const destination = args.splice(-2);
    await this.#local.run([program!, ...args, '-O', 'exit', ...destination], { okExitCodes: [0, 255], timeoutMs: 10_000 });
  }

  /** Rewrites an error of the local ssh run in terms of the remote argv. */
  #remoteError(e: unknown, argv: readonly string[], sshArgv: readonly string[], timeoutMs: number, signal: AbortSignal | undefined): unknown {
    if (!isCommandError(e)) return e;
    const stderr = e.stderr;
    switch (e.code) {
      case 'TIMEOUT':
        return timeoutError(argv, timeoutMs, stderr);
      case 'ABORTED':
        return abortedError(argv, signal?.reason, stderr);
      case 'COMMAND_FAILED':
        if (e.details.notFound === true) return spawnError(argv, sshArgv[0]!, 'ENOENT', e);
        if (e.exitCode === 255) {
          const last = stderr.split('\n').filter((l) => l.trim() !== '').at(-1)?.trim() ?? '';
          return new CommandError(
            `ssh connection failed (${this.description})${last ? `: ${last}` : ''}; command '${describeArgv(argv)}' did not run`,
            { argv: [...argv], exitCode: 255, stderr: shortenOutput(stderr), stdout: e.stdout, cause: e, details: { ssh: this.description } },
            'UNAVAILABLE',
          );
        }
        if (e.exitCode !== undefined) return exitCodeError({ argv, exitCode: e.exitCode, stdout: e.stdout, stderr });
        break;
      default:
        break;
    }
    const { argv: _argv, exitCode: _exitCode, stderr: _stderr, ...details } = e.details;
    return new CommandError(
      e.message.replace(describeArgv(sshArgv), describeArgv(argv)),
      {
        argv: [...argv],
        exitCode: e.exitCode,
        stderr,
        stdout: e.stdout,
        cause: e.cause ?? e,
        details,
        ...(e.signal !== undefined ? { signal: e.signal } : {}),
      },
      e.code,
    );
  }
}
