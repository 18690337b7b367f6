/**
 * The LINSTOR REST calls this plugin makes, one function each, named after what they do.
 * Paths and bodies follow `reference/linstor-api.md` §5.
 *
 * @module
 */
import { isStorageError } from '@stowage/core';
import type { CallOptions, LinstorClient, LinstorReply } from './linstor-client.js';
import type {
  CloneStartedJson,
  CloneStatusJson,
  QuerySizeInfoJson,
  ResourceDefinitionJson,
  ResourceJson,
  SnapshotJson,
} from './types.js';

const e = encodeURIComponent;

function query(params: Record<string, string | readonly string[] | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const item of v) q.append(k, item);
    else q.append(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/**
 * Lists resource definitions with their volume definitions.
 *
 * @param c - the client
 * @param o - call options
 * @param names - only these
 */
export async function listResourceDefinitions(c: LinstorClient, o: CallOptions, names?: readonly string[]): Promise<ResourceDefinitionJson[]> {
  const r = await c.get<ResourceDefinitionJson[]>(`/v1/resource-definitions${query({ resource_definitions: names, with_volume_definitions: true })}`, o);
  return Array.isArray(r.body) ? r.body : [];
}

/**
 * Lists resources with their volumes (`/v1/view/resources`).
 *
 * @param c - the client
 * @param o - call options
 * @param filter - resources and nodes to keep
 */
export async function viewResources(c: LinstorClient, o: CallOptions, filter: { resources?: readonly string[]; nodes?: readonly string[] } = {}): Promise<ResourceJson[]> {
  const r = await c.get<ResourceJson[]>(`/v1/view/resources${query({ resources: filter.resources, nodes: filter.nodes })}`, o);
  return Array.isArray(r.body) ? r.body : [];
}

/**
 * Tells whether a resource group exists (`GET /v1/resource-groups/{rg}`, a server-only route).
 *
 * @param c - the client
 * @param o - call options
 * @param group - the group name
 */
export async function resourceGroupExists(c: LinstorClient, o: CallOptions, group: string): Promise<boolean> {
  try {
    await c.get(`/v1/resource-groups/${e(group)}`, o);
    return true;
  } catch (err) {
    if (isStorageError(err, 'NOT_FOUND')) return false;
    throw err;
  }
}

/** Body of a spawn. */
export interface SpawnRequest {
  /** The new resource definition's name. */
  readonly resource_definition_name: string;
  /** Sizes in KiB, one per volume. */
  readonly volume_sizes: readonly number[];
  /** Create definitions only (no placement). */
  readonly definitions_only: boolean;
  /** Properties of the new definition. */
  readonly resource_definition_props?: Readonly<Record<string, string>>;
}

/**
 * Spawns a resource definition from a group.
 *
 * @param c - the client
 * @param o - call options
 * @param group - the resource group
 * @param body - name, sizes, props
 */
export function spawn(c: LinstorClient, o: CallOptions, group: string, body: SpawnRequest): Promise<LinstorReply> {
  return c.call('POST', `/v1/resource-groups/${e(group)}/spawn`, body, o);
}

/**
 * Sets and removes properties of a resource definition.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param change - properties to set and to delete
 */
export function modifyResourceDefinition(
  c: LinstorClient,
  o: CallOptions,
  rd: string,
  change: { override_props?: Readonly<Record<string, string>>; delete_props?: readonly string[] },
): Promise<LinstorReply> {
  return c.call('PUT', `/v1/resource-definitions/${e(rd)}`, change, o);
}

/**
 * Deletes a resource definition with all its resources. A missing one answers 200 + `WARN_NOT_FOUND`.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 */
export function deleteResourceDefinition(c: LinstorClient, o: CallOptions, rd: string): Promise<LinstorReply> {
  return c.call('DELETE', `/v1/resource-definitions/${e(rd)}`, undefined, o);
}

/**
 * Makes a resource available on a node (creates a diskless or diskful replica when needed).
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param node - the node
 * @param diskful - `true` for a diskful replica
 */
export function makeAvailable(c: LinstorClient, o: CallOptions, rd: string, node: string, diskful: boolean): Promise<LinstorReply> {
  return c.call('POST', `/v1/resource-definitions/${e(rd)}/resources/${e(node)}/make-available`, { diskful }, o);
}

/**
 * Places the resource by the group's rules (the server accepts `{}`; see the reference §5).
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 */
export function autoplace(c: LinstorClient, o: CallOptions, rd: string): Promise<LinstorReply> {
  return c.call('POST', `/v1/resource-definitions/${e(rd)}/autoplace`, {}, o);
}

/**
 * Sets properties of one node's resource.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param node - the node
 * @param props - properties to set
 */
export function modifyResource(c: LinstorClient, o: CallOptions, rd: string, node: string, props: Readonly<Record<string, string>>): Promise<LinstorReply> {
  return c.call('PUT', `/v1/resource-definitions/${e(rd)}/resources/${e(node)}`, { override_props: props }, o);
}

/**
 * Deletes one node's resource, keeping a tiebreaker.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param node - the node
 */
export function deleteResource(c: LinstorClient, o: CallOptions, rd: string, node: string): Promise<LinstorReply> {
  return c.call('DELETE', `/v1/resource-definitions/${e(rd)}/resources/${e(node)}?keep_tiebreaker=True`, undefined, o);
}

/**
 * Sets the size of volume 0.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param sizeKib - the new net size in KiB
 */
export function resizeVolume(c: LinstorClient, o: CallOptions, rd: string, sizeKib: number): Promise<LinstorReply> {
  return c.call('PUT', `/v1/resource-definitions/${e(rd)}/volume-definitions/0`, { size_kib: sizeKib }, o);
}

/**
 * Lists a resource definition's snapshots.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 */
export async function listSnapshots(c: LinstorClient, o: CallOptions, rd: string): Promise<SnapshotJson[]> {
  const r = await c.get<SnapshotJson[]>(`/v1/resource-definitions/${e(rd)}/snapshots`, o);
  return Array.isArray(r.body) ? r.body : [];
}

/**
 * Takes a snapshot on every diskful node.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param name - the LINSTOR snapshot name
 */
export function createSnapshot(c: LinstorClient, o: CallOptions, rd: string, name: string): Promise<LinstorReply> {
  return c.call('POST', `/v1/resource-definitions/${e(rd)}/snapshots`, { name }, o);
}

/**
 * Deletes a snapshot.
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param name - the LINSTOR snapshot name
 */
export function deleteSnapshot(c: LinstorClient, o: CallOptions, rd: string, name: string): Promise<LinstorReply> {
  return c.call('DELETE', `/v1/resource-definitions/${e(rd)}/snapshots/${e(name)}`, undefined, o);
}

/**
 * Rolls a resource back to its most recent snapshot (no body, as linstor-proxmox sends it).
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the resource definition
 * @param name - the LINSTOR snapshot name
 */
export function rollbackSnapshot(c: LinstorClient, o: CallOptions, rd: string, name: string): Promise<LinstorReply> {
  return c.call('POST', `/v1/resource-definitions/${e(rd)}/snapshot-rollback/${e(name)}`, undefined, o);
}

/** Body of a clone. */
export interface CloneRequest {
  /** The clone's name. */
  readonly name: string;
  /** The group of the clone. */
  readonly resource_group?: string;
  /** With ZFS, clone from a snapshot (thin) instead of send/receive. */
  readonly use_zfs_clone?: boolean;
  /** Properties to set on the clone. */
  readonly override_props?: Readonly<Record<string, string>>;
  /** Properties to drop from the clone. */
  readonly delete_props?: readonly string[];
}

/**
 * Starts cloning a resource definition (asynchronous; poll {@link cloneStatus}).
 *
 * @param c - the client
 * @param o - call options
 * @param source - the source resource definition
 * @param body - the clone's name, group and properties
 */
export async function startClone(c: LinstorClient, o: CallOptions, source: string, body: CloneRequest): Promise<CloneStartedJson> {
  const r = await c.call<CloneStartedJson>('POST', `/v1/resource-definitions/${e(source)}/clone`, body, o);
  return r.body;
}

/**
 * Reads a clone's status.
 *
 * @param c - the client
 * @param o - call options
 * @param location - the `location` returned by {@link startClone}
 */
export async function cloneStatus(c: LinstorClient, o: CallOptions, location: string): Promise<CloneStatusJson> {
  const path = location.startsWith('/') ? location : new URL(location).pathname;
  const r = await c.get<CloneStatusJson>(path, o);
  return r.body;
}

/**
 * Asks the size the resource group can still provide.
 *
 * @param c - the client
 * @param o - call options
 * @param group - the resource group
 */
export async function querySizeInfo(c: LinstorClient, o: CallOptions, group: string): Promise<QuerySizeInfoJson> {
  const r = await c.call<QuerySizeInfoJson>('POST', `/v1/resource-groups/${e(group)}/query-size-info`, {}, { ...o, idempotent: true });
  return r.body;
}

/**
 * Creates an empty resource definition (no volume definitions, no resources).
 *
 * @param c - the client
 * @param o - call options
 * @param rd - the name, its properties and (optionally) its resource group (else `DfltRscGrp`)
 */
export function createResourceDefinition(
  c: LinstorClient,
  o: CallOptions,
  rd: { readonly name: string; readonly props: Readonly<Record<string, string>>; readonly group?: string },
): Promise<LinstorReply> {
  const body = { name: rd.name, props: rd.props, ...(rd.group ? { resource_group_name: rd.group } : {}) };
  return c.call('POST', '/v1/resource-definitions', { resource_definition: body }, o);
}

/**
 * Restores a snapshot into an existing empty resource definition: its volume definitions, then
 * its resources on every node that holds the snapshot.
 *
 * @param c - the client
 * @param o - call options
 * @param source - the snapshotted resource definition
 * @param snapshot - the LINSTOR snapshot name
 * @param target - the empty definition
 */
export async function restoreSnapshotInto(c: LinstorClient, o: CallOptions, source: string, snapshot: string, target: string): Promise<void> {
  await c.call('POST', `/v1/resource-definitions/${e(source)}/snapshot-restore-volume-definition/${e(snapshot)}`, { to_resource: target }, o);
  await c.call('POST', `/v1/resource-definitions/${e(source)}/snapshot-restore-resource/${e(snapshot)}`, { to_resource: target }, o);
}

/**
 * Restores a snapshot into a new resource definition (three calls, as linstor-api-py's
 * `restore_from_snapshot`): create the definition, restore its volume definitions, then its
 * resources on every node that holds the snapshot.
 *
 * @param c - the client
 * @param o - call options
 * @param source - the snapshotted resource definition
 * @param snapshot - the LINSTOR snapshot name
 * @param target - the new definition's name
 * @param props - properties of the new definition
 */
export async function restoreSnapshot(
  c: LinstorClient,
  o: CallOptions,
  source: string,
  snapshot: string,
  target: string,
  props: Readonly<Record<string, string>>,
): Promise<void> {
  await createResourceDefinition(c, o, { name: target, props });
  await restoreSnapshotInto(c, o, source, snapshot, target);
}
