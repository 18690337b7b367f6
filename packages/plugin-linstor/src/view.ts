/**
 * One view of the storage per operation: the resource definitions of our resource group that
 * carry a stowage name, joined with their resources. Loaded once per operation (two GETs) and
 * shared by every lookup in it. Also the listing of a volume's stowage snapshots, which the
 * snapshot operations and the snapshot volumes both read.
 *
 * @module
 */
import { StorageError, formatVolumeId, type ParsedVolume, type SnapshotInfo } from '@stowage/core';
import { listResourceDefinitions, listSnapshots, viewResources } from './client/api.js';
import type { ResourceDefinitionJson, ResourceJson, SnapshotJson } from './client/types.js';
import {
  formatLinstorVolname,
  PROP_BASE,
  PROP_HIDDEN,
  PROP_INCOMPLETE,
  PROP_NAME,
  PROP_SUPERSEDES,
  PROP_SUPERSEDES_OWNER,
  PROP_USE_ZFS_CLONE,
  PROP_VMID,
  sameLinstorName,
  stowageSnapshotName,
} from './names.js';
import type { LinstorEnv } from './exec.js';

/** One stowage volume as LINSTOR holds it. */
export interface LinstorVolume {
  /** The LINSTOR resource definition name. */
  readonly rd: string;
  /** The volume's own name (`vm-100-disk-0`). */
  readonly name: string;
  /** The full volname (`base-100-disk-0/vm-101-disk-0` for a clone). */
  readonly volname: string;
  /** The owning vmid. */
  readonly vmid: number;
  /** `true` for a base. */
  readonly isBase: boolean;
  /** For a clone: its base's LINSTOR name. */
  readonly baseRd: string | undefined;
  /** For a clone: its base's own name, when the base still exists. */
  readonly baseName: string | undefined;
  /** Usable size in bytes. */
  readonly size: number;
  /** Bytes allocated in the pool (largest replica), when reported. */
  readonly used: number | undefined;
  /** Creation time, seconds since the epoch, when known. */
  readonly ctime: number | undefined;
  /** The resources (replicas) of the definition. */
  readonly resources: readonly ResourceJson[];
  /** The definition as listed. */
  readonly definition: ResourceDefinitionJson;
  /** The owner token of an unfinished volume (being imported, allocated or cloned); `undefined` once whole. */
  readonly incomplete: string | undefined;
  /** The `hidden` attribute. */
  readonly hidden: boolean;
  /** The definition this one replaces (a flatten's), with the owner token of that flatten. */
  readonly supersedes: { readonly rd: string; readonly uuid: string; readonly owner: string | undefined } | undefined;
  /** `true` when a whole definition replaces this one: it is no longer the volume. */
  readonly superseded: boolean;
  /**
   * `true` when its diskful replicas are on ZFS: a snapshot restored from it (and a clone made
   * with `use_zfs_clone`) is a `zfs clone` that keeps the snapshot (or the source) from going.
   */
  readonly zfs: boolean;
  /** `true` for a clone whose data depends on its base (a ZFS clone made with `use_zfs_clone`). */
  readonly dependsOnBase: boolean;
}

const VIEW_KEY = 'linstor:view';

/**
 * Every volume of this storage, unfinished ones too, loaded once per operation. For name
 * checks and the free-name search: an unfinished volume's name is taken.
 *
 * @param env - the call's environment
 * @returns every volume, sorted by volname
 */
export function loadAll(env: LinstorEnv): Promise<LinstorVolume[]> {
  return env.ctx.cache.get(VIEW_KEY, async () => {
    const [rds, rscs] = await Promise.all([listResourceDefinitions(env.client, env.call), viewResources(env.client, env.call)]);
    return buildVolumes(rds, rscs, env.config.resourceGroup);
  });
}

/**
 * The whole volumes of this storage (what is listed, found and freed), loaded once per operation.
 *
 * @param env - the call's environment
 * @returns the volumes that are not marked unfinished, sorted by volname
 */
export async function loadVolumes(env: LinstorEnv): Promise<LinstorVolume[]> {
  return (await loadAll(env)).filter((v) => v.incomplete === undefined && !v.superseded);
}

/**
 * Throws when a volume (whole or unfinished) already has the name `name`.
 *
 * @param env - the call's environment
 * @param name - a volume's own name
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`
 */
export async function assertNameFree(env: LinstorEnv, name: string): Promise<void> {
  const existing = (await loadAll(env)).find((v) => v.name === name);
  if (existing) {
    throw new StorageError('ALREADY_EXISTS', `volume '${name}' already exists`, { details: { name, resource: existing.rd } });
  }
}

/**
 * Forgets the operation's view after a write.
 *
 * @param env - the call's environment
 */
export function forgetView(env: LinstorEnv): void {
  env.ctx.cache.invalidate(VIEW_KEY);
}

/**
 * After a write: forgets the operation's view and the storage's status answer.
 *
 * @param env - the call's environment
 */
export function written(env: LinstorEnv): void {
  forgetView(env);
  env.status.clear();
}

/**
 * Joins definitions and resources into volumes. Pure.
 *
 * @param rds - resource definitions (with volume definitions)
 * @param rscs - resources with volumes
 * @param group - our resource group
 */
