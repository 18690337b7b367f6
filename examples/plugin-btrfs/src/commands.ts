/**
 * Argument vectors for the `btrfs` tool. Pure: they only build arrays, run by `ctx.run`.
 *
 * @module
 */

/** `btrfs subvolume create`: a new, empty subvolume. */
export function subvolumeCreateArgs(path: string): string[] {
  return ['btrfs', '-q', 'subvolume', 'create', '--', path];
}

/**
 * `btrfs subvolume snapshot`: a snapshot of `source` at `target`, read-only when asked.
 *
 * @param source - an existing subvolume
 * @param target - the new subvolume's path
 * @param readonly - make the snapshot read-only (`-r`)
 */
export function subvolumeSnapshotArgs(source: string, target: string, readonly: boolean): string[] {
  return ['btrfs', '-q', 'subvolume', 'snapshot', ...(readonly ? ['-r'] : []), '--', source, target];
}

/** `btrfs subvolume delete` of one or more subvolumes, in order. */
export function subvolumeDeleteArgs(paths: readonly string[]): string[] {
  return ['btrfs', '-q', 'subvolume', 'delete', '--', ...paths];
}

/** `btrfs subvolume show`: UUIDs, flags and times of one subvolume. */
export function subvolumeShowArgs(path: string): string[] {
  return ['btrfs', 'subvolume', 'show', '--', path];
}

/** `btrfs property set <path> ro true|false`: make a subvolume read-only or writable. */
export function setReadonlyArgs(path: string, readonly: boolean): string[] {
  return ['btrfs', 'property', 'set', '-ts', path, 'ro', readonly ? 'true' : 'false'];
}
