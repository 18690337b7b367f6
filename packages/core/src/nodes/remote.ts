/**
 * How a node's `stowage` command is asked things over ssh: pure argv builders for its `--json`
 * verbs, and parsers for what it prints (its answer on standard output, its error as the
 * `{"error": {...}}` line on standard error).
 *
 * @module
 */
import { StorageError, STORAGE_ERROR_CODES, type StorageErrorCode } from '../errors.js';
import type { StreamFormat } from '../capabilities.js';
import type { TransferOptions } from '../plugin-types.js';

/** How to run `stowage` on a node. */
export interface RemoteStowage {
  /**
   * The command, program first: `['stowage']`, or e.g. `['/usr/bin/node', '/opt/stowage/bin.js']`.
   * @default ['stowage']
   */
  readonly command?: readonly string[] | undefined;
  /** The node's storage configuration (`--config`); the node's own default when absent. */
  readonly config?: string | undefined;
}

/**
 * The argv of one `stowage` verb on a node, with `--json` (and `--config` when set). Pure.
 *
 * @param remote - the command and configuration
 * @param verb - the verb and its arguments, e.g. `['status', 'local']`
 * @returns the argv to hand to the node's runner
 * @example
 * ```ts
 * remoteStowageArgv({ config: '/etc/stowage/b.cfg' }, ['status', 'local']);
 * // ['stowage', 'status', 'local', '--config', '/etc/stowage/b.cfg', '--json']
 * ```
 */
export function remoteStowageArgv(remote: RemoteStowage, verb: readonly string[]): string[] {
  const command = remote.command ?? ['stowage'];
  if (command.length === 0) throw new TypeError('the remote stowage command is empty');
  return [...command, ...verb, ...(remote.config !== undefined ? ['--config', remote.config] : []), '--json'];
}

/**
 * The snapshot options of a transfer as `stowage` flags. Pure.
 *
 * @param options - snapshot, base snapshot, with snapshots
 * @returns `--snapshot S`, `--base S`, `--with-snapshots` as set
 */
export function transferFlags(options: TransferOptions): string[] {
  return [
    ...(options.snapshot !== undefined ? ['--snapshot', options.snapshot] : []),
    ...(options.baseSnapshot !== undefined ? ['--base', options.baseSnapshot] : []),
    ...(options.withSnapshots === true ? ['--with-snapshots'] : []),
  ];
}

/**
 * Parses what a node's `stowage ... --json` printed on standard output.
 *
 * @param node - the node's name, for the message
 * @param stdout - the output
 * @returns the parsed JSON
 * @throws {@link StorageError} `COMMAND_FAILED` when it is not JSON
 */
export function parseRemoteAnswer(node: string, stdout: string): unknown {
  try {
    return JSON.parse(stdout) as unknown;
  } catch (e) {
    throw new StorageError('COMMAND_FAILED', `node '${node}' answered with something that is not JSON: ${stdout.slice(0, 200)}`, { cause: e, details: { node } });
  }
}

/**
 * Turns the `{"error": {...}}` line a failed `stowage ... --json` writes last on standard error
 * into a {@link StorageError} with the node's code, so that a node's `ALREADY_EXISTS` or
 * `NO_SPACE` reads as such here. Pure.
 *
 * @param node - the node's name, for the message
 * @param stderr - the command's standard error
 * @returns the error, or `undefined` when stderr holds no such line
 */
export function parseRemoteError(node: string, stderr: string): StorageError | undefined {
  const lines = stderr.trim().split('\n').reverse();
  for (const line of lines) {
    if (!line.startsWith('{"error":')) continue;
    try {
      const { error } = JSON.parse(line) as { error?: { code?: unknown; message?: unknown; details?: unknown } };
      if (!error || typeof error.message !== 'string') return undefined;
      const code: StorageErrorCode = STORAGE_ERROR_CODES.includes(error.code as StorageErrorCode) ? (error.code as StorageErrorCode) : 'COMMAND_FAILED';
      const details = typeof error.details === 'object' && error.details !== null ? (error.details as Record<string, unknown>) : {};
      return new StorageError(code, `node '${node}': ${error.message}`, { details: { ...details, node, remoteCode: error.code } });
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/**
 * The argv verb of `stowage receive` on a node: the target, the sender's offer, the space needed
 * and the snapshot options. Pure.
 *
 * @param volid - the target volume
 * @param options - offer (best first), bytes needed, snapshot options
 * @returns the verb and its arguments, for {@link remoteStowageArgv}
 * @example
 * ```ts
 * receiveArgs('local:100/vm-100-disk-0.raw', { offer: ['raw+size', 'qcow2+size'], need: 1048576 });
 * // ['receive', 'local:100/vm-100-disk-0.raw', '--offer', 'raw+size,qcow2+size', '--need', '1048576']
 * ```
 */
export function receiveArgs(volid: string, options: TransferOptions & { readonly offer: readonly StreamFormat[]; readonly need?: number | undefined }): string[] {
  return ['receive', volid, '--offer', options.offer.join(','), ...(options.need !== undefined ? ['--need', String(options.need)] : []), ...transferFlags(options)];
}

/**
 * Parses the line a node's `stowage receive` prints once it is ready to read the stream:
 * `{"ready":{"format":"raw+size"}}`. Pure.
 *
 * @param node - the node's name, for the message
 * @param line - the first line of its standard output
 * @param offer - the formats offered: the node must have chosen one of them
 * @returns the format the node chose
 * @throws {@link StorageError} `COMMAND_FAILED` for anything else
 */
export function parseReceiveReady(node: string, line: string, offer: readonly StreamFormat[]): StreamFormat {
  const answer = parseRemoteAnswer(node, line) as { ready?: { format?: unknown } } | null;
  const format = answer?.ready?.format;
  if (typeof format !== 'string' || !offer.includes(format as StreamFormat)) {
    throw new StorageError('COMMAND_FAILED', `node '${node}' answered 'receive' with ${line.slice(0, 200)}, not a ready line with a format offered`, { details: { node } });
  }
  return format as StreamFormat;
}
