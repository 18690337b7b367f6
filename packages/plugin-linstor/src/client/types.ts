/**
 * The parts of LINSTOR's REST objects this plugin reads. Every field is optional: the controller
 * omits empty fields, and `state` is missing while a satellite has not reported.
 *
 * @module
 */

/** LINSTOR properties: string keys and values. */
export type LinstorProps = Readonly<Record<string, string>>;

/** A volume definition (sizes in KiB). */
export interface VolumeDefinitionJson {
  /** The volume number (we use 0). */
  readonly volume_number?: number;
  /** Net size in KiB. */
  readonly size_kib?: number;
  /** Properties. */
  readonly props?: LinstorProps;
  /** Flags. */
  readonly flags?: readonly string[];
}

/** A resource definition. */
export interface ResourceDefinitionJson {
  /** The name, as created. */
  readonly name: string;
  /** Properties (our `Aux/stowage/...` keys live here). */
  readonly props?: LinstorProps;
  /** Flags (`DELETE`, `CLONING`, `FAILED`, ...). */
  readonly flags?: readonly string[];
  /** The resource group. */
  readonly resource_group_name?: string;
  /** Volume definitions, with `with_volume_definitions=true`. */
  readonly volume_definitions?: readonly VolumeDefinitionJson[];
  /** Unique id. */
  readonly uuid?: string;
}

/** One DRBD volume of a resource's layer object. */
export interface DrbdVolumeJson {
  /** The device, e.g. `/dev/drbd1000`. */
  readonly device_path?: string;
  /** Usable size in KiB: where clients read the size (the top-level field is never filled). */
  readonly usable_size_kib?: number;
  /** Allocated size in KiB. */
  readonly allocated_size_kib?: number;
}

/** One volume of a resource in `/v1/view/resources`. */
export interface VolumeJson {
  /** The volume number. */
  readonly volume_number?: number;
  /** The storage pool. */
  readonly storage_pool_name?: string;
  /** `LVM_THIN`, `ZFS_THIN`, `DISKLESS`, ... */
  readonly provider_kind?: string;
  /** The device. */
  readonly device_path?: string;
  /** Space taken in the pool, KiB. */
  readonly allocated_size_kib?: number;
  /** Disk state. */
  readonly state?: { readonly disk_state?: string };
}

/** A resource (one node's replica) with its volumes, from `/v1/view/resources`. */
export interface ResourceJson {
  /** The resource (definition) name. */
  readonly name: string;
  /** The node. */
  readonly node_name: string;
  /** Properties. */
  readonly props?: LinstorProps;
  /** Flags (`DISKLESS`, `DRBD_DISKLESS`, `TIE_BREAKER`, `DELETE`, ...). */
  readonly flags?: readonly string[];
  /** State; missing while the satellite has not reported. */
  readonly state?: { readonly in_use?: boolean };
  /** The layer tree; the DRBD layer carries the usable size. */
  readonly layer_object?: { readonly type?: string; readonly drbd?: { readonly drbd_volumes?: readonly DrbdVolumeJson[] } };
  /** Volumes. */
  readonly volumes?: readonly VolumeJson[];
  /** Creation time, milliseconds since the epoch. */
  readonly create_timestamp?: number;
}

/** A snapshot definition. */
export interface SnapshotJson {
  /** The snapshot name. */
  readonly name: string;
  /** The resource it belongs to. */
  readonly resource_name?: string;
  /** Nodes holding it. */
  readonly nodes?: readonly string[];
  /** `SUCCESSFUL`, `FAILED_DEPLOYMENT`, `DELETE`, ... */
  readonly flags?: readonly string[];
  /** Per-node snapshots with their creation time (ms since the epoch). */
  readonly snapshots?: readonly { readonly node_name?: string; readonly create_timestamp?: number }[];
  /** Sizes of the snapshotted volumes. */
  readonly volume_definitions?: readonly { readonly volume_number?: number; readonly size_kib?: number }[];
  /** Unique id. */
  readonly uuid?: string;
}

/** The answer of a resource group's size query. */
export interface QuerySizeInfoJson {
  /** Space of the group's pools, KiB. */
  readonly space_info?: {
    readonly max_vlm_size_in_kib?: number;
    readonly available_size_in_kib?: number;
    readonly capacity_in_kib?: number;
  };
}

/** The answer to starting a clone. */
export interface CloneStartedJson {
  /** Where to poll the status. */
  readonly location: string;
  /** Source resource. */
  readonly source_name: string;
  /** Clone resource. */
  readonly clone_name: string;
}

/** A clone's status. */
export interface CloneStatusJson {
  /** `CLONING`, `COMPLETE` or `FAILED`. */
  readonly status: 'CLONING' | 'COMPLETE' | 'FAILED';
}
