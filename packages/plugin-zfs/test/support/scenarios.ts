/**
 * The scenarios captured on real ZFS in the testbed guest (`capture.ts`) and replayed by the
 * unit tests (`replay.test.ts`). A scenario is a list of plugin calls; `guest` steps prepare the
 * guest during capture (holding a device open, writing data) and are not part of the replay.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { encodeSizeHeader, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { isStorageError, type StreamFormat } from '@stowage/core';
import type { ZfsPoolConfig } from '../../src/config.js';
import type { ZfsTuning } from '../../src/exec.js';
import { FLATTEN_PROPERTY, INCOMPLETE_PROPERTY } from '../../src/commands.js';
import { ZfsPoolPlugin } from '../../src/zfs-plugin.js';
import { CAPTURE_CONFIG, CAPTURE_POOL } from './context.js';

type Ctx = PluginContext<ZfsPoolConfig>;

/** One step: a plugin call, or guest preparation (capture only). */
export type Step =
  | { readonly name: string; readonly call: (plugin: ZfsPoolPlugin, ctx: Ctx, state: Map<string, Buffer>) => Promise<unknown> }
  | { readonly name: string; readonly guest: (runner: CommandRunner) => Promise<void> };

/** A scenario: its config, the plugin's bounds, and its steps. */
export interface Scenario {
  readonly name: string;
  readonly config: ZfsPoolConfig;
  readonly tuning?: Partial<ZfsTuning>;
  /** The replay may run fewer or other repetitions of a polling command (a wait that times out). */
  readonly timed?: boolean;
  readonly steps: readonly Step[];
}

/** What a call gave: a value, or an error code with the details that matter. */
export type Outcome = { readonly ok: unknown } | { readonly code: string; readonly details?: Record<string, unknown> };

const KEPT_DETAILS = ['clones', 'blockers', 'attempts', 'failure', 'listed', 'available', 'requested', 'snapshots', 'type', 'timeoutMs', 'size', 'received'];

/** Runs a call and turns its result into an {@link Outcome} that JSON can hold. */
export async function outcomeOf(p: Promise<unknown>): Promise<Outcome> {
  try {
    const value = await p;
    return { ok: value === undefined ? null : JSON.parse(JSON.stringify(value)) };
  } catch (e) {
    if (!isStorageError(e)) throw e;
    const d = e.details as Record<string, unknown>;
    const keep: Record<string, unknown> = {};
    for (const k of KEPT_DETAILS) if (d[k] !== undefined) keep[k] = d[k];
    return { code: e.code, details: keep };
  }
}

const MiB = 1024 * 1024;
const vol = (volname: string) => new ZfsPoolPlugin().parseVolname(volname);

/** `size` bytes of printable text (stored as text in the fixtures, not base64). */
export function payload(size: number, seed = 'stowage'): Buffer {
  const line = (i: number) => `${seed} zfs fixture ${String(i).padStart(8, '0')}\n`;
  const parts: string[] = [];
  let length = 0;
  for (let i = 0; length < size; i++) {
    parts.push(line(i));
    length += line(i).length;
  }
  return Buffer.from(parts.join('')).subarray(0, size);
}

/** SHA-256 of bytes, hex. */
export function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** What a scenario export may ask for. */
interface ExportOptions {
  readonly snapshot?: string;
  readonly baseSnapshot?: string;
  readonly withSnapshots?: boolean;
}

/** Exports a volume into memory. */
async function exportBytes(plugin: ZfsPoolPlugin, ctx: Ctx, volname: string, format: StreamFormat, options: ExportOptions = {}): Promise<Buffer> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await plugin.volumeExport(ctx, { volume: vol(volname), format, output: out, ...options });
  return Buffer.concat(chunks);
}

/** The `raw+size` stream of `data`, in two chunks; `header` may claim another length. */
function rawStream(data: Buffer, header = data.length): Readable {
  return Readable.from([encodeSizeHeader(header), data.subarray(0, 10_000), data.subarray(10_000)]);
}

/**
 * A `raw+size` stream that claims `header` bytes but ends early, and only half a second after its
 * last byte: the import's command has started by then (in the capture and in the replay alike),
 * so both record and replay the same commands whichever side notices the short stream first.
 */
