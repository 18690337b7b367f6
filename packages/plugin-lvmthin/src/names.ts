/**
 * Volume names of an `lvmthin` storage and the LV names derived from them. Pure.
 *
 * @module
 */
import { assertSafeVolname } from '@stowage/core/plugin';
import { StorageError, type ParsedVolume } from '@stowage/core';
import type { LvRecord } from './parse.js';

/** LVM's longest LV name (its `NAME_LEN` less the terminating byte). */
export const MAX_LV_NAME = 127;

/** Proxmox's volname rule for LVM-thin, narrowed to the characters LVM accepts in an LV name. */
const VOLNAME_RE = /^(vm|base)-([1-9][0-9]{0,8})-[A-Za-z0-9+_.-]+$/;

/** Substrings LVM reserves for its internal LVs; a name containing one is refused by `lvcreate`. */
const RESERVED_PARTS = ['_cdata', '_cmeta', '_corig', '_cpool', '_cvol', '_iorig', '_mimage', '_mlog', '_pmspare', '_rimage', '_rmeta', '_tdata', '_tmeta', '_vdata', '_vorigin', '_wcorig'];

/** The prefix of every snapshot LV. */
export const SNAPSHOT_PREFIX = 'snap_';

/** The prefix of the temporary LV a rollback builds before it swaps it in. */
export const ROLLBACK_PREFIX = 'stowage_rollback_';

/**
 * Parses an `lvmthin` volume name (`vm-<vmid>-…` or `base-<vmid>-…`). The base of a linked clone
 * is not part of the name on LVM-thin: it is found through the LV's `origin`.
 *
 * @param volname - the part of the volid after `:`
 * @returns the parsed volume, format `raw`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_VOLUME_ID` when the name is unsafe, not `vm-`/`base-`, too
 *   long for a snapshot name to fit, or contains a part LVM reserves
 * @example
 * ```ts
 * parseLvmThinVolname('base-100-disk-0'); // { vtype: 'images', vmid: 100, isBase: true, format: 'raw', ... }
 * ```
 * @see Proxmox `PVE::Storage::LvmThinPlugin::parse_volname`
 */
export function parseLvmThinVolname(volname: string): ParsedVolume {
  assertSafeVolname(volname);
  const bad = (why: string): never => {
    throw new StorageError('INVALID_VOLUME_ID', `invalid lvmthin volume name '${volname}': ${why}`, { details: { volname } });
  };
  const m = VOLNAME_RE.exec(volname);
  if (!m) bad('expected vm-<vmid>-<name> or base-<vmid>-<name> made of [A-Za-z0-9+_.-]');
  if (volname.length > MAX_LV_NAME) bad(`longer than ${MAX_LV_NAME} characters`);
  if (RESERVED_PARTS.some((p) => volname.includes(p))) bad('contains a name part reserved by LVM');
  const match = m as RegExpExecArray;
  return {
    volname,
    vtype: 'images',
    name: volname,
    vmid: Number(match[2]),
    baseName: undefined,
    baseVmid: undefined,
    isBase: match[1] === 'base',
    format: 'raw',
  };
}

/**
 * The LV name of a volume's snapshot: `snap_<volume>_<snapshot>`, as Proxmox names it.
 *
 * @param volname - the volume
 * @param snapshot - the snapshot name (already validated by the manager)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when the result is longer than LVM allows
 */
export function snapshotLvName(volname: string, snapshot: string): string {
  const name = `${SNAPSHOT_PREFIX}${volname}_${snapshot}`;
  if (name.length > MAX_LV_NAME) {
    throw new StorageError('INVALID_ARGUMENT', `snapshot LV name '${name}' is longer than ${MAX_LV_NAME} characters`, {
      details: { volname, snapshot },
    });
  }
  return name;
}

/**
 * The LV a request is about: the volume itself, or one of its snapshots.
 *
 * @param volname - the volume
 * @param snapshot - a snapshot name, if the request names one
 */
export function targetLvName(volname: string, snapshot: string | undefined): string {
  return snapshot === undefined ? volname : snapshotLvName(volname, snapshot);
}

/**
 * Splits a snapshot LV name into volume and snapshot, given the volumes that exist. The name
 * `snap_<vol>_<snap>` is ambiguous when volume names contain `_`; the longest existing volume
 * whose prefix matches wins.
 *
 * @param lvName - an LV name
 * @param volumes - the volume names on the storage
 * @returns the owner and snapshot name, or `undefined` when it is not a snapshot of any of them
 */
