/**
 * Volumes that are not whole yet. A definition being imported, allocated or cloned carries its
 * maker's owner token in `Aux/stowage/incomplete` from the request that creates it until it is
 * whole; listings hide it and the free-name search counts it. What a failed call made is deleted
 * only when its uuid is still the one read after the create: LINSTOR has no conditional delete,
 * so the definition is read, compared and then deleted, never deleted by name alone. Definitions
 * whose owner died (a killed import) are deleted by `collectGarbage` (ops-volume.ts). New
 * definitions are spawned here, marked from the start.
 *
 * @module
 */
import { currentOwner, formatOwner } from '@stowage/core/plugin';
import { isStorageError, StorageError } from '@stowage/core';
import {
  autoplace,
  deleteResourceDefinition,
  listResourceDefinitions,
  makeAvailable,
  modifyResourceDefinition,
  resourceGroupExists,
  spawn,
} from './client/api.js';
import type { CallOptions } from './client/linstor-client.js';
import type { ResourceDefinitionJson } from './client/types.js';
import type { LinstorEnv } from './exec.js';
import { newResourceName, PROP_EXACT_SIZE, PROP_INCOMPLETE, PROP_NAME, PROP_TWO_PRIMARIES, PROP_VMID, sameLinstorName, toKib } from './names.js';
import { assertNameFree, forgetView } from './view.js';

/** A definition this call made, by name and identity. */
export interface MadeDefinition {
  /** The LINSTOR name. */
  readonly rd: string;
  /** Its uuid, read right after the create. */
  readonly uuid: string;
}

/**
 * The owner token this process marks its unfinished definitions with.
 *
 * @param env - the call's environment
 */
export function ownerToken(env: LinstorEnv): string {
  return formatOwner(currentOwner(env.ctx.node));
}

async function readDefinition(env: LinstorEnv, rd: string, call: CallOptions = env.call): Promise<ResourceDefinitionJson | undefined> {
  return (await listResourceDefinitions(env.client, call, [rd])).find((d) => sameLinstorName(d.name, rd));
}

/**
 * Reads the uuid of a definition this call has just created, checking that it carries `owner`.
 *
 * @param env - the call's environment
 * @param rd - the LINSTOR name
 * @param owner - the owner token the create request set
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when the definition is gone or is not this call's
 */
export async function identify(env: LinstorEnv, rd: string, owner: string): Promise<MadeDefinition> {
  const d = await readDefinition(env, rd);
  if (!d?.uuid || d.props?.[PROP_INCOMPLETE] !== owner) {
    throw new StorageError('NOT_FOUND', `LINSTOR resource definition ${rd} vanished right after it was created`, { details: { resource: rd } });
  }
  return { rd, uuid: d.uuid };
}

/**
 * Marks a definition whole: removes `Aux/stowage/incomplete`.
 *
 * @param env - the call's environment
 * @param made - the definition
 */
export async function markWhole(env: LinstorEnv, made: MadeDefinition): Promise<void> {
  await modifyResourceDefinition(env.client, env.call, made.rd, { delete_props: [PROP_INCOMPLETE] });
  forgetView(env);
}

/**
 * Deletes a definition if it still has the uuid it was made or listed with. Returns whether it
 * was deleted (`false` when it is gone or is another definition by now).
 *
 * @param env - the call's environment
 * @param made - name and uuid
 */
export async function deleteIdentified(env: LinstorEnv, made: MadeDefinition): Promise<boolean> {
  // clean-up runs after an abort too: without the operation's signal
  const call = { ...env.call, signal: undefined };
  const d = await readDefinition(env, made.rd, call);
  if (d?.uuid !== made.uuid) {
    if (d) env.ctx.log.warn(`LINSTOR: ${made.rd} is another definition now (uuid ${d.uuid ?? '?'}, not ${made.uuid}); left alone`);
    return false;
  }
  await deleteResourceDefinition(env.client, call, made.rd);
  forgetView(env);
  return true;
}

/**
 * Runs `step` on a definition this call made, and deletes the definition (checked by uuid)
 * when the step fails; a failed deletion is logged, and the step's error is thrown.
 *
 * @param env - the call's environment
 * @param made - the definition
 * @param step - what to do with it
 */
export async function undoOnFailure<T>(env: LinstorEnv, made: MadeDefinition, step: () => Promise<T>): Promise<T> {
  try {
    return await step();
  } catch (e) {
    await deleteIdentified(env, made).catch((undo: unknown) => {
      env.ctx.log.warn(`LINSTOR: could not remove ${made.rd} after a failure`, { error: (undo as Error).message });
    });
    throw e;
  }
}

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