function shortRawStream(data: Buffer, header: number): Readable {
  return Readable.from(
    (async function* () {
      yield encodeSizeHeader(header);
      yield data;
      await new Promise((r) => setTimeout(r, 500));
    })(),
  );
}

/** Exports into memory and records length and hash (the stream itself stays in `state`). */
function exported(key: string, volname: string, format: StreamFormat, options: ExportOptions = {}) {
  return async (p: ZfsPoolPlugin, c: Ctx, state: Map<string, Buffer>) => {
    const bytes = await exportBytes(p, c, volname, format, options);
    state.set(key, bytes);
    return { length: bytes.length, sha256: sha(bytes) };
  };
}

/** A shell script run in the guest for preparation only (never by the plugin). */
function sh(script: string): (runner: CommandRunner) => Promise<void> {
  return async (runner) => {
    await runner.run(['sh', '-c', script], { timeoutMs: 600_000 });
  };
}

const cfg = CAPTURE_CONFIG;

/** An owner token of the capture's node from another boot: dead wherever the fixtures replay. */
export const DEAD_OWNER = 'test:00000000:4242:1';

/** An owner token of another node: neither dead nor alive as far as this node can tell. */
export const FOREIGN_OWNER = 'elsewhere:00000000:7:7';

/**
 * A `raw+size` import whose stream is held after its first bytes: while the plugin writes, the
 * volume is listed, freed and a free name is asked for (each refused or skipping it), then the
 * stream ends.
 */
async function importSeenWhileRunning(plugin: ZfsPoolPlugin, ctx: Ctx, volname: string): Promise<Record<string, unknown>> {
  const data = payload(2 * MiB);
  const input = new PassThrough();
  let flowing: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (flowing = resolve));
  input.write(encodeSizeHeader(data.length));
  input.write(data.subarray(0, MiB));
  const importing = plugin.volumeImport(ctx, { volume: vol(volname), format: 'raw+size', input, onProgress: () => flowing() });
  await Promise.race([started, importing]);
  const listed = (await plugin.listImages(ctx, {})).map((i) => i.volname);
  const free = await outcomeOf(plugin.freeImage(ctx, { volume: vol(volname) }));
  const freeName = await plugin.findFreeDiskname(ctx, { vmid: vol(volname).vmid! });
  input.end(data.subarray(MiB));
  return { listed, free, freeName, imported: await importing };
}
const dev = (name: string) => `/dev/zvol/${cfg.pool}/${name}`;
const snapNames = (o: unknown) => (o as Array<{ name: string }>).map((s) => s.name);

