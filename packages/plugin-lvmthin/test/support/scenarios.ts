/**
 * The scenarios captured on real LVM in the testbed guest (`capture.ts`) and replayed by the
 * unit tests (`replay.test.ts`). A scenario is a list of plugin calls; `guest` steps prepare the
 * guest during capture (holding a device open, filling a pool) and are not part of the replay.
 */
import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { encodeSizeHeader, type CommandRunner, type PluginContext } from '@stowage/core/plugin';
import { isStorageError } from '@stowage/core';
import type { LvmThinConfig } from '../../src/config.js';
import { LvmThinPlugin } from '../../src/lvmthin-plugin.js';
import { FLATTEN_TAG_PREFIX, INCOMPLETE_TAG_PREFIX } from '../../src/names.js';
import { CAPTURE_CONFIG } from './context.js';

type Ctx = PluginContext<LvmThinConfig>;

/** One step: a plugin call, or guest preparation (capture only). */
export type Step =
  | { readonly name: string; readonly call: (plugin: LvmThinPlugin, ctx: Ctx) => Promise<unknown> }
  | { readonly name: string; readonly guest: (runner: CommandRunner) => Promise<void> };

/** A scenario: its config and its steps. */
export interface Scenario {
  readonly name: string;
  readonly config: LvmThinConfig;
  readonly steps: readonly Step[];
}

/** What a call gave: a value, or an error code. */
export type Outcome = { readonly ok: unknown } | { readonly code: string; readonly failure?: unknown; readonly details?: unknown };

/** Runs a call and turns its result into an {@link Outcome} that JSON can hold. */
export async function outcomeOf(p: Promise<unknown>): Promise<Outcome> {
  try {
    const value = await p;
    return { ok: value === undefined ? null : JSON.parse(JSON.stringify(value)) };
  } catch (e) {
    if (!isStorageError(e)) throw e;
    const d = e.details as Record<string, unknown>;
    const keep: Record<string, unknown> = {};
    for (const k of ['clones', 'snapshots', 'attempts', 'pool', 'failure', 'leftover', 'hidden']) if (d[k] !== undefined) keep[k] = d[k];
    return { code: e.code, details: keep };
  }
}

const KiB = 1024;
const vol = (volname: string) => new LvmThinPlugin().parseVolname(volname);

/** 64 KiB of a fixed pattern with a zero block in the middle (exercises `conv=sparse`). */
export function payload(size = 64 * KiB): Buffer {
  const b = Buffer.alloc(size);
  for (let i = 0; i < size; i++) b[i] = (i * 31 + 7) & 0xff;
  b.fill(0, size / 4, size / 2);
  return b;
}

function sha(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function exportBytes(plugin: LvmThinPlugin, ctx: Ctx, volname: string, snapshot?: string): Promise<{ length: number; sha256: string }> {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (c: Buffer) => chunks.push(c));
  await plugin.volumeExport(ctx, { volume: vol(volname), format: 'raw+size', output: out, snapshot });
  const all = Buffer.concat(chunks);
  return { length: all.length, sha256: sha(all) };
}

function importStream(data: Buffer, header = data.length): Readable {
  return Readable.from([encodeSizeHeader(header), data.subarray(0, 10_000), data.subarray(10_000)]);
}

/**
 * An import whose stream is held after its first bytes: while the plugin writes, the volume is
 * listed, freed and a free name is asked for (each refused or skipping it), then the stream ends.
 */
async function importSeenWhileRunning(plugin: LvmThinPlugin, ctx: Ctx, volname: string): Promise<Record<string, unknown>> {
  const data = payload();
  const input = new PassThrough();
  let flowing: () => void = () => undefined;
  const started = new Promise<void>((resolve) => (flowing = resolve));
  input.write(encodeSizeHeader(data.length));
  input.write(data.subarray(0, 16 * KiB));
  const importing = plugin.volumeImport(ctx, { volume: vol(volname), format: 'raw+size', input, onProgress: () => flowing() });
  await Promise.race([started, importing]);
  const listed = (await plugin.listImages(ctx, {})).map((i) => i.volname);
  const free = await outcomeOf(plugin.freeImage(ctx, { volume: vol(volname) }));
  const freeName = await plugin.findFreeDiskname(ctx, { vmid: vol(volname).vmid! });
  input.end(data.subarray(16 * KiB));
  return { listed, free, freeName, imported: await importing };
}

