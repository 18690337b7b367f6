/**
 * The JSON objects the stand-in answers with, shaped as the real controller's (fields the
 * server never fills, such as the top-level `volumes[].usable_size_kib`, are left out: §5).
 */
import type { DefinitionState, Model, ResourceGroupState, ResourceState, SnapshotState } from './model.js';

export function groupJson(g: ResourceGroupState): unknown {
  return {
    name: g.name,
    props: g.props,
    select_filter: g.placeCount === undefined ? {} : { place_count: g.placeCount },
    uuid: g.uuid,
  };
}

export function definitionJson(d: DefinitionState, withVolumeDefinitions: boolean): unknown {
  return {
    name: d.name,
    props: d.props,
    flags: d.flags,
    layer_data: [{ type: 'DRBD' }, { type: 'STORAGE' }],
    uuid: d.uuid,
    resource_group_name: d.group,
    ...(withVolumeDefinitions && d.sizeKib > 0 ? { volume_definitions: [{ volume_number: 0, size_kib: d.sizeKib, props: {}, flags: [], uuid: d.vdUuid }] } : {}),
  };
}

export function resourceJson(model: Model, d: DefinitionState, r: ResourceState, withVolumes: boolean): unknown {
  const node = model.nodes.get(r.node.toLowerCase());
  const online = node?.online ?? false;
  const flags = r.diskless ? ['DISKLESS', 'DRBD_DISKLESS'] : [];
  const allocated = r.diskless ? 0 : model.allocatedKib(d.dataFile);
  const diskState = !online ? 'DUnknown' : r.diskless ? 'Diskless' : 'UpToDate';
  const peers = Object.fromEntries(
    [...d.resources.values()].filter((o) => o !== r).map((o) => [o.node, { connected: online && (model.nodes.get(o.node.toLowerCase())?.online ?? false) }]),
  );
  const base = {
    name: d.name,
    node_name: r.node,
    props: r.props,
    flags,
    layer_object: {
      type: 'DRBD',
      children: [{ type: 'STORAGE', storage: { storage_volumes: [] } }],
      drbd: {
        drbd_volumes: [{ device_path: `/dev/drbd${d.minor}`, usable_size_kib: d.sizeKib, allocated_size_kib: allocated, disk_state: diskState }],
        connections: peers,
      },
    },
    // §5: state is missing while the satellite has not reported (offline).
    ...(online ? { state: { in_use: r.inUse } } : {}),
    uuid: r.uuid,
    create_timestamp: r.createdMs,
  };
  if (!withVolumes) return base;
  return {
    ...base,
    volumes: [
      {
        volume_number: 0,
        storage_pool_name: r.diskless ? 'DfltDisklessStorPool' : model.zfs ? 'zfsthin' : 'thin',
        provider_kind: r.diskless ? 'DISKLESS' : (model.options.provider ?? 'LVM_THIN'),
        device_path: `/dev/drbd${d.minor}`,
        allocated_size_kib: allocated,
        ...(online ? { state: { disk_state: diskState } } : {}),
      },
    ],
  };
}

export function snapshotJson(d: DefinitionState, s: SnapshotState): unknown {
  return {
    name: s.name,
    resource_name: d.name,
    nodes: s.nodes,
    props: {},
    flags: s.deleting ? ['SUCCESSFUL', 'DELETE'] : ['SUCCESSFUL'],
    volume_definitions: [{ volume_number: 0, size_kib: s.sizeKib }],
    uuid: s.uuid,
    snapshots: s.nodes.map((n) => ({ node_name: n, create_timestamp: s.createdMs })),
  };
}
