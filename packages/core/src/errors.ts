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
  'INVALID_STATE',
] as const;

/** One of {@link STORAGE_ERROR_CODES}. */
export type StorageErrorCode = (typeof STORAGE_ERROR_CODES)[number];

/**
 * Facts any code may carry. Every `details` object is JSON-serialisable; the fields below are
 * named the same wherever they appear, and plugins may add their own.
 */
export interface CommonErrorDetails {
  /** The volume id concerned (`storeid:volname`). */
  readonly volid?: string;
  /** The volume name concerned, within its storage. */
  readonly volname?: string;
  /** The storage id concerned. */
  readonly storeId?: string;
  /** The snapshot concerned. */
  readonly snapshot?: string;
  /** The file or directory concerned. */
  readonly path?: string;
  /** Further facts a plugin adds. */
  readonly [key: string]: unknown;
}

/** `details` of `NOT_SUPPORTED`. */
export interface NotSupportedDetails extends CommonErrorDetails {
  /** For a copy with no common stream format: what the source can export. */
  readonly exportFormats?: readonly string[];
  /** For a copy with no common stream format: what the target can import. */
  readonly importFormats?: readonly string[];
}

/** `details` of `NOT_FOUND`. */
export interface NotFoundDetails extends CommonErrorDetails {
  /** The volume is still being made (an import or allocation in progress). */
  readonly inProgress?: boolean;
  /** The unfinished data of an import or allocation was removed by another process before it was published. */
  readonly vanished?: boolean;
  /** For a storage id that is not configured: the storage ids that are. */
  readonly configured?: readonly string[];
}

/** `details` of `ALREADY_EXISTS`. */
export interface AlreadyExistsDetails extends CommonErrorDetails {
  /**
   * When the manager chose the name (no name was given) and gave up: every name it tried, in
   * order, each refused as taken by the plugin's create.
   */
  readonly tried?: readonly string[];
}

/** `details` of `IN_USE`. */
export interface InUseDetails extends CommonErrorDetails {
  /** The volume ids of the linked clones that use the volume, when clones are the reason. */
  readonly clones?: readonly string[];
}

/** `details` of `INVALID_ARGUMENT`. */
export interface InvalidArgumentDetails extends CommonErrorDetails {
  /** For a size past what the format can hold on this storage: the largest size, in bytes. */
  readonly maxSize?: number;
}

/** `details` of `CONFIG_INVALID`. */
export interface ConfigInvalidDetails extends CommonErrorDetails {
  /** Every problem found (always set on a {@link ConfigError}). */
  readonly issues?: readonly ConfigIssue[];
}

/** `details` of `LOCK_TIMEOUT`. */
export interface LockTimeoutDetails extends CommonErrorDetails {
  /** For a configuration change: where the configuration lives. */
  readonly location?: string;
  /** For a configuration change: how many read-modify-write tries were made. */
  readonly attempts?: number;
  /** On a cluster: who holds the lock, as the lock service reports it. */
  readonly holder?: unknown;
}

/** `details` of `COMMAND_FAILED` (and of any code a {@link CommandError} was classified to). */
export interface CommandFailedDetails extends CommonErrorDetails {
  /** The argument vector that was run (set on a {@link CommandError}). */
  readonly argv?: readonly string[];
  /** The exit code; `undefined` when killed by a signal or never started. */
  readonly exitCode?: number | undefined;
  /** What the command wrote to standard error. */
  readonly stderr?: string;
}

/** `details` of `INVALID_STATE`. */
export interface InvalidStateDetails extends CommonErrorDetails {
  /** For a template refused because the volume has snapshots: their names. */
  readonly snapshots?: readonly string[];
}

/** `details` of `SNAPSHOT_BLOCKERS`. */
export interface SnapshotBlockersDetails extends CommonErrorDetails {
  /** The newer snapshots that block the rollback, oldest first (absent when a tool refused without naming them). */
  readonly blockers?: readonly string[];
}

/** `details` of `CORRUPT`. */
export interface CorruptDetails extends CommonErrorDetails {
  /** For an image the confinement gate refuses: why. */
  readonly problems?: readonly string[];
}

/** `details` of `INTERNAL`. */
export interface InternalDetails extends CommonErrorDetails {
  /** For a system error without a code of its own: its `errno` name (`EXDEV`, ...). */
  readonly errno?: string;
}

/**
 * The `details` type of each code: what {@link isStorageError} narrows `e.details` to.
 *
 * @example
 * ```ts
 * if (isStorageError(e, 'IN_USE')) console.log(e.details.clones?.join(', ')); // clones: readonly string[] | undefined
 * ```
 */