/** A shell line run in the guest for preparation only (never by the plugin). */
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

/** Every scenario, in capture order. */
export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'flatten',
    config: cfg,
    steps: [
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 160, format: 'raw', name: 'vm-160-disk-0', size: 64 * KiB }) },
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
      { name: 'snapshot the clone', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-162-disk-0'), snapshot: 's' }) },
      { name: 'free the base while cloned', call: (p, c) => p.freeImage(c, { volume: vol('base-160-disk-0') }) },
      { name: 'flatten the clone', call: (p, c) => p.flattenImage(c, { volume: vol('vm-162-disk-0') }) },
      { name: 'clone base again', call: (p, c) => p.cloneImage(c, { volume: vol('base-160-disk-0'), vmid: 165, name: 'vm-165-disk-0' }) },
      { name: 'hide the base', call: (p, c) => p.updateVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden', value: true }) },
      { name: 'is it hidden', call: (p, c) => p.getVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden' }) },
      { name: 'clone the hidden base', call: (p, c) => p.cloneImage(c, { volume: vol('base-160-disk-0'), vmid: 166, name: 'vm-166-disk-0' }) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'size info of the clone of the hidden base', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('vm-165-disk-0') }) },
      { name: 'free the hidden base while cloned', call: (p, c) => p.freeImage(c, { volume: vol('base-160-disk-0') }) },
      { name: 'show the base', call: (p, c) => p.updateVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden', value: false }) },
      { name: 'is it hidden after showing', call: (p, c) => p.getVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden' }) },
      { name: 'hide the base again', call: (p, c) => p.updateVolumeAttribute(c, { volume: vol('base-160-disk-0'), attribute: 'hidden', value: true }) },
      { name: 'a volume made to be a base of the hidden base\'s name', call: (p, c) => p.allocImage(c, { vmid: 160, format: 'raw', name: 'vm-160-disk-0', size: 64 * KiB }) },
      { name: 'create base over the hidden base', call: (p, c) => p.createBase(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'free that volume', call: (p, c) => p.freeImage(c, { volume: vol('vm-160-disk-0') }) },
      { name: 'free the clone of the hidden base', call: (p, c) => p.freeImage(c, { volume: vol('vm-165-disk-0') }) },
      { name: 'free the base', call: (p, c) => p.freeImage(c, { volume: vol('base-160-disk-0') }) },
      { name: 'snapshots of the flattened clone', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-162-disk-0') }) },
      {
        name: 'leftovers of flattens killed after the new state was made (vm-163) and after the first rename (vm-164)',
        guest: sh(`T=${FLATTEN_TAG_PREFIX}${DEAD_OWNER}
for v in vm-163-disk-0 vm-164-disk-0; do
  lvcreate -q -y -ay -ky -K -V 64k -n $v --thinpool stowcap/pool >/dev/null
  lvcreate -q -y -pr -n snap_\${v}_a -s stowcap/$v >/dev/null
  lvcreate -q -y -prw -ky -K -n stowage_flatten_new_$v --addtag $T -s stowcap/snap_\${v}_a >/dev/null
done
lvchange -q --addtag $T stowcap/vm-164-disk-0
lvrename -q stowcap vm-164-disk-0 stowage_flatten_old_vm-164-disk-0`),
      },
      { name: 'collect, dry run', call: (p, c) => p.collectGarbage(c, { dryRun: true }) },
      { name: 'collect', call: (p, c) => p.collectGarbage(c, {}) },
      { name: 'snapshots of the one taken back', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-163-disk-0') }) },
      { name: 'snapshots of the one finished', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-164-disk-0') }) },
      { name: 'list after collect', call: (p, c) => p.listImages(c, {}) },
      { name: 'free the rest', guest: sh('lvremove -q -f stowcap/vm-162-disk-0 stowcap/vm-163-disk-0 stowcap/snap_vm-163-disk-0_a stowcap/vm-164-disk-0 >/dev/null') },
    ],
  },
  {
    name: 'lifecycle',
    config: cfg,
    steps: [
      { name: 'status of a fresh pool', call: (p, c) => p.status(c) },
      { name: 'list empty', call: (p, c) => p.listImages(c, {}) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 100 * KiB }) },
      { name: 'alloc again', call: (p, c) => p.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 64 * KiB }) },
      { name: 'snapshot s1', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'snapshot s1 again', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'snapshot s2', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's2' }) },
      { name: 'snapshot info', call: (p, c) => p.volumeSnapshotInfo(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'clone from s1', call: (p, c) => p.cloneImage(c, { volume: vol('vm-100-disk-0'), snapshot: 's1', vmid: 101, name: 'vm-101-disk-0' }) },
      { name: 'clone onto a taken name', call: (p, c) => p.cloneImage(c, { volume: vol('vm-100-disk-0'), snapshot: 's1', vmid: 101, name: 'vm-101-disk-0' }) },
      { name: 'free volume whose snapshot has a clone', call: (p, c) => p.freeImage(c, { volume: vol('vm-100-disk-0') }) },
      { name: 'delete snapshot with a clone', call: (p, c) => p.volumeSnapshotDelete(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'rollback to s1', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-100-disk-0'), snapshot: 's1' }) },
      { name: 'rollback to missing', call: (p, c) => p.volumeSnapshotRollback(c, { volume: vol('vm-100-disk-0'), snapshot: 'nope' }) },
      { name: 'delete s2', call: (p, c) => p.volumeSnapshotDelete(c, { volume: vol('vm-100-disk-0'), snapshot: 's2' }) },
      { name: 'grow', call: (p, c) => p.volumeResize(c, { volume: vol('vm-100-disk-0'), size: 256 * KiB }) },
      { name: 'same size', call: (p, c) => p.volumeResize(c, { volume: vol('vm-100-disk-0'), size: 250 * KiB }) },
      { name: 'shrink', call: (p, c) => p.volumeResize(c, { volume: vol('vm-100-disk-0'), size: 64 * KiB }) },
      { name: 'rename with snapshot', call: (p, c) => p.renameVolume(c, { volume: vol('vm-100-disk-0'), targetVmid: 102, targetName: 'vm-102-disk-0' }) },
      { name: 'base of a volume with snapshots', call: (p, c) => p.createBase(c, { volume: vol('vm-102-disk-0') }) },
      { name: 'alloc for base', call: (p, c) => p.allocImage(c, { vmid: 103, format: 'raw', name: 'vm-103-disk-0', size: 64 * KiB }) },
      { name: 'create base', call: (p, c) => p.createBase(c, { volume: vol('vm-103-disk-0') }) },
      { name: 'clone base', call: (p, c) => p.cloneImage(c, { volume: vol('base-103-disk-0'), vmid: 104, name: 'vm-104-disk-0' }) },
      { name: 'free base with clone', call: (p, c) => p.freeImage(c, { volume: vol('base-103-disk-0') }) },
      { name: 'list all', call: (p, c) => p.listImages(c, {}) },
      { name: 'list vmid 102', call: (p, c) => p.listImages(c, { vmid: 102 }) },
      { name: 'size info of clone', call: (p, c) => p.volumeSizeInfo(c, { volume: vol('vm-104-disk-0') }) },
      { name: 'deactivate clone', call: (p, c) => p.deactivateVolume(c, { volume: vol('vm-104-disk-0') }) },
      { name: 'deactivate clone again', call: (p, c) => p.deactivateVolume(c, { volume: vol('vm-104-disk-0') }) },
      { name: 'activate clone', call: (p, c) => p.activateVolume(c, { volume: vol('vm-104-disk-0') }) },
      { name: 'activate snapshot', call: (p, c) => p.activateVolume(c, { volume: vol('vm-102-disk-0'), snapshot: 's1' }) },
      { name: 'status with volumes', call: (p, c) => p.status(c) },
      { name: 'free clone of base', call: (p, c) => p.freeImage(c, { volume: vol('vm-104-disk-0') }) },
      { name: 'free base', call: (p, c) => p.freeImage(c, { volume: vol('base-103-disk-0') }) },
      { name: 'free clone of snapshot', call: (p, c) => p.freeImage(c, { volume: vol('vm-101-disk-0') }) },
      { name: 'free volume with snapshot', call: (p, c) => p.freeImage(c, { volume: vol('vm-102-disk-0') }) },
      { name: 'free again', call: (p, c) => p.freeImage(c, { volume: vol('vm-102-disk-0') }) },
      { name: 'list empty at the end', call: (p, c) => p.listImages(c, {}) },
    ],
  },
  {
    name: 'transfer',
    config: cfg,
    steps: [
      { name: 'import', call: (p, c) => p.volumeImport(c, { volume: vol('vm-110-disk-0'), format: 'raw+size', input: importStream(payload()) }) },
      { name: 'import onto a taken name', call: (p, c) => p.volumeImport(c, { volume: vol('vm-110-disk-0'), format: 'raw+size', input: importStream(payload()) }) },
      { name: 'import renamed', call: (p, c) => p.volumeImport(c, { volume: vol('vm-110-disk-0'), format: 'raw+size', input: importStream(payload()), allowRename: true }) },
      { name: 'import truncated', call: (p, c) => p.volumeImport(c, { volume: vol('vm-111-disk-0'), format: 'raw+size', input: importStream(payload(), 128 * KiB) }) },
      { name: 'list after failed import', call: (p, c) => p.listImages(c, { vmid: 111 }) },
      { name: 'export', call: (p, c) => exportBytes(p, c, 'vm-110-disk-0') },
      { name: 'snapshot', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-110-disk-0'), snapshot: 'snap' }) },
      { name: 'export snapshot', call: (p, c) => exportBytes(p, c, 'vm-110-disk-0', 'snap') },
      { name: 'import seen while it runs', call: (p, c) => importSeenWhileRunning(p, c, 'vm-113-disk-0') },
      { name: 'list after the import seen while it runs', call: (p, c) => p.listImages(c, { vmid: 113 }) },
      { name: 'free the import seen while it runs', call: (p, c) => p.freeImage(c, { volume: vol('vm-113-disk-0') }) },
      { name: 'import as base', call: (p, c) => p.volumeImport(c, { volume: vol('base-112-disk-0'), format: 'raw+size', input: importStream(payload()) }) },
      { name: 'export base', call: (p, c) => exportBytes(p, c, 'base-112-disk-0') },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('vm-110-disk-0') }) },
      { name: 'free renamed', call: (p, c) => p.freeImage(c, { volume: vol('vm-110-disk-1') }) },
      { name: 'free base', call: (p, c) => p.freeImage(c, { volume: vol('base-112-disk-0') }) },
    ],
  },
  {
    name: 'garbage',
    config: cfg,
    steps: [
      {
        name: 'unfinished LVs of a dead owner (another boot) and of another node',
        guest: sh(`lvcreate -q -y -ay -ky -K -V 64k -n vm-150-disk-0 --addtag ${INCOMPLETE_TAG_PREFIX}${DEAD_OWNER} --thinpool stowcap/pool >/dev/null
lvcreate -q -y -ay -ky -K -V 64k -n vm-151-disk-0 --addtag ${INCOMPLETE_TAG_PREFIX}${FOREIGN_OWNER} --thinpool stowcap/pool >/dev/null`),
      },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'free an unfinished volume', call: (p, c) => p.freeImage(c, { volume: vol('vm-150-disk-0') }) },
      { name: 'free name next to an unfinished volume', call: (p, c) => p.findFreeDiskname(c, { vmid: 150 }) },
      { name: 'alloc onto an unfinished volume', call: (p, c) => p.allocImage(c, { vmid: 150, format: 'raw', name: 'vm-150-disk-0', size: 64 * KiB }) },
      { name: 'collect, dry run', call: (p, c) => p.collectGarbage(c, { dryRun: true }) },
      { name: 'collect', call: (p, c) => p.collectGarbage(c, {}) },
      { name: 'collect again', call: (p, c) => p.collectGarbage(c, {}) },
      { name: 'alloc where the dead owner left an LV', call: (p, c) => p.allocImage(c, { vmid: 150, format: 'raw', name: 'vm-150-disk-0', size: 64 * KiB }) },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('vm-150-disk-0') }) },
      { name: 'drop the other node\'s LV', guest: sh('lvremove -q -f stowcap/vm-151-disk-0 >/dev/null') },
    ],
  },
  {
    name: 'vg-missing',
    config: { ...cfg, vgname: 'nosuchvg' },
    steps: [
      { name: 'status', call: (p, c) => p.status(c) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 64 * KiB }) },
      { name: 'snapshot', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-100-disk-0'), snapshot: 's' }) },
    ],
  },
  {
    name: 'pool-missing',
    config: { ...cfg, thinpool: 'nosuchpool' },
    steps: [
      { name: 'status', call: (p, c) => p.status(c) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 100, format: 'raw', name: 'vm-100-disk-0', size: 64 * KiB }) },
      { name: 'clone from a missing base', call: (p, c) => p.cloneImage(c, { volume: vol('base-9-disk-0'), vmid: 100, name: 'vm-100-disk-0' }) },
      { name: 'snapshot of a missing volume', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-9-disk-0'), snapshot: 's' }) },
    ],
  },
  {
    name: 'busy',
    config: cfg,
    steps: [
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 120, format: 'raw', name: 'vm-120-disk-0', size: 64 * KiB }) },
      { name: 'hold the device open', guest: sh(holdOpen('vm-120-disk-0')) },
      { name: 'free while held', call: (p, c) => p.freeImage(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'deactivate while held', call: (p, c) => p.deactivateVolume(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'release, then hold through one lvchange', guest: sh(`${release()}; ${holdForOneRun('vm-120-disk-0', 'lvchange')}`) },
      { name: 'deactivate while held briefly', call: (p, c) => p.deactivateVolume(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'activate', call: (p, c) => p.activateVolume(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'hold through one lvremove', guest: sh(holdForOneRun('vm-120-disk-0', 'lvremove')) },
      { name: 'free while held briefly', call: (p, c) => p.freeImage(c, { volume: vol('vm-120-disk-0') }) },
      { name: 'list after free', call: (p, c) => p.listImages(c, { vmid: 120 }) },
    ],
  },
  {
    name: 'pool-full',
    config: { ...cfg, thinpool: 'tiny' },
    steps: [
      { name: 'make a 1 MiB pool that errors when full', guest: sh('lvcreate -q -y --type thin-pool -L 1M --chunksize 64k -n tiny stowcap >/dev/null && lvchange -q --errorwhenfull y stowcap/tiny >/dev/null') },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 130, format: 'raw', name: 'vm-130-disk-0', size: 4 * 1024 * KiB }) },
      { name: 'fill it', guest: sh('dd if=/dev/urandom of=/dev/stowcap/vm-130-disk-0 bs=64k count=64 oflag=direct status=none 2>/dev/null || true; sync') },
      { name: 'status of a full pool', call: (p, c) => p.status(c) },
      { name: 'alloc in a full pool', call: (p, c) => p.allocImage(c, { vmid: 131, format: 'raw', name: 'vm-131-disk-0', size: 64 * KiB }) },
      { name: 'snapshot in a full pool', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-130-disk-0'), snapshot: 's' }) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'free', call: (p, c) => p.freeImage(c, { volume: vol('vm-130-disk-0') }) },
      { name: 'drop the pool', guest: sh('lvremove -q -f stowcap/tiny >/dev/null') },
    ],
  },
  {
    name: 'metadata-full',
    config: { ...cfg, vgname: 'stowmeta', thinpool: 'mp' },
    steps: [
      {
        name: 'a pool with 2 MiB of metadata, filled one 64 KiB chunk at a time until the metadata is exhausted',
        guest: sh(`set -e
${loopVg('stowmeta', '/var/tmp/stowmeta.img', '8G')}
lvcreate -q -y --type thin-pool -L 7G --poolmetadatasize 2M --chunksize 64k -Zn -n mp stowmeta >/dev/null 2>&1
lvchange -q --errorwhenfull y stowmeta/mp >/dev/null
lvcreate -q -y -ay -ky -K -V 64G -n vm-140-disk-0 --thinpool stowmeta/mp >/dev/null 2>&1
perl -e 'open(my $f, "+<", "/dev/stowmeta/vm-140-disk-0") or die; my $b = "x" x 4096; for my $i (0..200000) { sysseek($f, $i * 65536, 0); last if syswrite($f, $b) != 4096 } close($f);' || true
sync || true`),
      },
      { name: 'status of the pool', call: (p, c) => p.status(c) },
      { name: 'alloc', call: (p, c) => p.allocImage(c, { vmid: 141, format: 'raw', name: 'vm-141-disk-0', size: 64 * KiB }) },
      { name: 'snapshot', call: (p, c) => p.volumeSnapshot(c, { volume: vol('vm-140-disk-0'), snapshot: 's' }) },
      { name: 'list', call: (p, c) => p.listImages(c, {}) },
      { name: 'drop the volume group', guest: sh(dropLoopVg('stowmeta', '/var/tmp/stowmeta.img')) },
    ],
  },
];

