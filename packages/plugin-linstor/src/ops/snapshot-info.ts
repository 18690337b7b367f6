/**
 * The listing of a volume's stowage snapshots, which the snapshot operations and the snapshot
 * volumes both read.
 *
 * @module
 */
import type { SnapshotInfo } from '@stowage/core';
import { listSnapshots } from '../client/api.js';
import type { SnapshotJson } from '../client/types.js';
import { stowageSnapshotName } from '../names.js';
import type { LinstorEnv } from './env.js';
import type { LinstorVolume } from './view.js';

function createdAt(s: SnapshotJson): number | undefined {
  const ts = (s.snapshots ?? []).map((n) => n.create_timestamp).filter((n): n is number => typeof n === 'number');
  return ts.length ? Math.min(...ts) : undefined;
}

/**
 * The stowage snapshots of a volume, oldest first. LINSTOR snapshots this plugin did not make
 * are left out.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @see Proxmox `volume_snapshot_info`
 */
export async function snapshotInfo(env: LinstorEnv, v: LinstorVolume): Promise<SnapshotInfo[]> {
  const all = await listSnapshots(env.client, env.call, v.rd);
  const mine = all
    .map((s) => ({ s, name: stowageSnapshotName(s.name), at: createdAt(s) }))
    .filter((x): x is { s: SnapshotJson; name: string; at: number | undefined } => x.name !== undefined && !x.s.flags?.includes('DELETE'));
  mine.sort((a, b) => (a.at ?? 0) - (b.at ?? 0) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return mine.map(({ s, name, at }) => ({ name, id: s.uuid, timestamp: at === undefined ? undefined : Math.floor(at / 1000) }));
}