export interface StorageErrorDetailsMap {
  /** See {@link NotSupportedDetails}. */
  NOT_SUPPORTED: NotSupportedDetails;
  /** See {@link NotFoundDetails}. */
  NOT_FOUND: NotFoundDetails;
  /** See {@link AlreadyExistsDetails}. */
  ALREADY_EXISTS: AlreadyExistsDetails;
  /** See {@link InUseDetails}. */
  IN_USE: InUseDetails;
  /** Common facts only. */
  INVALID_VOLUME_ID: CommonErrorDetails;
  /** See {@link InvalidArgumentDetails}. */
  INVALID_ARGUMENT: InvalidArgumentDetails;
  /** See {@link ConfigInvalidDetails}. */
  CONFIG_INVALID: ConfigInvalidDetails;
  /** See {@link LockTimeoutDetails}. */
  LOCK_TIMEOUT: LockTimeoutDetails;
  /** Common facts only. */
  LOCK_LOST: CommonErrorDetails;
  /** See {@link CommandFailedDetails}. */
  COMMAND_FAILED: CommandFailedDetails;
  /** Common facts only. */
  TIMEOUT: CommonErrorDetails;
  /** Common facts only. */
  ABORTED: CommonErrorDetails;
  /** Common facts only. */
  BUSY: CommonErrorDetails;
  /** Common facts only. */
  NO_SPACE: CommonErrorDetails;
  /** Common facts only. */
  CANNOT_SHRINK: CommonErrorDetails;
  /** See {@link SnapshotBlockersDetails}. */
  SNAPSHOT_BLOCKERS: SnapshotBlockersDetails;
  /** Common facts only. */
  API_VERSION_MISMATCH: CommonErrorDetails;
  /** Common facts only. */
  PROTECTED: CommonErrorDetails;
  /** Common facts only. */
  UNAVAILABLE: CommonErrorDetails;
  /** Common facts only. */
  PERMISSION_DENIED: CommonErrorDetails;
  /** See {@link CorruptDetails}. */
  CORRUPT: CorruptDetails;
  /** See {@link InternalDetails}. */
  INTERNAL: InternalDetails;
  /** See {@link InvalidStateDetails}. */
  INVALID_STATE: InvalidStateDetails;
}

/** Structured, code-specific facts attached to a {@link StorageError}: the {@link StorageErrorDetailsMap} entry of its code. */
export type StorageErrorDetails<K extends StorageErrorCode = StorageErrorCode> = StorageErrorDetailsMap[K];

/** Options accepted by the {@link StorageError} constructor. */
export interface StorageErrorOptions<K extends StorageErrorCode = StorageErrorCode> {
  /** The lower-level error that caused this one. */
  readonly cause?: unknown;
  /** Structured facts for programs (volume ids, blockers, clones, pool usage, ...). */
  readonly details?: StorageErrorDetails<K>;
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
export class StorageError<K extends StorageErrorCode = StorageErrorCode> extends Error {
  /** The stable code; match on this, never on the message. */
  readonly code: K;
  /** Structured facts for programs, of the shape its code promises ({@link StorageErrorDetailsMap}). */
  readonly details: StorageErrorDetails<K>;

  /**
   * @param code - the stable code
   * @param message - a sentence for people
   * @param options - cause and details
   */
  constructor(code: K, message: string, options: StorageErrorOptions<K> = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    Object.defineProperty(this, BRAND, { value: true });
  }

  /** A plain object for logs and `--json` output. */
  toJSON(): { code: K; message: string; details: StorageErrorDetails<K> } {
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
export class ConfigError extends StorageError<'CONFIG_INVALID'> {
  /** Every problem found, in order. */
  readonly issues: readonly ConfigIssue[];

  /**
   * @param message - a sentence for people
   * @param issues - every problem found
   * @param options - cause and extra details
   */
  constructor(message: string, issues: readonly ConfigIssue[], options: StorageErrorOptions<'CONFIG_INVALID'> = {}) {
    super('CONFIG_INVALID', message, { cause: options.cause, details: { issues, ...options.details } });
    this.issues = issues;
  }
}
Object.defineProperty(ConfigError.prototype, 'name', { value: 'ConfigError', enumerable: false });

/**
 * Tells whether a value is a {@link StorageError}, optionally of one code, and narrows its
 * `details` to that code's shape. Works across copies of the package (it checks a brand, not
 * the prototype chain).
 *
 * @param e - any caught value
 * @param code - when given, also require this code
 * @example
 * ```ts
 * if (isStorageError(e, 'SNAPSHOT_BLOCKERS')) console.log('delete first:', e.details.blockers);
 * ```
 */
export function isStorageError<K extends StorageErrorCode>(e: unknown, code: K): e is StorageError<K>;
/**
 * Tells whether a value is a {@link StorageError} of any code.
 *
 * @param e - any caught value
 */
export function isStorageError(e: unknown): e is StorageError;
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
