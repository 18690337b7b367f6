/**
 * The stand-in controller's memory: nodes, resource groups, resource definitions with their
 * volume definitions, resources and snapshots. Names are compared case-insensitively and kept
 * as created (linstor-api.md §1). Data of each definition lives in a real local file; the
 * "device" `<deviceRoot>/<res>/0` is a symlink to it while the local node has a replica.
 *
 * The storage pools are LVM-thin or ZFS (`provider`). On ZFS the stand-in keeps the dependencies
 * the real satellites meet (linstor-server's ZfsProvider restores a snapshot with `zfs clone`, a
 * clone with `use_zfs_clone` is a `zfs clone` of a snapshot of its source, and the REST spec says
 * of `use_zfs_clone` that the parent snapshot "cannot be deleted"): a snapshot with a definition
 * restored from it, or a definition with a `use_zfs_clone` clone, cannot be deleted; the delete
 * fails on the satellite and the object stays, flagged `DELETE` (the "DELETING" state that
 * piraeus-operator#696 and linstor-csi#286 report). On LVM-thin a restore or clone is a thin
 * snapshot that does not need its origin.
 */
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdirSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ApiFailure, rc } from './replies.js';

/** LINSTOR's name rule (§1). */
export const NAME_RE = /^(?=.*[A-Za-z])[A-Za-z_][A-Za-z0-9_-]{1,47}$/;

export interface NodeState {
  name: string;
  online: boolean;
  capacityKib: number;
}

export interface ResourceGroupState {
  name: string;
  placeCount: number | undefined;
  props: Record<string, string>;
  uuid: string;
}

export interface ResourceState {
  node: string;
  diskless: boolean;
  props: Record<string, string>;
  inUse: boolean;
  createdMs: number;
  uuid: string;
}

export interface SnapshotState {
  name: string;
  seq: number;
  nodes: string[];
  sizeKib: number;
  createdMs: number;
  uuid: string;
  dataFile: string;
  /** The satellites failed to delete it (ZFS: a definition still depends on it). */
  deleting?: boolean;
}

export interface CloneJob {
  /** Polls left before the clone settles. */
  pollsLeft: number;
  /** How it ends. */
  outcome: 'COMPLETE' | 'FAILED';
}

export interface DefinitionState {
  name: string;
  group: string;
  props: Record<string, string>;
  flags: string[];
  sizeKib: number;
  vdUuid: string;
  resources: Map<string, ResourceState>;
  snapshots: Map<string, SnapshotState>;
  snapshotSeq: number;
  uuid: string;
  dataFile: string;
  minor: number;
  clone?: CloneJob & { source: string };
  /** ZFS only: what this definition's data is a `zfs clone` of (a snapshot, or a clone snapshot of the source). */
  origin?: { rd: string; snapshot?: string };
}

/** Options of a {@link Model}. */
export interface ModelOptions {
  /** Satellite nodes. */
  nodes: string[];
  /** The node whose `/dev/drbd/by-res` the device root stands for. */
  localNode: string;
  /** Per-node pool capacity, KiB. */
  capacityKib: number;
  /** Where definitions' data files go. */
  dataDir: string;
  /** The stand-in for `/dev/drbd/by-res`. */
  deviceRoot: string;
  /** Provider of the diskful storage pools. Default `LVM_THIN`. */
  provider?: 'LVM_THIN' | 'ZFS_THIN';
}

const k = (name: string) => name.toLowerCase();

export class Model {
  readonly nodes = new Map<string, NodeState>();
  readonly groups = new Map<string, ResourceGroupState>();
  readonly definitions = new Map<string, DefinitionState>();
  readonly options: ModelOptions;
  #minor = 1000;

  constructor(options: ModelOptions) {
    this.options = options;
    for (const n of options.nodes) this.nodes.set(k(n), { name: n, online: true, capacityKib: options.capacityKib });
    this.addGroup('DfltRscGrp', undefined);
    mkdirSync(options.dataDir, { recursive: true });
    mkdirSync(options.deviceRoot, { recursive: true });
  }

  addGroup(name: string, placeCount: number | undefined): ResourceGroupState {
    const g = { name, placeCount, props: {}, uuid: randomUUID() };
    this.groups.set(k(name), g);
    return g;
  }

  group(name: string): ResourceGroupState {
    const g = this.groups.get(k(name));
    if (!g) throw new ApiFailure(rc('error', undefined, 'resourceGroup', 317, `Resource group '${name}' not found.`));
    return g;
  }

  node(name: string): NodeState {
    const n = this.nodes.get(k(name));
    if (!n) throw new ApiFailure(rc('error', undefined, 'node', 300, `Node '${name}' not found.`));
    return n;
  }

  definition(name: string, op?: 'create' | 'modify' | 'delete'): DefinitionState {
    const d = this.definitions.get(k(name));
    // A plain lookup (GET) carries no operation or object bits: -4611686018427387603 (§3).
    if (!d) throw new ApiFailure(rc('error', op, op ? 'resourceDefinition' : undefined, 301, `Resource definition '${name}' not found.`));
    return d;
  }

  findDefinition(name: string): DefinitionState | undefined {
    return this.definitions.get(k(name));
  }

