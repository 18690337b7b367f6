/**
 * The one error type of stowage, with stable codes.
 *
 * Codes are API: they never change meaning within a major version. Messages are for people
 * and may change at any time, so callers and tests match on {@link StorageError.code}.
 *
 * @module
 */

/**
 * Every stable error code stowage throws. See `docs/errors.md` for when each is thrown and
 * what to do about it.
 */
export const STORAGE_ERROR_CODES = [
  'NOT_SUPPORTED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'IN_USE',
  'INVALID_VOLUME_ID',
  'INVALID_ARGUMENT',
  'CONFIG_INVALID',
  'LOCK_TIMEOUT',
  'LOCK_LOST',
  'COMMAND_FAILED',
  'TIMEOUT',
  'ABORTED',
  'BUSY',
  'NO_SPACE',
  'CANNOT_SHRINK',
  'SNAPSHOT_BLOCKERS',
  'API_VERSION_MISMATCH',
  'PROTECTED',
  'UNAVAILABLE',
  'PERMISSION_DENIED',
  'CORRUPT',
  'INTERNAL',
] as const;

/** One of {@link STORAGE_ERROR_CODES}. */
export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

/** Structured, code-specific facts attached to a {@link StorageError}; always JSON-serialisable. */
export type StorageErrorDetails = Readonly<Record<string, unknown>>;

/** Options accepted by the {@link StorageError} constructor. */
export interface StorageErrorOptions {
  /** The lower-level error that caused this one. */
  readonly cause?: unknown;
  /** Structured facts for programs (volume ids, blockers, clones, pool usage, ...). */
  readonly details?: StorageErrorDetails;
}

const BRAND = Symbol.for('stowage.StorageError');

/**
 * The error every stowage API throws on a failure it understands.
 *
 * @example
 * ```ts
 * try {
 *   await storages.freeImage('local:100/base-100-disk-0.qcow2');
 * } catch (e) {
 *   if (isStorageError(e, 'IN_USE')) console.log('still used by', e.details.clones);
 *   else throw e;
 * }
 * ```
 */
export class StorageError extends Error {
  /** The stable code; match on this, never on the message. */
  readonly code: StorageErrorCode;
  /** Structured facts for programs; empty when there are none. */
  readonly details: StorageErrorDetails;

  /**
   * @param code - the stable code
   * @param message - a sentence for people
   * @param options - cause and details
   */
  constructor(code: StorageErrorCode, message: string, options: StorageErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A plain object for logs and `--json` output. */
  toJSON(): { code: StorageErrorCode; message: string; details: StorageErrorDetails } {
    return { code: this.code, message: this.message, details: this.details };
  }
}
Object.defineProperty(StorageError.prototype, 'name', { value: 'StorageError', enumerable: false });

/** Options of {@link CommandError}. */
export interface CommandErrorOptions extends StorageErrorOptions {
  /** The argument vector that was run (program first). */
  readonly argv: readonly string[];
  /** The exit code, or `undefined` when the process was killed by a signal or never started. */
  readonly exitCode: number | undefined;
  /** What the command wrote to standard error (trimmed, possibly shortened). */
  readonly stderr: string;
  /** What the command wrote to standard output, when it was captured. */
  readonly stdout?: string;
  /** The signal that ended the process, if any. */
  readonly signal?: string;
}

/**
 * A command run by a {@link @stowage/core!plugin.CommandRunner | CommandRunner} failed. Its code is `COMMAND_FAILED` unless a plugin
 * classified the failure further (for example `NO_SPACE` from a full thin pool).
 */
export class CommandError extends StorageError {
  /** The argument vector that was run (program first). */
  readonly argv: readonly string[];
  /** The exit code, or `undefined` when killed by a signal or never started. */
  readonly exitCode: number | undefined;
  /** Standard error of the command. */
  readonly stderr: string;
  /** Standard output of the command, when captured. */
  readonly stdout: string;
  /** The signal that ended the process, if any. */
  readonly signal: string | undefined;

  /**
   * @param message - a sentence for people
   * @param options - argv, exit code, output, cause
   * @param code - defaults to `COMMAND_FAILED`
   */
  constructor(message: string, options: CommandErrorOptions, code: StorageErrorCode = 'COMMAND_FAILED') {
    super(code, message, {
      cause: options.cause,
      details: { argv: options.argv, exitCode: options.exitCode, stderr: options.stderr, ...options.details },
    });
    this.argv = options.argv;
    this.exitCode = options.exitCode;
    this.stderr = options.stderr;
    this.stdout = options.stdout ?? '';
    this.signal = options.signal;
  }
}
Object.defineProperty(CommandError.prototype, 'name', { value: 'CommandError', enumerable: false });

/** One problem found while validating a configuration. */
export interface ConfigIssue {
  /** Path of the offending key, e.g. `['local', 'path']`. */
  readonly path: readonly (string | number)[];
  /** What is wrong. */
  readonly message: string;
  /** Line in a `storage.cfg` file, when the problem came from one. */
  readonly line?: number;
}

/** A configuration is invalid: code `CONFIG_INVALID`, with every issue listed. */
export class ConfigError extends StorageError {
  /** Every problem found, in order. */
  readonly issues: readonly ConfigIssue[];

  /**
   * @param message - a sentence for people
   * @param issues - every problem found
   * @param options - cause and extra details
   */
  constructor(message: string, issues: readonly ConfigIssue[], options: StorageErrorOptions = {}) {
    super('CONFIG_INVALID', message, { cause: options.cause, details: { issues, ...options.details } });
    this.issues = issues;
  }
}
Object.defineProperty(ConfigError.prototype, 'name', { value: 'ConfigError', enumerable: false });

/**
 * Tells whether a value is a {@link StorageError}, optionally of one code. Works across copies
 * of the package (it checks a brand, not the prototype chain).
 *
 * @param e - any caught value
 * @param code - when given, also require this code
 */
export function isStorageError(e: unknown, code?: StorageErrorCode): e is StorageError {
  if (typeof e !== 'object' || e === null || (e as Record<symbol, unknown>)[BRAND] !== true) return false;
  return code === undefined || (e as StorageError).code === code;
}

/**
 * Tells whether a value is a {@link CommandError}.
 *
 * @param e - any caught value
 */
export function isCommandError(e: unknown): e is CommandError {
  return isStorageError(e) && Array.isArray((e as CommandError).argv);
}
