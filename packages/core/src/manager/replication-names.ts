/**
 * Names of replication snapshots: `__replicate_<node>_<stamp>__`, where `<node>` is the node the
 * volume is replicated to and `<stamp>` a number that grows with every run (milliseconds since
 * the epoch). Both sides keep the newest one; the next run sends what changed since it. The
 * double underscores keep them apart from the names a user may give (which start with a letter),
 * as Proxmox's `__replicate_<job>_<time>__`. Pure.
 *
 * @module
 */
import { StorageError } from '../errors.js';

const REPLICATION_RE = /^__replicate_([A-Za-z0-9][A-Za-z0-9.-]{0,39})_([0-9]{1,16})__$/;

/** A node name that can be part of a replication snapshot's name (ZFS and LVM allow these characters). */
const NODE_RE = /^[A-Za-z0-9][A-Za-z0-9.-]{0,39}$/;

/** A replication snapshot's parts. */
export interface ReplicationSnapshot {
  /** The full snapshot name. */
  readonly name: string;
  /** The node the volume is replicated to. */
  readonly node: string;
  /** The run's stamp; a later run has a larger one. */
  readonly stamp: number;
}

/**
 * The name of a replication snapshot.
 *
 * @param node - the node the volume is replicated to
 * @param stamp - the run's stamp (a whole number, larger than the previous run's)
 * @returns `__replicate_<node>_<stamp>__`
 * @throws {@link StorageError} `INVALID_ARGUMENT` when the node's name has other characters than
 *   letters, digits, `.` and `-` (or more than 40), or the stamp is not a whole number
 * @example
 * ```ts
 * replicationSnapshotName('pve2', 1700000000000); // '__replicate_pve2_1700000000000__'
 * ```
 */
export function replicationSnapshotName(node: string, stamp: number): string {
  if (!NODE_RE.test(node)) {
    throw new StorageError('INVALID_ARGUMENT', `node name '${node}' cannot be part of a replication snapshot's name (letters, digits, '.' and '-', at most 40)`, {
      details: { node },
    });
  }
  if (!Number.isSafeInteger(stamp) || stamp < 0 || String(stamp).length > 16) {
    throw new StorageError('INVALID_ARGUMENT', `invalid replication stamp ${String(stamp)}`, { details: { stamp } });
  }
  return `__replicate_${node}_${stamp}__`;
}

/**
 * Parses a replication snapshot's name.
 *
 * @param name - a snapshot name
 * @returns its node and stamp, or `undefined` when it is not a replication snapshot
 */
export function parseReplicationSnapshot(name: string): ReplicationSnapshot | undefined {
  const m = REPLICATION_RE.exec(name);
  return m ? { name, node: m[1] as string, stamp: Number(m[2]) } : undefined;
}

/**
 * The replication snapshots for one node among a volume's snapshots, oldest first (by stamp).
 *
 * @param node - the node
 * @param names - the volume's snapshot names
 */
export function replicationSnapshotsFor(node: string, names: readonly string[]): ReplicationSnapshot[] {
  return names
    .map(parseReplicationSnapshot)
    .filter((s): s is ReplicationSnapshot => s !== undefined && s.node === node)
    .sort((a, b) => a.stamp - b.stamp);
}
