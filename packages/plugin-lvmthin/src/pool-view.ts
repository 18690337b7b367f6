/**
 * A view of one `lvs` report from the point of view of one thin pool: its volumes, their
 * snapshots, linked clones and parents, and the pool's usage. Pure.
 *
 * @module
 */
import { formatVolumeId } from '@stowage/core';
import type { LvRecord } from './parse.js';
import { DETACHED_TAG, hiddenVolname, incompleteOwner, isSnapshotLvOf, splitSnapshotLvName } from './names.js';

/** Volume names of this storage: thin LVs named like Proxmox's LVM-thin volumes. */
const VOLUME_LV_RE = /^(vm|base)-[1-9][0-9]{0,8}-[A-Za-z0-9+_.-]+$/;

/** One snapshot of a volume. */
export interface SnapshotLv {
  /** The snapshot name (the part after `snap_<volume>_`). */
  readonly snapshot: string;
  /** Its LV. */
  readonly lv: LvRecord;
}

/** The health of a thin pool, from `lv_attr[8]`. */
export type PoolHealth = 'ok' | 'out-of-data-space' | 'metadata-read-only' | 'failed';

/** Usage of a thin pool in bytes and percent. */
export interface PoolUsage {
  /** The pool's data size. */
  readonly total: number;
  /** Data bytes in use. */
  readonly used: number;
  /** Data bytes free. */
  readonly available: number;
  /** Percent of the data in use; `undefined` when LVM cannot tell (a failed pool). */
  readonly dataPercent: number | undefined;
  /** Percent of the metadata in use. */
  readonly metadataPercent: number | undefined;
  /** The metadata size. */
  readonly metadataSize: number | undefined;
  /** `true` when the pool LV is active. */
  readonly active: boolean;
  /** Whether the pool can still take writes. */
  readonly health: PoolHealth;
}

const HEALTH: Readonly<Record<string, PoolHealth>> = { D: 'out-of-data-space', M: 'metadata-read-only', F: 'failed' };

/** The LVs of one volume group seen from one thin pool. */
export class PoolView {
  /** The thin pool LV, `undefined` when the volume group has none of that name. */
  readonly pool: LvRecord | undefined;
  /**
   * The storage's volumes (`vm-`/`base-` thin LVs of the pool), by volname, in report order. A
   * hidden volume is here under its volname; its LV (`.name`) is `stowage_hidden_<volname>`.
   */
  readonly volumes: ReadonlyMap<string, LvRecord>;
  /** The volnames of the hidden volumes (their LVs renamed `stowage_hidden_<volname>`). */
  readonly hidden: ReadonlySet<string>;
  /** Every thin LV of the pool, by name (unfinished ones too: their names are taken). */
  readonly thinLvs: ReadonlyMap<string, LvRecord>;
  /** The thin LVs marked unfinished (an import under way, or left by a dead one): not volumes. */
  readonly unfinished: readonly LvRecord[];

  /**
   * @param records - the parsed `lvs` report of the volume group
   * @param poolName - the configured thin pool
   */
  constructor(records: readonly LvRecord[], poolName: string) {
    this.pool = records.find((r) => r.name === poolName && r.type === 't');
    const thin = new Map<string, LvRecord>();
    const volumes = new Map<string, LvRecord>();
    const unfinished: LvRecord[] = [];
    const hiddenLvs: [string, LvRecord][] = [];
    for (const r of records) {
      if (r.type !== 'V' || r.pool !== poolName) continue;
      thin.set(r.name, r);
      const hiddenAs = hiddenVolname(r.name);
      if (incompleteOwner(r) !== undefined) unfinished.push(r);
      else if (VOLUME_LV_RE.test(r.name)) volumes.set(r.name, r);
      else if (hiddenAs !== undefined && VOLUME_LV_RE.test(hiddenAs)) hiddenLvs.push([hiddenAs, r]);
    }
    // a visible LV of the same name wins (the plugin never makes one while the hidden one exists)
    const hidden = new Set<string>();
    for (const [volname, r] of hiddenLvs) {
      if (volumes.has(volname)) continue;
      volumes.set(volname, r);
      hidden.add(volname);
    }
    this.thinLvs = thin;
    this.volumes = volumes;
    this.hidden = hidden;
    this.unfinished = unfinished;
  }

  /**
   * The names of the thin LVs that are volumes or unfinished volumes, and of the hidden volumes:
   * every name a new volume must not take.
   */
  takenNames(): string[] {
    return [...[...this.thinLvs.keys()].filter((n) => VOLUME_LV_RE.test(n)), ...this.hidden];
  }

  /**
   * Tells whether a volume name is taken: by a thin LV of that name or by a hidden volume.
   *
   * @param volname - the name
   */
  isTaken(volname: string): boolean {
    return this.thinLvs.has(volname) || this.volumes.has(volname);
  }

