/**
 * Volume attributes. Only `hidden` (a template freed with `whenUnused` while clones still use
 * it): the property `Aux/stowage/hidden` of the volume's resource definition, so it lives on
 * the controller, and `listImages` reads it from the listing it already fetches.
 *
 * @module
 */
import type { AttributeValue } from '@stowage/core';
import type { GetAttributeRequest, UpdateAttributeRequest } from '@stowage/core/plugin';
import { modifyResourceDefinition } from './client/api.js';
import { notSupported } from './errors.js';
import type { LinstorEnv } from './exec.js';
import { PROP_HIDDEN } from './names.js';
import { requireVolume, written } from './view.js';

/**
 * Reads an attribute of a volume.
 *
 * @param env - the call's environment
 * @param request - the volume and the attribute
 * @returns `true` or `undefined` for `hidden`
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `NOT_SUPPORTED` (`notes`, `protected`)
 * @see Proxmox `get_volume_attribute`
 */
export async function getVolumeAttribute(env: LinstorEnv, request: GetAttributeRequest): Promise<AttributeValue> {
  if (request.attribute !== 'hidden') notSupported(`the '${request.attribute}' attribute`);
  return (await requireVolume(env, request.volume)).hidden || undefined;
}

/**
 * Sets or clears an attribute of a volume (one property change of its definition).
 *
 * @param env - the call's environment
 * @param request - the volume, the attribute, the value (`true` sets `hidden`, `false` or `undefined` clears it)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`, `NOT_SUPPORTED` (`notes`, `protected`)
 * @see Proxmox `update_volume_attribute`
 */
export async function updateVolumeAttribute(env: LinstorEnv, request: UpdateAttributeRequest): Promise<void> {
  if (request.attribute !== 'hidden') notSupported(`the '${request.attribute}' attribute`);
  const v = await requireVolume(env, request.volume);
  const change = request.value === true ? { override_props: { [PROP_HIDDEN]: 'yes' } } : { delete_props: [PROP_HIDDEN] };
  await modifyResourceDefinition(env.client, env.call, v.rd, change);
  written(env);
}