/** Shell lines that make a volume group with 64 KiB extents on a new sparse loop file. */
export function loopVg(vg: string, file: string, size: string): string {
  return `${dropLoopVg(vg, file)}
truncate -s ${size} ${file}
dev=$(losetup -f --show ${file})
pvcreate -q -y "$dev" >/dev/null
vgcreate -q -y -s 64k ${vg} "$dev" >/dev/null`;
}

/** Shell lines that remove a volume group made by {@link loopVg}, its loop device and file. */
export function dropLoopVg(vg: string, file: string): string {
  return `if vgs ${vg} >/dev/null 2>&1; then vgremove -ff -y ${vg} >/dev/null 2>&1 || true; fi
for d in $(losetup -n -O NAME -j ${file}); do pvremove -ff -y "$d" >/dev/null 2>&1 || true; losetup -d "$d"; done
rm -f ${file}`;
}

/** A shell line that keeps an LV's device open in the background until {@link release}. */
export function holdOpen(lv: string): string {
  return `nohup sh -c 'exec 3</dev/stowcap/${lv}; exec sleep 900' >/dev/null 2>&1 </dev/null & echo $! > /run/stowcap-hold.pid`;
}

/**
 * A shell line that keeps an LV's device open in the background through the first run of
 * `program` (which therefore fails as busy) and lets go as soon as that run has ended: a holder
 * as short-lived as a udev worker probing a new device.
 */
export function holdForOneRun(lv: string, program: string): string {
  const running = `pgrep -x ${program} >/dev/null 3<&-`;
  return `nohup sh -c 'exec 3</dev/stowcap/${lv}; until ${running}; do sleep 0.05 3<&-; done; while ${running}; do sleep 0.05 3<&-; done' >/dev/null 2>&1 </dev/null &`;
}

/** A shell line that ends the process started by {@link holdOpen}. */
export function release(): string {
  return 'kill $(cat /run/stowcap-hold.pid) 2>/dev/null; rm -f /run/stowcap-hold.pid; sleep 0.5; true';
}