  /**
   * The snapshots of a volume, oldest first (creation time, then thin device id).
   *
   * @param volname - the volume
   */
  snapshotsOf(volname: string): SnapshotLv[] {
    const out: SnapshotLv[] = [];
    for (const lv of this.thinLvs.values()) {
      if (!isSnapshotLvOf(lv.name, volname)) continue;
      const split = splitSnapshotLvName(lv.name, this.volumes.keys());
      // A longer volume name owns it when both match (`snap_<a_b>_s` vs `snap_<a>_b_s`).
      if (split !== undefined && split.volname !== volname) continue;
      out.push({ snapshot: lv.name.slice(`snap_${volname}_`.length), lv });
    }
    return out.sort((a, b) => (a.lv.ctime ?? 0) - (b.lv.ctime ?? 0) || (a.lv.thinId ?? 0) - (b.lv.thinId ?? 0));
  }

  /**
   * The name of a volume's LV: the volname itself, or `stowage_hidden_<volname>` while it is
   * hidden. A volname the pool does not hold is returned as it is.
   *
   * @param volname - the volume
   */
  lvNameOf(volname: string): string {
    return this.volumes.get(volname)?.name ?? volname;
  }

  /**
   * The volumes made from `volname` or from one of its snapshots (linked clones), not counting
   * the volume itself (a rolled-back volume's origin is its own snapshot) nor clones flattened
   * off it (tagged `stowage-detached`).
   *
   * @param volname - the volume
   */
  clonesOf(volname: string): string[] {
    const own = new Set(this.snapshotsOf(volname).map((s) => s.lv.name));
    own.add(this.lvNameOf(volname));
    const out: string[] = [];
    for (const [name, lv] of this.volumes) if (name !== volname && own.has(lv.origin) && !lv.tags.includes(DETACHED_TAG)) out.push(name);
    return out;
  }

  /**
   * The volumes made from one snapshot LV (not those flattened off it).
   *
   * @param snapshotLv - the snapshot's LV name
   * @param owner - the volume the snapshot belongs to (its own origin may be the snapshot)
   */
  clonesOfSnapshot(snapshotLv: string, owner: string): string[] {
    const out: string[] = [];
    for (const [name, lv] of this.volumes) if (name !== owner && lv.origin === snapshotLv && !lv.tags.includes(DETACHED_TAG)) out.push(name);
    return out;
  }

  /**
   * The parent of a linked clone as a volid: `storeid:base-…` for a clone of a base (or any
   * volume), `storeid:vol@snap` for a clone of a snapshot; `undefined` for a volume that is not a
   * clone, also one rolled back to its own snapshot or flattened (tagged `stowage-detached`): the
   * same rule as {@link PoolView.clonesOf}, so what has no parent never keeps its origin in use.
   *
   * @param storeId - the storage id
   * @param volname - the volume
   */
  parentOf(storeId: string, volname: string): string | undefined {
    const lv = this.volumes.get(volname) ?? this.thinLvs.get(volname);
    const origin = lv?.origin ?? '';
    if (origin === '' || isSnapshotLvOf(origin, volname) || lv!.tags.includes(DETACHED_TAG)) return undefined;
    if (this.volumes.has(origin) || VOLUME_LV_RE.test(origin)) return formatVolumeId(storeId, origin);
    const hiddenOrigin = hiddenVolname(origin);
    if (hiddenOrigin !== undefined && this.volumes.get(hiddenOrigin)?.name === origin) return formatVolumeId(storeId, hiddenOrigin);
    const split = splitSnapshotLvName(origin, this.volumes.keys());
    return split === undefined ? undefined : formatVolumeId(storeId, `${split.volname}@${split.snapshot}`);
  }

  /** The pool's usage, `undefined` when the pool is missing. */
  usage(): PoolUsage | undefined {
    const p = this.pool;
    if (p === undefined) return undefined;
    const health = HEALTH[p.health] ?? 'ok';
    // A failed pool reports no usage: count it as full rather than as empty.
    const used = p.dataPercent === undefined ? (health === 'ok' ? 0 : p.size) : Math.min(p.size, Math.round((p.size * p.dataPercent) / 100));
    return {
      total: p.size,
      used,
      available: p.size - used,
      dataPercent: p.dataPercent,
      metadataPercent: p.metadataPercent,
      metadataSize: p.metadataSize,
      active: p.active,
      health,
    };
  }
}

/**
 * Bytes a thin LV uses in its pool, from its data percentage.
 *
 * @param lv - the LV
 */
export function usedBytes(lv: LvRecord): number | undefined {
  return lv.dataPercent === undefined ? undefined : Math.round((lv.size * lv.dataPercent) / 100);
}
