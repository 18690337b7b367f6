/**
 * The local DRBD device: its path, making it available on this node (a diskless replica when
 * there is no local one), and removing only the diskless replicas this plugin made.
 *
 * @module
 */
import { access } from 'node:fs/promises';
import { StorageError } from '@stowage/core';
import { deleteResource, makeAvailable, modifyResource, viewResources } from './client/api.js';
import { PROP_ACTIVATED, sameLinstorName } from './names.js';
import { sleep, type LinstorEnv } from './exec.js';
import type { ResourceJson } from './client/types.js';
import { forgetView, isDiskless, type LinstorVolume } from './view.js';

/** How many poll intervals to wait for udev to create the device link after make-available. */
const DEVICE_WAIT_POLLS = 10;

/**
 * The device path of a LINSTOR resource on this node: `/dev/drbd/by-res/<res>/0` (the root can
 * be moved for tests, see the `devicePathRoot` option).
 *
 * @param env - the call's environment
 * @param rd - the LINSTOR name
 * @see Proxmox `LINSTORPlugin::path`
 */
export function devicePath(env: LinstorEnv, rd: string): string {
  return `${env.config.devicePathRoot}/${rd}/0`;
}

/**
 * Makes the volume available here: nothing when a local replica exists, else a diskless one
 * (marked with a property so that deactivation removes it and only it). Then waits for the device.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param node - the node to make it available on; this one by default (then the device is waited for)
 * @returns the device path
 * @throws {@link @stowage/core!index.StorageError | StorageError} `UNAVAILABLE` when the device does not appear, the controller's errors
 * @see Proxmox `LINSTORPlugin::activate_volume`
 */
export async function activate(env: LinstorEnv, v: LinstorVolume, node: string = env.node): Promise<string> {
  const path = devicePath(env, v.rd);
  if (!resourceOn(v, node)) {
    await makeAvailable(env.client, env.call, v.rd, node, false);
    forgetView(env);
    const now = (await viewResources(env.client, env.call, { resources: [v.rd], nodes: [node] })).find((r) => sameLinstorName(r.node_name, node));
    if (now && isDiskless(now)) await modifyResource(env.client, env.call, v.rd, node, { [PROP_ACTIVATED]: 'yes' });
  }
  // the device appears on that node; only this node's can be waited for
  if (sameLinstorName(node, env.node)) await waitForDevice(env, path);
  return path;
}

/** A volume's replica on a node. */
function resourceOn(v: LinstorVolume, node: string): ResourceJson | undefined {
  return v.resources.find((r) => sameLinstorName(r.node_name, node));
}

async function waitForDevice(env: LinstorEnv, path: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await access(path);
      return;
    } catch {
      if (i >= DEVICE_WAIT_POLLS) {
        throw new StorageError('UNAVAILABLE', `device ${path} did not appear on node ${env.node}`, { details: { path, node: env.node } });
      }
      await sleep(env.config.pollIntervalMs, env.ctx.signal);
    }
  }
}

/**
 * Removes this node's replica only when it is diskless and this plugin made it for an activation.
 * Diskful replicas and replicas made by others stay.
 *
 * @param env - the call's environment
 * @param v - the volume
 * @param node - the node whose replica to remove; this one by default
 * @see Proxmox `LINSTORPlugin::deactivate_volume`
 */
export async function deactivate(env: LinstorEnv, v: LinstorVolume, node: string = env.node): Promise<void> {
  const local = resourceOn(v, node);
  if (!local || !isDiskless(local) || local.props?.[PROP_ACTIVATED] !== 'yes') return;
  if (local.state?.in_use) {
    throw new StorageError('IN_USE', `'${v.volname}' is in use on ${node}`, { details: { volname: v.volname, node } });
  }
  await deleteResource(env.client, env.call, v.rd, node);
  forgetView(env);
}
