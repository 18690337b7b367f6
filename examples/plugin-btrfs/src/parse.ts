/**
 * Parsers of `btrfs` output. Pure.
 *
 * @module
 */
import { StorageError } from '@stowage/core';

/** What `btrfs subvolume show` says about one subvolume. */
export interface SubvolumeInfo {
  /** The subvolume's UUID. */
  readonly uuid: string;
  /** The UUID of the subvolume it is a snapshot of, if any. */
  readonly parentUuid: string | undefined;
  /** `true` when the subvolume is read-only. */
  readonly readonly: boolean;
  /** The subvolume id (grows with every new subvolume, so it orders snapshots). */
  readonly id: number;
  /** Creation time, seconds since the epoch, when it parses. */
  readonly created: number | undefined;
}

/**
 * Parses `btrfs subvolume show <path>`.
 *
 * @param text - the command's standard output
 * @throws {@link StorageError} `CORRUPT` when the UUID or the subvolume id is missing
 */
export function parseSubvolumeShow(text: string): SubvolumeInfo {
  const field = (name: string): string | undefined => {
    const m = new RegExp(`^\\s*${name}:\\s*(.*?)\\s*$`, 'm').exec(text);
    return m?.[1];
  };
  const uuid = field('UUID');
  const id = field('Subvolume ID');
  if (!uuid || uuid === '-' || !id || !/^\d+$/.test(id)) {
    throw new StorageError('CORRUPT', 'unexpected output from btrfs subvolume show', { details: { output: text.slice(0, 500) } });
  }
  const parent = field('Parent UUID');
  const flags = field('Flags') ?? '';
  return {
    uuid,
    parentUuid: parent && parent !== '-' ? parent : undefined,
    readonly: /\breadonly\b/.test(flags),
    id: Number(id),
    created: parseCreationTime(field('Creation time')),
  };
}

/** `2026-11-21 10:50:54 +0000` -> seconds since the epoch. */
function parseCreationTime(text: string | undefined): number | undefined {
  const m = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/.exec(text ?? '');
  if (!m) return undefined;
  const ms = Date.parse(`${m[1]}T${m[2]}${m[3]}:${m[4]}`);
  return Number.isNaN(ms) ? undefined : ms / 1000;
}
