/**
 * A snapshot as a volume: LINSTOR cannot open a snapshot directly, so (as linstor-proxmox does)
 * the snapshot is restored into an extra resource definition whose device is then used. That
 * definition carries no stowage name, so it is never listed; it goes away with the snapshot,
 * with the volume, or on deactivation.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { StorageError } from '@stowage/core';
import { deleteResourceDefinition, listResourceDefinitions, restoreSnapshot } from './client/api.js';
import { linstorSnapshotName, sameLinstorName } from './names.js';
import type { LinstorEnv } from './exec.js';
import { buildVolumes, snapshotInfo, type LinstorVolume } from './view.js';
import { viewResources } from './client/api.js';

/** Property of a snapshot volume: the LINSTOR name of the snapshotted definition. */
export const PROP_SNAPSHOT_OF = 'Aux/stowage/snapshot-of';
/** Property of a snapshot volume: the stowage snapshot name. */
export const PROP_SNAPSHOT = 'Aux/stowage/snapshot';

/**
 * The LINSTOR name of the definition a snapshot is restored into: `<rd>-s<8 hex>`, within the
 * 48-byte limit whatever the snapshot's name.
 *
 * @param rd - the snapshotted definition
 * @param snapshot - the stowage snapshot name
 */
export function snapshotVolumeName(rd: string, snapshot: string): string {
  return `${rd}-s${createHash('sha256').update(snapshot).digest('hex').slice(0, 8)}`;
}

/**
 * The snapshot volume as a {@link LinstorVolume}, restoring it first when it does not exist.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param snapshot - the snapshot name
 * @returns the snapshot volume and whether this call made it
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the snapshot does not exist
 */
export async function openSnapshotVolume(env: LinstorEnv, v: LinstorVolume, snapshot: string): Promise<{ volume: LinstorVolume; created: boolean }> {
  const name = snapshotVolumeName(v.rd, snapshot);
  let created = false;
  let rd = (await listResourceDefinitions(env.client, env.call, [name]))[0];
  if (!rd) {
    if (!(await snapshotInfo(env, v)).some((s) => s.name === snapshot)) {
      throw new StorageError('NOT_FOUND', `snapshot '${snapshot}' of '${v.volname}' does not exist`, { details: { volname: v.volname, snapshot } });
    }
    await restoreSnapshot(env.client, env.call, v.rd, linstorSnapshotName(snapshot), name, { [PROP_SNAPSHOT_OF]: v.rd, [PROP_SNAPSHOT]: snapshot });
    created = true;
    rd = (await listResourceDefinitions(env.client, env.call, [name]))[0];
    if (!rd) throw new StorageError('NOT_FOUND', `restored snapshot volume ${name} is not listed`);
  }
  const rscs = await viewResources(env.client, env.call, { resources: [name] });
  const named = { ...rd, resource_group_name: env.config.resourceGroup, props: { ...rd.props, 'Aux/stowage/name': `${v.name}@${snapshot}` } };
  const [volume] = buildVolumes([named], rscs, env.config.resourceGroup);
  if (!volume) throw new StorageError('NOT_FOUND', `restored snapshot volume ${name} is not usable`);
  return { volume, created };
}

/**
 * Deletes the snapshot volume of one snapshot, if there is one.
 *
 * @param env - the call's environment
 * @param rd - the snapshotted definition
 * @param snapshot - the snapshot name
 */
export async function dropSnapshotVolume(env: LinstorEnv, rd: string, snapshot: string): Promise<void> {
  const name = snapshotVolumeName(rd, snapshot);
  const found = (await listResourceDefinitions(env.client, env.call, [name])).some((d) => sameLinstorName(d.name, name));
  if (found) await deleteResourceDefinition(env.client, env.call, name);
}

/**
 * Deletes every snapshot volume restored from `rd`.
 *
 * @param env - the call's environment
 * @param rd - the snapshotted definition
 */
export async function dropAllSnapshotVolumes(env: LinstorEnv, rd: string): Promise<void> {
  const all = await listResourceDefinitions(env.client, env.call);
  for (const d of all.filter((x) => sameLinstorName(x.props?.[PROP_SNAPSHOT_OF], rd))) {
    await deleteResourceDefinition(env.client, env.call, d.name);
  }
}