  checkName(name: unknown, obj: 'resourceDefinition' | 'snapshot', op: 'create'): string {
    if (typeof name !== 'string' || !NAME_RE.test(name)) {
      const code = obj === 'snapshot' ? 218 : 202;
      throw new ApiFailure(
        rc('error', op, obj, code, `The specified name '${String(name)}' is not valid.`, {
          cause: 'Names are 2 to 48 characters: a letter or _ first, then letters, digits, _ or -.',
        }),
      );
    }
    return name;
  }

  createDefinition(name: string, group: string, props: Record<string, string>, sizeKib: number): DefinitionState {
    this.checkName(name, 'resourceDefinition', 'create');
    if (this.definitions.has(k(name))) {
      throw new ApiFailure(rc('error', 'create', 'resourceDefinition', 501, `A resource definition with the name '${name}' already exists.`));
    }
    const g = this.group(group);
    const uuid = randomUUID();
    const d: DefinitionState = {
      name,
      group: g.name,
      props: { ...props },
      flags: [],
      sizeKib,
      vdUuid: randomUUID(),
      resources: new Map(),
      snapshots: new Map(),
      snapshotSeq: 0,
      uuid,
      dataFile: join(this.options.dataDir, `${uuid}.img`),
      minor: this.#minor++,
    };
    writeFileSync(d.dataFile, '');
    truncateSync(d.dataFile, sizeKib * 1024);
    this.definitions.set(k(name), d);
    return d;
  }

  /** Free KiB of a node's pool. */
  freeKib(node: NodeState): number {
    let used = 0;
    for (const d of this.definitions.values()) {
      const r = d.resources.get(k(node.name));
      if (r && !r.diskless) used += d.sizeKib;
      for (const s of d.snapshots.values()) if (s.nodes.some((n) => k(n) === k(node.name))) used += this.allocatedKib(s.dataFile);
    }
    return Math.max(0, node.capacityKib - used);
  }

  /** KiB a file really takes (thin). */
  allocatedKib(file: string): number {
    try {
      return Math.ceil((statSync(file).blocks * 512) / 1024);
    } catch {
      return 0;
    }
  }

  addResource(d: DefinitionState, node: NodeState, diskless: boolean, props: Record<string, string> = {}): ResourceState {
    const r: ResourceState = { node: node.name, diskless, props: { ...props }, inUse: false, createdMs: Date.now(), uuid: randomUUID() };
    d.resources.set(k(node.name), r);
    this.syncDevice(d);
    return r;
  }

  removeResource(d: DefinitionState, node: string): void {
    d.resources.delete(k(node));
    this.syncDevice(d);
  }

  devicePath(d: DefinitionState): string {
    return join(this.options.deviceRoot, d.name, '0');
  }

  /** The device link exists exactly while the local node has a replica. */
  syncDevice(d: DefinitionState): void {
    const dir = join(this.options.deviceRoot, d.name);
    rmSync(dir, { recursive: true, force: true });
    if (d.resources.has(k(this.options.localNode)) && this.definitions.has(k(d.name))) {
      mkdirSync(dir, { recursive: true });
      symlinkSync(d.dataFile, join(dir, '0'));
    }
  }

  deleteDefinition(d: DefinitionState): void {
    this.definitions.delete(k(d.name));
    this.syncDevice(d);
    rmSync(d.dataFile, { force: true });
    for (const s of d.snapshots.values()) rmSync(s.dataFile, { force: true });
  }

  takeSnapshot(d: DefinitionState, name: string): SnapshotState {
    const s: SnapshotState = {
      name,
      seq: ++d.snapshotSeq,
      nodes: [...d.resources.values()].filter((r) => !r.diskless).map((r) => r.node),
      sizeKib: d.sizeKib,
      createdMs: Date.now(),
      uuid: randomUUID(),
      dataFile: join(this.options.dataDir, `${d.uuid}@${randomUUID()}.img`),
    };
    copyFileSync(d.dataFile, s.dataFile);
    d.snapshots.set(k(name), s);
    return s;
  }

  rollback(d: DefinitionState, s: SnapshotState): void {
    copyFileSync(s.dataFile, d.dataFile);
    d.sizeKib = s.sizeKib;
    truncateSync(d.dataFile, s.sizeKib * 1024);
  }

  /** `true` when the pools are ZFS. */
  get zfs(): boolean {
    return this.options.provider === 'ZFS_THIN';
  }

  /** The definitions whose data is a `zfs clone` of `d` (or of its snapshot `snapshot`). */
  dependents(d: DefinitionState, snapshot?: SnapshotState): DefinitionState[] {
    return [...this.definitions.values()].filter(
      (o) => o.origin?.rd.toLowerCase() === k(d.name) && (snapshot ? o.origin.snapshot?.toLowerCase() === k(snapshot.name) : o.origin.snapshot === undefined),
    );
  }

  deleteSnapshot(d: DefinitionState, s: SnapshotState): void {
    d.snapshots.delete(k(s.name));
    rmSync(s.dataFile, { force: true });
  }

  restoreData(s: SnapshotState, to: DefinitionState): void {
    copyFileSync(s.dataFile, to.dataFile);
    to.sizeKib = s.sizeKib;
  }

  copyData(from: DefinitionState, to: DefinitionState): void {
    copyFileSync(from.dataFile, to.dataFile);
  }

  resize(d: DefinitionState, sizeKib: number): void {
    d.sizeKib = sizeKib;
    truncateSync(d.dataFile, sizeKib * 1024);
  }
}
