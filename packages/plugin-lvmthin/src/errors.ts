/**
 * Classifies failures of the LVM tools by what they print on standard error, so that callers
 * get stable codes instead of `COMMAND_FAILED`. The patterns match the messages of LVM 2.03 in
 * `LC_ALL=C` (the runner always sets it); the unit tests replay stderr captured from the real tools.
 *
 * @module
 */
import type { CommandError, StorageErrorCode } from '@stowage/core';
import { defineFailureClassifier, firstStderrLine, type StderrRule } from '@stowage/core/plugin';

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

/**
 * The rules, first match wins. Order matters: `busy` before `lv-missing`, `metadata-full` before
 * `pool-full`.
 */
const RULES: ReadonlyArray<StderrRule<LvmFailure>> = [
  [/Volume group "[^"]*" not found|Cannot process volume group /, 'NOT_FOUND', 'vg-missing'],
  [/already exists in volume group|already exists\b/, 'ALREADY_EXISTS', 'exists'],
  [/Device or resource busy|Logical volume \S+ in use|Can't remove open logical volume|is used by another device|contains a filesystem in use/, 'BUSY', 'busy'],
  [/metadata[^\n]*(?:reached threshold|full|out of space|exhausted)|Insufficient free space[^\n]*metadata/i, 'NO_SPACE', 'metadata-full'],
  [/free space in thin pool[^\n]*reached threshold|thin pool[^\n]*(?:is full|out of (?:data )?space)|out of data space/i, 'NO_SPACE', 'pool-full'],
  [/Insufficient free space|insufficient free extents/i, 'NO_SPACE', 'vg-full'],
  [/New size[^\n]*(?:smaller|less) than|not larger than existing size|Cannot reduce/i, 'CANNOT_SHRINK', 'shrink'],
  [/thin pool[^\n]*not found|Failed to find thin pool|Pool [^\n]* not found/i, 'NOT_FOUND', 'pool-missing'],
  [/Failed to find logical volume|logical volume [^\n]* not found|One or more specified logical volume\(s\) not found|origin LV [^\n]* not found/i, 'NOT_FOUND', 'lv-missing'],
];

/** How the LVM tools' failures are read: the rules, and messages made of the tool and its first line of stderr. */
const lvmFailures = defineFailureClassifier(RULES, { message: (e) => `${e.argv[0] ?? 'lvm'}: ${firstStderrLine(e.stderr, /^WARNING:/)}` });

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
  return lvmFailures.failureIn(stderr);
}

/** The stable code of each {@link LvmFailure}. */
export const LVM_FAILURE_CODES = Object.fromEntries(RULES.map(([, code, failure]) => [failure, code])) as Readonly<Record<LvmFailure, StorageErrorCode>>;

/**
 * Turns a failed LVM command into a {@link CommandError} with the code its message calls for
 * (see `defineFailureClassifier` in the core): the message names the tool and the line of stderr
 * that says why, `details.failure` names the {@link LvmFailure}, and `details` gets the extra
 * facts. Anything that is not a failed command (a timeout, an abort) is returned unchanged.
 *
 * @param error - what the runner threw
 * @param details - extra facts for `details` (volume group, pool, LV, pool usage)
 * @returns the classified error
 */
export function classifyLvmError(error: unknown, details: Readonly<Record<string, unknown>> = {}): unknown {
  return lvmFailures.classify(error, details);
}

/**
 * The {@link LvmFailure} a classified error carries, if any.
 *
 * @param error - a caught value
 */
export function lvmFailureOf(error: unknown): LvmFailure | undefined {
  return lvmFailures.failureOf(error);
}