export function splitSnapshotLvName(lvName: string, volumes: Iterable<string>): { volname: string; snapshot: string } | undefined {
  if (!lvName.startsWith(SNAPSHOT_PREFIX)) return undefined;
  let best: string | undefined;
  for (const v of volumes) {
    const prefix = `${SNAPSHOT_PREFIX}${v}_`;
    if (lvName.length > prefix.length && lvName.startsWith(prefix) && (best === undefined || v.length > best.length)) best = v;
  }
  if (best === undefined) return undefined;
  return { volname: best, snapshot: lvName.slice(SNAPSHOT_PREFIX.length + best.length + 1) };
}

/**
 * Tells whether an LV is a snapshot of `volname` by name alone (`snap_<volname>_…`).
 *
 * @param lvName - an LV name
 * @param volname - the volume
 */
export function isSnapshotLvOf(lvName: string, volname: string): boolean {
  const prefix = `${SNAPSHOT_PREFIX}${volname}_`;
  return lvName.length > prefix.length && lvName.startsWith(prefix);
}

/**
 * The device path of an LV: `/dev/<vg>/<lv>`.
 *
 * @param vg - the volume group
 * @param lv - the logical volume
 * @see Proxmox `PVE::Storage::LvmThinPlugin::filesystem_path`
 */
export function lvDevicePath(vg: string, lv: string): string {
  return `/dev/${vg}/${lv}`;
}

/**
 * The start of the tag of every LV of a flatten to a snapshot (the new state, the old one, the
 * volume during the swap); the owner token follows. It hides nothing: it tells `collectGarbage`
 * what a killed flatten left to finish.
 */
export const FLATTEN_TAG_PREFIX = 'stowage-flatten=';

/** The prefix of the LV a flatten builds the new state in. */
export const FLATTEN_NEW_PREFIX = 'stowage_flatten_new_';

/** The prefix the volume's old state is renamed to during a flatten's swap. */
export const FLATTEN_OLD_PREFIX = 'stowage_flatten_old_';

/**
 * The prefix a hidden volume's LV is renamed to (the `hidden` attribute): `lvcreate -s` of the
 * template's own name then fails, so a clone of a hidden template is refused by LVM itself, in
 * the same step (`capabilities.cloneRefusesHidden`). The volume keeps its volname: the listing
 * reports the LV under it, and its clones' `origin` follows the rename.
 */
export const HIDDEN_PREFIX = 'stowage_hidden_';

/**
 * The LV name of a hidden volume: `stowage_hidden_<volname>`.
 *
 * @param volname - the volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` when the result is longer than LVM allows
 */
export function hiddenLvName(volname: string): string {
  const name = `${HIDDEN_PREFIX}${volname}`;
  if (name.length > MAX_LV_NAME) {
    throw new StorageError('INVALID_ARGUMENT', `volume name '${volname}' is too long to hide (the hidden LV name '${name}' is longer than ${MAX_LV_NAME} characters)`, {
      details: { volname, attribute: 'hidden' },
    });
  }
  return name;
}

/**
 * The volname of a hidden volume's LV (`stowage_hidden_<volname>`).
 *
 * @param lvName - an LV name
 * @returns the volname, or `undefined` when the LV is not named like a hidden volume
 */
export function hiddenVolname(lvName: string): string | undefined {
  return lvName.startsWith(HIDDEN_PREFIX) ? lvName.slice(HIDDEN_PREFIX.length) : undefined;
}

/**
 * The tag of a linked clone flattened off its origin (`flattenImage`): a thin clone never
 * depended on its origin's blocks, so flattening only drops the link the plugin reports (its
 * `parent`, and the `IN_USE` rule that keeps the origin), which LVM keeps in `origin` until the
 * origin is removed.
 */
export const DETACHED_TAG = 'stowage-detached';

/**
 * The owner token of a flatten's LV, from its tags.
 *
 * @param lv - the LV (its tags)
 * @returns the token, or `undefined` when the LV carries no flatten tag
 */
export function flattenOwner(lv: Pick<LvRecord, 'tags'>): string | undefined {
  return lv.tags.find((t) => t.startsWith(FLATTEN_TAG_PREFIX))?.slice(FLATTEN_TAG_PREFIX.length);
}

/** The start of the tag that marks an unfinished LV; the owner token follows. */
export const INCOMPLETE_TAG_PREFIX = 'stowage-incomplete=';

/**
 * The owner token of an unfinished LV, from its tags.
 *
 * @param lv - the LV (its tags)
 * @returns the token, or `undefined` when the LV is not marked unfinished
 */
export function incompleteOwner(lv: Pick<LvRecord, 'tags'>): string | undefined {
  const tag = lv.tags.find((t) => t.startsWith(INCOMPLETE_TAG_PREFIX));
  return tag?.slice(INCOMPLETE_TAG_PREFIX.length);
}

