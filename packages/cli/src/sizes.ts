/**
 * Size arguments: `4G`, `512M`, `10240`, and the relative `+1G` of `resize`. Pure functions.
 *
 * @module
 */
import { StorageError } from '@stowage/core';

/** Binary unit multipliers; a bare number is bytes. `K` is 1024 bytes, as in Proxmox and `qemu-img`. */
const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  B: 1,
  K: 1024,
  M: 1024 ** 2,
  G: 1024 ** 3,
  T: 1024 ** 4,
  P: 1024 ** 5,
};

/** The largest size the parser accepts: the largest safe integer (just under 8 PiB); the manager may refuse less. */
export const MAX_SIZE_BYTES = Number.MAX_SAFE_INTEGER;

const SIZE_RE = /^(\d+(?:\.\d+)?)\s*([KMGTP]?)(?:i?B)?$/i;

/** A parsed size argument. */
export interface SizeSpec {
  /** `true` for `+<size>`: grow by this much rather than to this size. */
  readonly relative: boolean;
  /** The size (or growth) in bytes. */
  readonly bytes: number;
}

function invalid(text: string, why: string): never {
  throw new StorageError('INVALID_ARGUMENT', `invalid size '${text}': ${why}`, { details: { size: text } });
}

/**
 * Parses an absolute size: a number of bytes, or a number with a binary unit
 * (`K`, `M`, `G`, `T`, `P`, optionally followed by `B` or `iB`, any case). Fractions are allowed
 * when the result is a whole number of bytes (`1.5G`).
 *
 * @param text - the argument, e.g. `4G`
 * @returns the size in bytes, a positive safe integer
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` on anything else: empty, zero, negative,
 *   a unit it does not know, a fraction of a byte, or more than {@link MAX_SIZE_BYTES}
 * @example
 * ```ts
 * parseSize('4G');   // 4294967296
 * parseSize('512M'); // 536870912
 * ```
 */
export function parseSize(text: string): number {
  const spec = parseSizeSpec(text);
  if (spec.relative) invalid(text, 'a relative size is only accepted by resize');
  return spec.bytes;
}

/**
 * Parses a size that may be relative (`+1G`), as `resize` takes.
 *
 * @param text - the argument, e.g. `+1G` or `8G`
 * @returns whether it is relative, and the bytes
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` as {@link parseSize}, and for a leading `-`
 *   (volumes never shrink through a relative size)
 */
export function parseSizeSpec(text: string): SizeSpec {
  const trimmed = text.trim();
  if (trimmed === '') invalid(text, 'empty');
  if (trimmed.startsWith('-')) invalid(text, 'negative sizes are not accepted');
  const relative = trimmed.startsWith('+');
  const body = relative ? trimmed.slice(1) : trimmed;
  const m = SIZE_RE.exec(body);
  if (!m) invalid(text, 'expected a number with an optional unit K, M, G, T or P');
  const [, num = '', unit = ''] = m;
  const bytes = scale(num, UNITS[unit.toUpperCase()] ?? 1);
  if (bytes === undefined) invalid(text, 'not a whole number of bytes');
  if (bytes === 0) invalid(text, 'must be greater than zero');
  if (bytes > MAX_SIZE_BYTES) invalid(text, 'larger than 8 PiB');
  return { relative, bytes };
}

/** Multiplies a decimal string by a power of 1024 exactly, or returns undefined for a fraction of a byte. */
function scale(num: string, multiplier: number): number | undefined {
  const [whole = '0', frac = ''] = num.split('.');
  const digits = BigInt(whole + frac) * BigInt(multiplier);
  const divisor = 10n ** BigInt(frac.length);
  if (digits % divisor !== 0n) return undefined;
  const result = digits / divisor;
  return result > BigInt(MAX_SIZE_BYTES) ? Number.POSITIVE_INFINITY : Number(result);
}

/**
 * Formats bytes for people, in binary units with up to one decimal (`4.0G`, `512M`, `1023B`).
 *
 * @param bytes - a non-negative number of bytes
 * @returns a short text such as `4.0G`
 */
export function formatSize(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes < 0) return '-';
  const units = ['B', 'K', 'M', 'G', 'T', 'P', 'E'];
  let value = bytes;
  let i = 0;
  while (value >= 1024 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  if (i === 0) return `${bytes}B`;
  return `${value >= 100 ? Math.round(value).toString() : value.toFixed(1)}${units[i]}`;
}