/** Every scenario, in capture order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'flatten',
    config: cfg,
    steps: [
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 160, format: 'raw', name: 'vm-160-disk-0', size: MiB }) },
      { name: 'write', guest: sh(`head -c 65536 /dev/urandom | dd of=${dev('vm-160-disk-0')} bs=64k conv=fsync status=none`) },
      { name: 'snapshot a', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-160-disk-0'), snapshot: 'a' }) },
      { name: 'snapshot b', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-160-disk-0'), snapshot: 'b' }) },
      { name: 'clone of b', call: (p, c) => p.cloneImage(c, { volume: vol('vm-160-disk-0'), snapshot: 'b', vmid: 161, name: 'vm-161-disk-0' }) },
      { name: 'flatten while a snapshot has a clone', call: (p, c) => p.volumeSnapshotFlatten(c, { volume: vol('vm-160-disk-0'), snapshot: 'a' }) },
      { name: 'free the clone', call: (p, c) => p.freeImage(c, { volume: vol('vm-161-disk-0') }) },
      { name: 'flatten to a missing snapshot', call: (p, c) => p.volumeSnapshotFlatten(c, { volume: vol('vm-160-disk-0'), snapshot: 'nope' }) },
      { name: 'flatten to a', call: (p, c) => p.volumeSnapshotFlatten(c, { volume: vol('vm-160-disk-0'), snapshot: 'a' }) },
      { name: 'snapshots after', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'flatten a volume that is no clone', call: (p, c) => p.flattenImage(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'create base', call: (p, c) => p.createBase(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'clone base', call: (p, c) => p.cloneImage(c, { volume: vol('base-160-disk-0'), vmid: 162, name: 'vm-162-disk-0' }) },
      { name: 'snapshot the clone', call: (p, c) => p.volumeSnapshot(c, { volume: vol('base-160-disk-0/vm-162-disk-0'), snapshot: 's' }) },
      { name: 'flatten the clone', call: (p, c) => p.flattenImage(c, { volume: vol('base-160-disk-0/vm-162-disk-0') }) },
      { name: 'hide the base', call: (p, c) => p.updateVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden', value: true }) },
      { name: 'is it hidden', call: (p, c) => p.getVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden' }) },
      { name: 'clone the hidden base', call: (p, c) => p.cloneImage(c, { volume: vol('base-160-disk-0'), vmid: 165, name: 'vm-165-disk-0' }) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'free the base', call: (p, c) => p.freeImage(c, { volume: vol('base-160-disk-0') }) },
      { name: 'snapshots of the flattened clone', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-162-disk-0') }) },
      {
        name: 'leftovers of flattens killed after the promote (vm-163) and after the first rename (vm-164)',
        guest: sh(`P=${cfg.pool}
for v in vm-163-disk-0 vm-164-disk-0; do zfs create -s -V 1M $P/$v; zfs snapshot $P/$v@a; zfs snapshot $P/$v@b; done
zfs clone -o ${FLATTEN_PROPERTY}=${DEAD_OWNER} $P/vm-163-disk-0@a $P/stowage-flatten-new-vm-163-disk-0
zfs promote $P/stowage-flatten-new-vm-163-disk-0
zfs clone -o ${FLATTEN_PROPERTY}=${DEAD_OWNER} $P/vm-164-disk-0@a $P/stowage-flatten-new-vm-164-disk-0
zfs promote $P/stowage-flatten-new-vm-164-disk-0
zfs set ${FLATTEN_PROPERTY}=${DEAD_OWNER} $P/vm-164-disk-0
zfs rename $P/vm-164-disk-0 $P/stowage-flatten-old-vm-164-disk-0
udevadm settle --timeout=30`),
      },
      { name: 'collect, dry run', call: (p, c) => p.collectGarbage(c, { dryRun: true }) },
      { name: 'collect', call: (p, c) => p.collectGarbage(c, {}) },
      { name: 'snapshots of the one taken back', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-163-disk-0') }) },
      { name: 'snapshots of the one finished', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-164-disk-0') }) },
      { name: 'list after collect', call: (p, c) => p.listImages(c, {}) },
      { name: 'free the rest', guest: sh(`for v in vm-162-disk-0 vm-163-disk-0 vm-164-disk-0; do zfs destroy -r ${cfg.pool}/$v; done`) },
    ],
  },
  {
    name: 'lifecycle',
    config: cfg,
    steps: [
      { name: 'activate storage', call: (p, c) => p.activateStorage(c) },
      { name: 'status of an empty dataset', call: (p, c) => p.status(c) },
      { name: 'list empty', call: (p, c) => p.listImages(c, {}) },
      { name: 'free name', call: (p, c) => p.findFreeDiskname(c, { vmid: 100, format: 'raw' }) },
      { name: 'alloc 1.5 MiB', call: (p, c) => p.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 1.5 * MiB }) },
      { name: 'alloc again', call: (p, c) => p.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: MiB }) },
      { name: 'size info', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'snapshot info of a new volume', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'snapshot s1', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'snapshot s1 again', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'snapshot s2', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's2' }) },
      { name: 'snapshot s3', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's3' }) },
      { name: 'snapshot info', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'rollback blockers of s1', call: (p, c) => p.volumeRollbackIsPossible(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'rollback to s1', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'clone from s2', call: (p, c) => p.cloneImage(c, { volume: vol('vm-100-disk-0'), snapshot: 's2', vmid: 101, name: 'vm-101-disk-0' }) },
      { name: 'clone onto a taken name', call: (p, c) => p.cloneImage(c, { volume: vol('vm-100-disk-0'), snapshot: 's2', vmid: 101, name: 'vm-101-disk-0' }) },
      { name: 'clone from a missing snapshot', call: (p, c) => p.cloneImage(c, { volume: vol('vm-100-disk-0'), snapshot: 'nope', vmid: 101, name: 'vm-101-disk-1' }) },
      { name: 'rollback to s1 destroying blockers, a clone on s2', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-100-disk-0'), snapshot: 's1', destroyBlockers: true }) },
      { name: 'delete snapshot with a clone', call: (p, c) => p.volumeSnapshotDelete(c, { volume: vol('vm-100-disk-0'), snapshot: 's2' }) },
      { name: 'free volume whose snapshot has a clone', call: (p, c) => p.freeImage(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'rollback to s3, the newest', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-100-disk-0'), snapshot: 's3' }) },
      { name: 'delete s3', call: (p, c) => p.volumeSnapshotDelete(c, { volume: vol('vm-100-disk-0'), snapshot: 's3' }) },
      { name: 'delete s3 again', call: (p, c) => p.volumeSnapshotDelete(c, { volume: vol('vm-100-disk-0'), snapshot: 's3' }) },
      { name: 'rollback to missing', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-100-disk-0'), snapshot: 'nope' }) },
      { name: 'grow to 3 MiB', call: (p, c) => p.volumeResize(c, { volume: vol('vm-100-disk-0'), size: 3 * MiB }) },
      { name: 'same size', call: (p, c) => p.volumeResize(c, { volume: vol('vm-100-disk-0'), size: 3 * MiB - 5 }) },
      { name: 'shrink', call: (p, c) => p.volumeResize(c, { volume: vol('vm-100-disk-0'), size: MiB }) },
      { name: 'rename the clone', call: (p, c) => p.renameVolume(c, { volume: vol('vm-101-disk-0'), targetVmid: 102, targetName: 'vm-102-disk-0' }) },
      { name: 'rename onto a taken name', call: (p, c) => p.renameVolume(c, { volume: vol('vm-102-disk-0'), targetVmid: 100, targetName: 'vm-100-disk-0' }) },
      { name: 'rename a missing volume', call: (p, c) => p.renameVolume(c, { volume: vol('vm-101-disk-0'), targetVmid: 102, targetName: 'vm-102-disk-1' }) },
      { name: 'alloc for a base', call: (p, c) => p.allocImage(c, { vmid: 103, format: 'raw', name: 'vm-103-disk-0', size: MiB }) },
      { name: 'create base', call: (p, c) => p.createBase(c, { volume: vol('vm-103-disk-0') }) },
      { name: 'create base of the old name', call: (p, c) => p.createBase(c, { volume: vol('vm-103-disk-0') }) },
      { name: 'clone base', call: (p, c) => p.cloneImage(c, { volume: vol('base-103-disk-0'), vmid: 104, name: 'vm-104-disk-0' }) },
      { name: 'clone a plain volume without a snapshot', call: (p, c) => p.cloneImage(c, { volume: vol('vm-100-disk-0'), vmid: 104, name: 'vm-104-disk-1' }) },
      { name: 'free base with clone', call: (p, c) => p.freeImage(c, { volume: vol('base-103-disk-0') }) },
      { name: 'list all', call: (p, c) => p.listImages(c, {}) },
      { name: 'list vmid 104', call: (p, c) => p.listImages(c, { vmid: 104 }) },
      { name: 'list by volname', call: (p, c) => p.listImages(c, { volnames: ['base-103-disk-0/vm-104-disk-0', 'vm-102-disk-0'] }) },
      { name: 'size info of clone', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('base-103-disk-0/vm-104-disk-0') }) },
      { name: 'free name next to a base', call: (p, c) => p.findFreeDiskname(c, { vmid: 103, format: 'raw' }) },
      { name: 'activate clone', call: (p, c) => p.activateVolume(c, { volume: vol('base-103-disk-0/vm-104-disk-0') }) },
      { name: 'activate snapshot', call: (p, c) => p.activateVolume(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'activate missing snapshot', call: (p, c) => p.activateVolume(c, { volume: vol('vm-100-disk-0'), snapshot: 'nope' }) },
      { name: 'status with volumes', call: (p, c) => p.status(c) },
      { name: 'free clone of base', call: (p, c) => p.freeImage(c, { volume: vol('base-103-disk-0/vm-104-disk-0') }) },
      { name: 'free base', call: (p, c) => p.freeImage(c, { volume: vol('base-103-disk-0') }) },
      { name: 'free clone of snapshot', call: (p, c) => p.freeImage(c, { volume: vol('vm-102-disk-0') }) },
      { name: 'free volume with snapshots', call: (p, c) => p.freeImage(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'free again', call: (p, c) => p.freeImage(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'list empty at the end', call: (p, c) => p.listImages(c, {}) },
    ],
  },
  {
    name: 'subvol',
    config: { ...cfg, mountpoint: `/${cfg.pool}` },
    steps: [
      { name: 'free name', call: (p, c) => p.findFreeDiskname(c, { vmid: 200, format: 'subvol' }) },
      { name: 'alloc 4 MiB', call: (p, c) => p.allocImage(c, { vmid: 200, format: 'subvol', name: 'subvol-200-disk-0', size: 4 * MiB }) },
      { name: 'alloc a subvol with a zvol name', call: (p, c) => p.allocImage(c, { vmid: 200, format: 'subvol', name: 'vm-200-disk-1', size: MiB }) },
      { name: 'path', call: (p, c) => p.path(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'snapshot s1', call: (p, c) => p.volumeSnapshot(c, { volume: vol('subvol-200-disk-0'), snapshot: 's1' }) },
      { name: 'grow to 8 MiB', call: (p, c) => p.volumeResize(c, { volume: vol('subvol-200-disk-0'), size: 8 * MiB }) },
      { name: 'size info after growing', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'rollback to s1 restores the quota', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('subvol-200-disk-0'), snapshot: 's1' }) },
      { name: 'size info after the rollback', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'activate (mounted)', call: (p, c) => p.activateVolume(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'unmount', guest: sh(`zfs unmount ${cfg.pool}/subvol-200-disk-0`) },
      { name: 'activate (mounts)', call: (p, c) => p.activateVolume(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'clone s1', call: (p, c) => p.cloneImage(c, { volume: vol('subvol-200-disk-0'), snapshot: 's1', vmid: 201, name: 'subvol-201-disk-0' }) },
      { name: 'alloc another', call: (p, c) => p.allocImage(c, { vmid: 202, format: 'subvol', name: 'subvol-202-disk-0', size: 2 * MiB }) },
      { name: 'create base', call: (p, c) => p.createBase(c, { volume: vol('subvol-202-disk-0') }) },
      { name: 'clone base', call: (p, c) => p.cloneImage(c, { volume: vol('basevol-202-disk-0'), vmid: 203, name: 'subvol-203-disk-0' }) },
      { name: 'list all', call: (p, c) => p.listImages(c, {}) },
      { name: 'list volumes', call: (p, c) => p.listVolumes(c, {}) },
      { name: 'export formats', call: (p, c) => p.volumeExportFormats(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'raw export refused', call: (p, c) => exportBytes(p, c, 'subvol-200-disk-0', 'raw+size') },
      { name: 'free clone of base', call: (p, c) => p.freeImage(c, { volume: vol('basevol-202-disk-0/subvol-203-disk-0') }) },
      { name: 'free base', call: (p, c) => p.freeImage(c, { volume: vol('basevol-202-disk-0') }) },
      { name: 'free clone', call: (p, c) => p.freeImage(c, { volume: vol('subvol-201-disk-0') }) },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('subvol-200-disk-0') }) },
      { name: 'list empty at the end', call: (p, c) => p.listImages(c, {}) },
    ],
  },
  {
    name: 'transfer',
    config: cfg,
    steps: [
      { name: 'import raw', call: (p, c) => p.volumeImport(c, { volume: vol('vm-110-disk-0'), format: 'raw+size', input: rawStream(payload(64 * 1024)) }) },
      { name: 'import raw onto a taken name', call: (p, c) => p.volumeImport(c, { volume: vol('vm-110-disk-0'), format: 'raw+size', input: rawStream(payload(64 * 1024)) }) },
      { name: 'import raw renamed', call: (p, c) => p.volumeImport(c, { volume: vol('vm-110-disk-0'), format: 'raw+size', input: rawStream(payload(64 * 1024)), allowRename: true }) },
      { name: 'import raw truncated', call: (p, c) => p.volumeImport(c, { volume: vol('vm-111-disk-0'), format: 'raw+size', input: shortRawStream(payload(64 * 1024), 128 * 1024) }) },
      { name: 'import raw seen while it runs', call: (p, c) => importSeenWhileRunning(p, c, 'vm-113-disk-0') },
      { name: 'list vmid 113', call: (p, c) => p.listImages(c, { vmid: 113 }) },
      { name: 'free the import seen while it runs', call: (p, c) => p.freeImage(c, { volume: vol('vm-113-disk-0') }) },
      { name: 'import raw as base', call: (p, c) => p.volumeImport(c, { volume: vol('base-117-disk-0'), format: 'raw+size', input: rawStream(payload(64 * 1024)) }) },
      { name: 'snapshots of the imported base', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('base-117-disk-0') }) },
      { name: 'export raw of a snapshot refused', call: (p, c) => exportBytes(p, c, 'vm-110-disk-0', 'raw+size', { snapshot: 'a' }) },
      { name: 'export zfs without a snapshot', call: (p, c) => exportBytes(p, c, 'vm-110-disk-0', 'zfs') },
      { name: 'export zfs of a missing snapshot', call: (p, c) => exportBytes(p, c, 'vm-110-disk-0', 'zfs', { snapshot: 'nope' }) },
      { name: 'alloc a small zvol', call: (p, c) => p.allocImage(c, { vmid: 114, format: 'raw', name: 'vm-114-disk-0', size: MiB }) },
      { name: 'write 4 KiB of text', guest: sh(`printf 'stowage %04096d' 7 | head -c 4096 | dd of=${dev('vm-114-disk-0')} bs=4k conv=fsync status=none`) },
      { name: 'snapshot a', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-114-disk-0'), snapshot: 'a' }) },
      { name: 'export zfs full', call: exported('full', 'vm-114-disk-0', 'zfs', { snapshot: 'a' }) },
      { name: 'import zfs full', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-0'), format: 'zfs', input: Readable.from([s.get('full')!]), snapshot: 'a' }) },
      { name: 'snapshots of the copy', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-115-disk-0') }) },
      { name: 'snapshots of the source', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-114-disk-0') }) },
      { name: 'import zfs onto a taken name', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-0'), format: 'zfs', input: Readable.from([s.get('full')!]) }) },
      { name: 'import zfs renamed', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-0'), format: 'zfs', input: Readable.from([s.get('full')!]), allowRename: true }) },
      { name: 'import zfs truncated', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-116-disk-0'), format: 'zfs', input: Readable.from([s.get('full')!.subarray(0, s.get('full')!.length >> 1)]) }) },
      { name: 'import zfs that is not a zfs stream', call: (p, c) => p.volumeImport(c, { volume: vol('vm-116-disk-0'), format: 'zfs', input: Readable.from([payload(4096)]) }) },
      { name: 'import a zvol stream as a subvol', call: (p, c, s) => p.volumeImport(c, { volume: vol('subvol-116-disk-0'), format: 'zfs', input: Readable.from([s.get('full')!]) }) },
      { name: 'list vmid 116', call: (p, c) => p.listImages(c, { vmid: 116 }) },
      { name: 'change 64 KiB', guest: sh(`yes stowage-changed | head -c 65536 | dd of=${dev('vm-114-disk-0')} bs=64k seek=4 conv=notrunc,fsync status=none`) },
      { name: 'snapshot b', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-114-disk-0'), snapshot: 'b' }) },
      { name: 'export zfs increment a..b', call: exported('increment', 'vm-114-disk-0', 'zfs', { snapshot: 'b', baseSnapshot: 'a' }) },
      { name: 'import increment onto the copy', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-0'), format: 'zfs', input: Readable.from([s.get('increment')!]), baseSnapshot: 'a', snapshot: 'b' }) },
      { name: 'snapshots of the copy after the increment', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-115-disk-0') }) },
      { name: 'import the same increment again (-F replays it)', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-0'), format: 'zfs', input: Readable.from([s.get('increment')!]), baseSnapshot: 'a' }) },
      { name: 'snapshots after the replayed increment', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-115-disk-0') }) },
      { name: 'import a truncated increment', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-1'), format: 'zfs', input: Readable.from([s.get('increment')!.subarray(0, 40_000)]), baseSnapshot: 'a' }) },
      { name: 'snapshots after the truncated increment', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-115-disk-1') }) },
      { name: 'import increment onto a missing base', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-115-disk-1'), format: 'zfs', input: Readable.from([s.get('increment')!]), baseSnapshot: 'nope' }) },
      { name: 'export zfs with snapshots', call: exported('replication', 'vm-114-disk-0', 'zfs', { snapshot: 'b', withSnapshots: true }) },
      { name: 'import zfs with snapshots', call: (p, c, s) => p.volumeImport(c, { volume: vol('vm-118-disk-0'), format: 'zfs', input: Readable.from([s.get('replication')!]), withSnapshots: true, snapshot: 'b' }) },
      { name: 'snapshots of the replica', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-118-disk-0') }) },
      { name: 'free all', call: async (p, c) => {
        for (const v of ['vm-110-disk-0', 'vm-110-disk-1', 'base-117-disk-0', 'vm-114-disk-0', 'vm-115-disk-0', 'vm-115-disk-1', 'vm-116-disk-0', 'vm-118-disk-0']) {
          // the failed imports into vm-116-disk-0 left nothing behind, so freeing it is NOT_FOUND
          const never = v === 'vm-116-disk-0';
          await p.freeImage(c, { volume: vol(v) }).then(
            () => {
              if (never) throw new Error(`${v} was freed, but no import made it`);
            },
            (e: unknown) => {
              if (!never || !isStorageError(e, 'NOT_FOUND')) throw e;
            },
          );
        }
      } },
      { name: 'list empty at the end', call: (p, c) => p.listImages(c, {}) },
    ],
  },
  {
    name: 'garbage',
    config: cfg,
    steps: [
      {
        name: 'unfinished zvols of a dead owner (another boot) and of another node',
        guest: sh(`zfs create -s -V 1M -o ${INCOMPLETE_PROPERTY}=${DEAD_OWNER} ${cfg.pool}/vm-150-disk-0
zfs create -s -V 1M -o ${INCOMPLETE_PROPERTY}=${FOREIGN_OWNER} ${cfg.pool}/vm-151-disk-0
udevadm settle --timeout=30`),
      },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'free an unfinished volume', call: (p, c) => p.freeImage(c, { volume: vol('vm-150-disk-0') }) },
      { name: 'free name next to an unfinished volume', call: (p, c) => p.findFreeDiskname(c, { vmid: 150 }) },
      { name: 'alloc onto an unfinished volume', call: (p, c) => p.allocImage(c, { vmid: 150, format: 'raw', name: 'vm-150-disk-0', size: MiB }) },
      { name: 'collect, dry run', call: (p, c) => p.collectGarbage(c, { dryRun: true }) },
      { name: 'collect', call: (p, c) => p.collectGarbage(c, {}) },
      { name: 'collect again', call: (p, c) => p.collectGarbage(c, {}) },
      { name: 'alloc where the dead owner left a zvol', call: (p, c) => p.allocImage(c, { vmid: 150, format: 'raw', name: 'vm-150-disk-0', size: MiB }) },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('vm-150-disk-0') }) },
      { name: "drop the other node's zvol", guest: sh(`zfs destroy ${cfg.pool}/vm-151-disk-0`) },
    ],
  },
  {
    name: 'busy',
    config: cfg,
    tuning: { busyAttempts: 3, busyDelayMs: 200 },
    steps: [
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 120, format: 'raw', name: 'vm-120-disk-0', size: MiB }) },
      { name: 'hold the device open', guest: sh(`sleep 600 < ${dev('vm-120-disk-0')} > /dev/null 2>&1 & echo $! > /run/stowzcap-hold.pid`) },
      { name: 'free while held', call: (p, c) => p.freeImage(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'release', guest: sh('kill $(cat /run/stowzcap-hold.pid); rm -f /run/stowzcap-hold.pid; sleep 1') },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'list empty', call: (p, c) => p.listImages(c, { vmid: 120 }) },
    ],
  },
  {
    name: 'no-space',
    config: { ...cfg, sparse: false },
    steps: [
      { name: 'alloc 1 TiB with a reservation', call: (p, c) => p.allocImage(c, { vmid: 130, format: 'raw', name: 'vm-130-disk-0', size: 1024 * 1024 * MiB }) },
      { name: 'alloc 1 MiB', call: (p, c) => p.allocImage(c, { vmid: 130, format: 'raw', name: 'vm-130-disk-0', size: MiB }) },
      { name: 'grow to 1 TiB', call: (p, c) => p.volumeResize(c, { volume: vol('vm-130-disk-0'), size: 1024 * 1024 * MiB }) },
      { name: 'subvol quota is not a reservation', call: (p, c) => p.allocImage(c, { vmid: 131, format: 'subvol', name: 'subvol-131-disk-0', size: 1024 * 1024 * MiB }) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'free', call: async (p, c) => {
        await p.freeImage(c, { volume: vol('vm-130-disk-0') });
        await p.freeImage(c, { volume: vol('subvol-131-disk-0') });
      } },
    ],
  },
  {
    name: 'blocksize',
    config: { ...cfg, blocksize: '2m' },
    steps: [
      { name: 'alloc with a block size the pool refuses', call: (p, c) => p.allocImage(c, { vmid: 140, format: 'raw', name: 'vm-140-disk-0', size: MiB }) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
    ],
  },
  {
    name: 'no-link',
    config: { ...cfg, pool: `${CAPTURE_POOL}/nolink` },
    tuning: { zvolLinkTimeoutMs: 1500 },
    timed: true,
    steps: [
      { name: 'a dataset whose zvols get no device (volmode=none)', guest: sh(`zfs create -o volmode=none ${CAPTURE_POOL}/nolink`) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 150, format: 'raw', name: 'vm-150-disk-0', size: MiB }) },
      { name: 'list after the timeout', call: (p, c) => p.listImages(c, {}) },
    ],
  },
  {
    name: 'dataset-missing',
    config: { ...cfg, pool: `${CAPTURE_POOL}/nosuch` },
    steps: [
      { name: 'activate storage (the pool is there)', call: (p, c) => p.activateStorage(c) },
      { name: 'status', call: (p, c) => p.status(c) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 160, format: 'raw', name: 'vm-160-disk-0', size: MiB }) },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'size info', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'resize', call: (p, c) => p.volumeResize(c, { volume: vol('vm-160-disk-0'), size: 2 * MiB }) },
      { name: 'snapshot', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-160-disk-0'), snapshot: 's' }) },
      { name: 'snapshot info', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'delete snapshot', call: (p, c) => p.volumeSnapshotDelete(c, { volume: vol('vm-160-disk-0'), snapshot: 's' }) },
      { name: 'rollback', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-160-disk-0'), snapshot: 's' }) },
      { name: 'create base', call: (p, c) => p.createBase(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'clone a missing base', call: (p, c) => p.cloneImage(c, { volume: vol('base-161-disk-0'), vmid: 160, name: 'vm-160-disk-1' }) },
      { name: 'rename', call: (p, c) => p.renameVolume(c, { volume: vol('vm-160-disk-0'), targetVmid: 161, targetName: 'vm-161-disk-0' }) },
      { name: 'activate volume', call: (p, c) => p.activateVolume(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'export raw', call: (p, c) => exportBytes(p, c, 'vm-160-disk-0', 'raw+size') },
    ],
  },
  {
    name: 'pool-missing',
    config: { ...cfg, pool: 'stowznosuch/data' },
    steps: [
      { name: 'activate storage (import fails)', call: (p, c) => p.activateStorage(c) },
      { name: 'status', call: (p, c) => p.status(c) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 170, format: 'raw', name: 'vm-170-disk-0', size: MiB }) },
    ],
  },
];

/** Names of snapshots in an outcome of `volumeSnapshotInfo`. */
export { snapNames };
