/**
 * Volumes that are not whole yet. A definition being imported, allocated or cloned carries its
 * maker's owner token in `Aux/stowage/incomplete` from the request that creates it until it is
 * whole; listings hide it and the free-name search counts it. What a failed call made is deleted
 * only when its uuid is still the one read after the create: LINSTOR has no conditional delete,
 * so the definition is read, compared and then deleted, never deleted by name alone. Definitions
 * whose owner died (a killed import) are deleted by {@link collectUnfinished}.
 *
 * @module
 */
import { currentOwner, formatOwner, ownerState } from '@stowage/core/plugin';
import { StorageError, type GarbageItem, type GarbageReport } from '@stowage/core';
import { deleteResourceDefinition, listResourceDefinitions, modifyResourceDefinition } from '../client/api.js';
import type { CallOptions } from '../client/linstor-client.js';
import type { ResourceDefinitionJson } from '../client/types.js';
import { PROP_INCOMPLETE, sameLinstorName } from '../names.js';
import type { LinstorEnv } from './env.js';
import { forgetView, loadAll } from './view.js';

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

/**
 * Deletes the unfinished definitions of dead owners (each checked by the uuid it was listed
 * with) and reports the others: those of live owners, and another node's.
 *
 * @param env - the call's environment
 * @param dryRun - report only
 * @see StoragePlugin.collectGarbage
 */
export async function collectUnfinished(env: LinstorEnv, dryRun: boolean): Promise<GarbageReport> {
  const removed: GarbageItem[] = [];
  const kept: GarbageItem[] = [];
  for (const v of await loadAll(env)) {
    if (v.incomplete === undefined) continue;
    const item: GarbageItem = { name: v.rd, owner: v.incomplete, reason: `owner-${ownerState(v.incomplete, env.ctx.node)}` };
    if (item.reason !== 'owner-dead') kept.push(item);
    else if (dryRun || (v.definition.uuid !== undefined && (await deleteIdentified(env, { rd: v.rd, uuid: v.definition.uuid })))) removed.push(item);
  }
  return { removed, kept };
}
