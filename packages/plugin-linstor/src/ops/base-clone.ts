/**
 * Templates and clones, which linstor-proxmox refuses: a base is a volume renamed `base-…`
 * (in its properties only); a clone is made by LINSTOR's clone API, polled until `COMPLETE` or
 * `FAILED`, and records its base so the base cannot be freed under it.
 *
 * @module
 */
import { StorageError } from '@stowage/core';
import { cloneStatus, modifyResourceDefinition, startClone } from '../client/api.js';
import { baseNameFor, formatLinstorVolname, newResourceName, PROP_BASE, PROP_INCOMPLETE, PROP_NAME, PROP_VMID } from '../names.js';
import { sleep, type LinstorEnv } from './env.js';
import { identify, markWhole, ownerToken, undoOnFailure } from './unfinished.js';
import { assertNameFree, forgetView, type LinstorVolume } from './view.js';

/**
 * Turns a volume into a base: its name becomes `base-…`. The volume is read-only from then on
 * (this plugin refuses to resize, import into or roll back a base).
 *
 * @param env - the call's environment
 * @param v - the volume
 * @returns the new volname
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (already a base, or a clone), `ALREADY_EXISTS` (name taken)
 * @see Proxmox `create_base`
 */
export async function makeBase(env: LinstorEnv, v: LinstorVolume): Promise<string> {
  if (v.isBase) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is already a base volume`, { details: { volname: v.volname } });
  if (v.baseRd) throw new StorageError('INVALID_ARGUMENT', `'${v.volname}' is a linked clone; it cannot become a base`, { details: { volname: v.volname } });
  const name = baseNameFor(v.name);
  await assertNameFree(env, name);
  await modifyResourceDefinition(env.client, env.call, v.rd, { override_props: { [PROP_NAME]: name } });
  forgetView(env);
  return name;
}

/**
 * Clones a base with LINSTOR's clone API into a new definition in our resource group, marked
 * unfinished from the clone request on; once its uuid is read the name is reserved (the storage
 * lock goes back), the clone is polled until `COMPLETE`, and then marked whole. A clone that
 * ends `FAILED` or does not finish in `cloneTimeoutSeconds` is deleted (checked by uuid).
 *
 * @param env - the call's environment
 * @param base - the base volume
 * @param req - the clone's own name and vmid
 * @returns the new volname (`<base>/<name>`)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (not a base), `ALREADY_EXISTS`, `COMMAND_FAILED` (clone FAILED), `TIMEOUT`
 * @see Proxmox `clone_image`
 */
export async function cloneBase(env: LinstorEnv, base: LinstorVolume, req: { name: string; vmid: number }): Promise<string> {
  if (!base.isBase) {
    throw new StorageError('INVALID_ARGUMENT', `clone_image only works on base images ('${base.volname}' is not one)`, { details: { volname: base.volname } });
  }
  await assertNameFree(env, req.name);
  const rd = newResourceName();
  const owner = ownerToken(env);
  const started = await startClone(env.client, env.call, base.rd, {
    name: rd,
    resource_group: env.config.resourceGroup,
    use_zfs_clone: true,
    override_props: { [PROP_NAME]: req.name, [PROP_VMID]: String(req.vmid), [PROP_BASE]: base.rd, [PROP_INCOMPLETE]: owner },
  });
  forgetView(env);
  const made = await identify(env, rd, owner);
  env.ctx.nameReserved();
  await undoOnFailure(env, made, async () => {
    await waitForClone(env, started.location, rd);
    await markWhole(env, made);
  });
  return formatLinstorVolname(req.name, base.name);
}

async function waitForClone(env: LinstorEnv, location: string, rd: string): Promise<void> {
  const limit = env.config.cloneTimeoutSeconds * 1000;
  for (let waited = 0; ; waited += env.config.pollIntervalMs) {
    const { status } = await cloneStatus(env.client, env.call, location);
    if (status === 'COMPLETE') return;
    if (status === 'FAILED') {
      throw new StorageError('COMMAND_FAILED', `LINSTOR clone ${rd} failed`, { details: { resource: rd, location, status } });
    }
    if (waited >= limit) {
      throw new StorageError('TIMEOUT', `LINSTOR clone ${rd} did not finish within ${env.config.cloneTimeoutSeconds} s`, { details: { resource: rd, location } });
    }
    await sleep(env.config.pollIntervalMs, env.ctx.signal);
  }
}
