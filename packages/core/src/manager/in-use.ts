/**
 * The volumes the caller's guests use. stowage does not know the guests: `pruneImages` and
 * `freeImage` take the caller's word for which volumes they use, as a list of volids or a
 * function asked about a volume.
 *
 * @module
 */
import { StorageError } from '../errors.js';
import type { ImageInfo } from '../plugin-types.js';

/**
 * The volumes the caller's guests use: their volids (those of other storages are ignored), or a
 * function asked about a volume of the storage.
 *
 * @example
 * ```ts
 * const inUse: InUse = ['local:100/base-100-disk-0.qcow2'];
 * const asked: InUse = (image) => myGuests.some((g) => g.disks.includes(image.volid));
 * ```
 */
export type InUse = readonly string[] | ((image: ImageInfo) => boolean | Promise<boolean>);

/**
 * Checks the shape of an `inUse` option given by a caller that may not be typed.
 *
 * @param inUse - the option
 * @param call - the call, for the message
 * @throws {@link StorageError} `INVALID_ARGUMENT`
 */
export function assertInUse(inUse: unknown, call: string): void {
  if (inUse === undefined || typeof inUse === 'function') return;
  if (Array.isArray(inUse) && inUse.every((v) => typeof v === 'string')) return;
  throw new StorageError('INVALID_ARGUMENT', `${call}: inUse must be a list of volids or a function`, { details: { inUse: typeof inUse } });
}

/**
 * Whether the caller says its guests use a volume.
 *
 * @param inUse - the caller's option
 * @param image - the volume, as listed
 */
export async function usedByCaller(inUse: InUse | undefined, image: ImageInfo): Promise<boolean> {
  if (inUse === undefined) return false;
  if (typeof inUse === 'function') return (await inUse(image)) === true;
  return inUse.includes(image.volid);
}