export function buildVolumes(rds: readonly ResourceDefinitionJson[], rscs: readonly ResourceJson[], group: string): LinstorVolume[] {
  const ours = rds.filter((rd) => sameLinstorName(rd.resource_group_name, group) && rd.props?.[PROP_NAME] && !rd.flags?.includes('DELETE'));
  const byRd = new Map<string, ResourceJson[]>();
  for (const r of rscs) {
    const k = r.name.toLowerCase();
    byRd.set(k, [...(byRd.get(k) ?? []), r]);
  }
  const nameOf = new Map(ours.map((rd) => [rd.name.toLowerCase(), rd.props?.[PROP_NAME] as string]));
  const replaced = new Set(
    ours
      .filter((rd) => rd.props?.[PROP_INCOMPLETE] === undefined)
      .map((rd) => parseSupersedes(rd.props?.[PROP_SUPERSEDES]))
      .filter((x) => x !== undefined)
      .map((x) => `${x.rd.toLowerCase()} ${x.uuid}`),
  );
  const out: LinstorVolume[] = [];
  for (const rd of ours) {
    const name = rd.props?.[PROP_NAME] as string;
    const resources = byRd.get(rd.name.toLowerCase()) ?? [];
    const baseRd = rd.props?.[PROP_BASE];
    const baseName = baseRd ? nameOf.get(baseRd.toLowerCase()) : undefined;
    const usable = Math.max(0, ...resources.map((r) => r.layer_object?.drbd?.drbd_volumes?.[0]?.usable_size_kib ?? 0));
    const vdSize = rd.volume_definitions?.find((v) => (v.volume_number ?? 0) === 0)?.size_kib ?? 0;
    const allocated = resources.flatMap((r) => r.volumes ?? []).map((v) => v.allocated_size_kib).filter((n): n is number => typeof n === 'number');
    const created = resources.map((r) => r.create_timestamp).filter((n): n is number => typeof n === 'number');
    const vmid = Number(rd.props?.[PROP_VMID] ?? /^(?:vm|base)-(\d+)-/.exec(name)?.[1] ?? 0);
    const zfs = resources.some((r) => !isDiskless(r) && (r.volumes ?? []).some((x) => x.provider_kind?.startsWith('ZFS')));
    const supersedes = parseSupersedes(rd.props?.[PROP_SUPERSEDES]);
    out.push({
      rd: rd.name,
      name,
      volname: formatLinstorVolname(name, baseName),
      vmid,
      isBase: name.startsWith('base-'),
      baseRd,
      baseName,
      size: (usable || vdSize) * 1024,
      used: allocated.length ? Math.max(...allocated) * 1024 : undefined,
      ctime: created.length ? Math.floor(Math.min(...created) / 1000) : undefined,
      resources,
      definition: rd,
      incomplete: rd.props?.[PROP_INCOMPLETE],
      hidden: rd.props?.[PROP_HIDDEN] === 'yes',
      supersedes: supersedes && { ...supersedes, owner: rd.props?.[PROP_SUPERSEDES_OWNER] },
      superseded: replaced.has(`${rd.name.toLowerCase()} ${rd.uuid ?? ''}`),
      zfs,
      dependsOnBase: baseRd !== undefined && zfs && /^(true|yes)$/i.test(rd.props?.[PROP_USE_ZFS_CLONE] ?? ''),
    });
  }
  return out.sort((a, b) => (a.volname < b.volname ? -1 : a.volname > b.volname ? 1 : 0));
}

/**
 * Reads a {@link PROP_SUPERSEDES} value (`<rd> <uuid>`). Pure.
 *
 * @param value - the property value
 */
export function parseSupersedes(value: string | undefined): { rd: string; uuid: string } | undefined {
  const [rd, uuid] = (value ?? '').split(' ');
  return rd && uuid ? { rd, uuid } : undefined;
}

/**
 * Finds the volume a parsed volname names, or `undefined`. A clone's base prefix must match.
 *
 * @param env - the call's environment
 * @param volume - the parsed volume
 */
export async function findVolume(env: LinstorEnv, volume: ParsedVolume): Promise<LinstorVolume | undefined> {
  const all = await loadVolumes(env);
  return all.find((v) => v.name === volume.name && v.baseName === volume.baseName);
}

/**
 * Like {@link findVolume}, but throws when the volume does not exist.
 *
 * @param env - the call's environment
 * @param volume - the parsed volume
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND`
 */
export async function requireVolume(env: LinstorEnv, volume: ParsedVolume): Promise<LinstorVolume> {
  const v = await findVolume(env, volume);
  if (!v) {
    throw new StorageError('NOT_FOUND', `volume '${formatVolumeId(env.ctx.storeId, volume.volname)}' does not exist`, {
      details: { volname: volume.volname },
    });
  }
  return v;
}

/**
 * The clones whose base is `rd`, unfinished ones too (a clone under way needs its base).
 *
 * @param env - the call's environment
 * @param rd - the base's LINSTOR name
 */
export async function clonesOf(env: LinstorEnv, rd: string): Promise<LinstorVolume[]> {
  const all = await loadAll(env);
  return all.filter((v) => sameLinstorName(v.baseRd, rd));
}

/**
 * The resource of `v` on this node, if any.
 *
 * @param env - the call's environment
 * @param v - the volume
 */
export function localResource(env: LinstorEnv, v: LinstorVolume): ResourceJson | undefined {
  return v.resources.find((r) => sameLinstorName(r.node_name, env.node));
}

/**
 * Tells whether a resource is diskless (a DRBD client or a tiebreaker).
 *
 * @param r - the resource
 */
export function isDiskless(r: ResourceJson): boolean {
  return Boolean(r.flags?.includes('DISKLESS') || r.flags?.includes('DRBD_DISKLESS') || (r.volumes?.length && r.volumes.every((v) => v.provider_kind === 'DISKLESS')));
}

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
