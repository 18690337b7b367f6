/**
 * Classifies failures of the LVM tools by what they print on standard error, so that callers
 * get stable codes instead of `COMMAND_FAILED`. The patterns match the messages of LVM 2.03 in
 * `LC_ALL=C` (the runner always sets it); the unit tests replay stderr captured from the real tools.
 *
 * @module
 */
import { CommandError, isCommandError, type StorageErrorCode } from '@stowage/core';

/** What went wrong, as far as the message tells. */
export type LvmFailure =
  /** The volume group does not exist (or none of its PVs are present). */
  | 'vg-missing'
  /** The logical volume does not exist. */
  | 'lv-missing'
  /** The thin pool does not exist. */
  | 'pool-missing'
  /** An LV of that name already exists. */
  | 'exists'
  /** The device is open or held (udev probing it, a guest using it). */
  | 'busy'
  /** The thin pool's data space is exhausted. */
  | 'pool-full'
  /** The thin pool's metadata space is exhausted. */
  | 'metadata-full'
  /** The volume group has no room to grow an LV. */
  | 'vg-full'
  /** A requested size is smaller than the current one. */
  | 'shrink';

/** Message patterns, first match wins. Order matters: `busy` before `lv-missing`, `metadata-full` before `pool-full`. */
const PATTERNS: ReadonlyArray<readonly [LvmFailure, RegExp]> = [
  ['vg-missing', /Volume group "[^"]*" not found|Cannot process volume group /],
  ['exists', /already exists in volume group|already exists\b/],
  ['busy', /Device or resource busy|Logical volume \S+ in use|Can't remove open logical volume|is used by another device|contains a filesystem in use/],
  ['metadata-full', /metadata[^\n]*(?:reached threshold|full|out of space|exhausted)|Insufficient free space[^\n]*metadata/i],
  ['pool-full', /free space in thin pool[^\n]*reached threshold|thin pool[^\n]*(?:is full|out of (?:data )?space)|out of data space/i],
  ['vg-full', /Insufficient free space|insufficient free extents/i],
  ['shrink', /New size[^\n]*(?:smaller|less) than|not larger than existing size|Cannot reduce/i],
  ['pool-missing', /thin pool[^\n]*not found|Failed to find thin pool|Pool [^\n]* not found/i],
  ['lv-missing', /Failed to find logical volume|logical volume [^\n]* not found|One or more specified logical volume\(s\) not found|origin LV [^\n]* not found/i],
];

/**
 * Tells what an LVM tool's standard error says went wrong.
 *
 * @param stderr - the tool's standard error
 * @returns the failure, or `undefined` when no known message is found
 * @example
 * ```ts
 * classifyLvmStderr('  Volume group "pve" not found\n'); // 'vg-missing'
 * ```
 */
export function classifyLvmStderr(stderr: string): LvmFailure | undefined {
  for (const [kind, re] of PATTERNS) if (re.test(stderr)) return kind;
  return undefined;
}

/** The stable code of each {@link LvmFailure}. */
export const LVM_FAILURE_CODES: Readonly<Record<LvmFailure, StorageErrorCode>> = {
  'vg-missing': 'NOT_FOUND',
  'lv-missing': 'NOT_FOUND',
  'pool-missing': 'NOT_FOUND',
  exists: 'ALREADY_EXISTS',
  busy: 'BUSY',
  'pool-full': 'NO_SPACE',
  'metadata-full': 'NO_SPACE',
  'vg-full': 'NO_SPACE',
  shrink: 'CANNOT_SHRINK',
};

/**
 * Turns a failed LVM command into a {@link CommandError} with the code its message calls for
 * (`COMMAND_FAILED` when nothing matches), keeping argv, exit code and stderr, the original
 * error as `cause`, and `details.failure` naming the {@link LvmFailure}. Anything that is not a
 * `CommandError` (a timeout, an abort) is returned unchanged.
 *
 * @param error - what the runner threw
 * @param details - extra facts for `details` (volume group, pool, LV, pool usage)
 * @returns the classified error
 */
export function classifyLvmError(error: unknown, details: Readonly<Record<string, unknown>> = {}): unknown {
  if (!isCommandError(error)) return error;
  const failure = classifyLvmStderr(error.stderr);
  if (failure === undefined) return error;
  const code = LVM_FAILURE_CODES[failure];
  const first = firstLine(error.stderr);
  return new CommandError(
    `${error.argv[0] ?? 'lvm'}: ${first}`,
    { argv: error.argv, exitCode: error.exitCode, stderr: error.stderr, stdout: error.stdout, cause: error, details: { failure, ...details } },
    code,
  );
}

/**
 * The {@link LvmFailure} a classified error carries, if any.
 *
 * @param error - a caught value
 */
export function lvmFailureOf(error: unknown): LvmFailure | undefined {
  if (!isCommandError(error)) return undefined;
  const f = error.details['failure'];
  return typeof f === 'string' && f in LVM_FAILURE_CODES ? (f as LvmFailure) : classifyLvmStderr(error.stderr);
}

function firstLine(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !/^WARNING:/.test(l));
  return lines[0] ?? 'failed';
}
