/**
 * Allocating and freeing volumes.
 *
 * @module
 */
import { isStorageError, StorageError, type ParsedVolume } from '@stowage/core';
import {
  autoplace,
  deleteResourceDefinition,
  deleteSnapshot,
  listSnapshots,
  makeAvailable,
  resourceGroupExists,
  spawn,
  viewResources,
} from '../client/api.js';
import { newResourceName, PROP_EXACT_SIZE, PROP_INCOMPLETE, PROP_NAME, PROP_TWO_PRIMARIES, PROP_VMID, toKib } from '../names.js';
import { sleep, type LinstorEnv } from './env.js';
import { dropAllSnapshotVolumes } from './snapshot-volume.js';
import { identify, markWhole, ownerToken, undoOnFailure, type MadeDefinition } from './unfinished.js';
import { assertNameFree, clonesOf, forgetView, requireVolume } from './view.js';

/** How often a spawn is retried with a fresh random name when LINSTOR says the name exists. */
const NAME_ATTEMPTS = 5;

/** What to create. */
export interface CreateDefinitionRequest {
  /** The volume's own name. */
  readonly name: string;
  /** The owning vmid. */
  readonly vmid: number;
  /** Size in bytes. */
  readonly size: number;
  /** Extra properties for the definition. */
  readonly props?: Readonly<Record<string, string>>;
}

/**
 * Spawns a definition from the resource group under a fresh random LINSTOR name, with the
 * stowage name in its properties. Nothing is placed yet.
 *
 * @param env - the call's environment
 * @param req - name, vmid, size and extra properties
 * @returns the LINSTOR name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` (resource group missing), or the controller's error
 */
export async function spawnDefinition(env: LinstorEnv, req: CreateDefinitionRequest): Promise<string> {
  const props = {
    [PROP_NAME]: req.name,
    [PROP_VMID]: String(req.vmid),
    [PROP_EXACT_SIZE]: env.config.exactSize ? 'True' : 'False',
    [PROP_TWO_PRIMARIES]: env.config.allowTwoPrimaries ? 'yes' : 'no',
    ...req.props,
  };
  for (let attempt = 1; ; attempt++) {
    const rd = newResourceName();
    try {
      await spawn(env.client, env.call, env.config.resourceGroup, {
        resource_definition_name: rd,
        volume_sizes: [toKib(req.size)],
        definitions_only: true,
        resource_definition_props: props,
      });
      return rd;
    } catch (e) {
      if (isStorageError(e, 'ALREADY_EXISTS') && attempt < NAME_ATTEMPTS) continue;
      throw e;
    }
  }
}

/**
 * Places a definition: with `preferLocal`, a diskful replica on this node first (a failure there
 * is only logged, as this node may not be a LINSTOR satellite), then autoplace by the group's rules.
 *
 * @param env - the call's environment
 * @param rd - the LINSTOR name
 */
export async function placeDefinition(env: LinstorEnv, rd: string): Promise<void> {
  if (env.config.preferLocal) {
    try {
      await makeAvailable(env.client, env.call, rd, env.node, true);
    } catch (e) {
      if (!isStorageError(e) || ['UNAVAILABLE', 'TIMEOUT', 'ABORTED'].includes(e.code)) throw e;
      env.ctx.log.warn(`LINSTOR: no local replica of ${rd} on ${env.node}: ${e.message}`, { code: e.code });
    }
  }
  await autoplace(env.client, env.call, rd);
}

/**
 * Creates a volume that is not whole yet: checks that the name is free (unfinished volumes
 * count) and the group exists, spawns a definition that carries this process's owner token
 * from the create request on, reads its uuid, tells the manager the name is reserved (so the
 * storage lock goes back while placement and data take their time), and places it. The caller
 * finishes it with {@link markWhole}, inside {@link undoOnFailure}.
 *
 * @param env - the call's environment
 * @param req - name, vmid, size
 * @returns the definition, still marked unfinished
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, `NOT_FOUND` (group), `NO_SPACE`, the controller's errors
 */
export async function createUnfinished(env: LinstorEnv, req: CreateDefinitionRequest): Promise<MadeDefinition> {
  await assertNameFree(env, req.name);
  if (!(await resourceGroupExists(env.client, env.call, env.config.resourceGroup))) {
    throw new StorageError('NOT_FOUND', `LINSTOR resource group '${env.config.resourceGroup}' does not exist`, {
      details: { resourceGroup: env.config.resourceGroup },
    });
  }
  const owner = ownerToken(env);
  const rd = await spawnDefinition(env, { ...req, props: { ...req.props, [PROP_INCOMPLETE]: owner } });
  forgetView(env);
  const made = await identify(env, rd, owner);
  env.ctx.nameReserved();
  await undoOnFailure(env, made, () => placeDefinition(env, rd));
  forgetView(env);
  return made;
}

/**
 * Creates a whole, empty volume: {@link createUnfinished}, then {@link markWhole}. On any failure
 * after the spawn, the definition is deleted again (checked by uuid).
 *
 * @param env - the call's environment
 * @param req - name, vmid, size
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, `NOT_FOUND` (group), `NO_SPACE`, the controller's errors
 * @see Proxmox `LINSTORPlugin::alloc_image`
 */
export async function createVolume(env: LinstorEnv, req: CreateDefinitionRequest): Promise<void> {
  const made = await createUnfinished(env, req);
  await undoOnFailure(env, made, () => markWhole(env, made));
}

/**
 * Frees a volume: refuses a base with clones (`IN_USE`), waits a bounded time while any replica
 * is in use (then `IN_USE`), deletes its snapshots, then the definition. An unfinished volume
 * (being imported) is not found.
 *
 * @param env - the call's environment
 * @param volume - the parsed volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `IN_USE` (clones, or still in use after the wait), the controller's errors
 * @see Proxmox `LINSTORPlugin::free_image`
 */
export async function freeVolume(env: LinstorEnv, volume: ParsedVolume): Promise<void> {
  const v = await requireVolume(env, volume);
  const clones = await clonesOf(env, v.rd);
  if (clones.length) {
    throw new StorageError('IN_USE', `base volume '${v.volname}' is still in use by linked clones`, {
      details: { clones: clones.map((c) => `${env.ctx.storeId}:${c.volname}`) },
    });
  }
  await waitUntilUnused(env, v.rd);
  await dropAllSnapshotVolumes(env, v.rd);
  for (const s of await listSnapshots(env.client, env.call, v.rd)) {
    await deleteSnapshot(env.client, env.call, v.rd, s.name);
  }
  await deleteResourceDefinition(env.client, env.call, v.rd);
  forgetView(env);
}

/**
 * Polls until no replica of `rd` is in use, for at most `inUseWaitSeconds`.
 *
 * @param env - the call's environment
 * @param rd - the LINSTOR name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `IN_USE` with the nodes that still use it
 */
export async function waitUntilUnused(env: LinstorEnv, rd: string): Promise<void> {
  const deadline = env.config.inUseWaitSeconds * 1000;
  for (let waited = 0; ; waited += env.config.pollIntervalMs) {
    const users = (await viewResources(env.client, env.call, { resources: [rd] })).filter((r) => r.state?.in_use).map((r) => r.node_name);
    if (users.length === 0) return;
    if (waited >= deadline) {
      throw new StorageError('IN_USE', `LINSTOR resource ${rd} is in use on ${users.join(', ')}`, { details: { resource: rd, nodes: users } });
    }
    await sleep(env.config.pollIntervalMs, env.ctx.signal);
  }
}
