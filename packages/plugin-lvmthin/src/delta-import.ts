/**
 * Import of an `lvmthin-delta` stream. Nothing half-made is left, whatever fails:
 *
 * - **Full** (no base): a new thin LV of the header's size, marked unfinished (as every import's,
 *   see `unfinished.ts`), gets the ranges written; then `snapshot` is taken of it and the mark
 *   comes off. A failure removes both, by UUID.
 * - **Increment** (onto `baseSnapshot`, which this side has): the ranges are written into a new
 *   writable thin snapshot of the base, `stowage_delta_<volume>`, marked unfinished; once the
 *   stream's end and checksum are right, `snapshot` is taken of it, the mark comes off, the old
 *   state of the volume is removed and the new one renamed in its place (as a rollback swaps).
 *   Until the old state is removed, a failure removes what this import made and the volume and
 *   its snapshots are as they were; the rename after it is tried twice, and should both fail the
 *   error names the LV that holds the new state.
 *
 * @module
 */
import { Readable } from 'node:stream';
import { currentOwner, formatOwner, ownerState, undoing, type VolumeImportRequest } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import { lvcreateSnapshotArgs, lvextendArgs, lvrenameArgs, lvsArgs } from './commands.js';
import { applyRangeLine, applyRangesArgs } from './delta-commands.js';
import { readDelta, type DeltaEvent, type DeltaHeader, type DeltaSummary } from './delta-frame.js';
import { invalidateListing, loadPool, LVS_CACHE_KEY, removeLvs, runLvm, type LvmThinContext } from './exec.js';
import { INCOMPLETE_TAG_PREFIX, incompleteOwner, lvDevicePath, MAX_LV_NAME, parseLvmThinVolname, snapshotLvName } from './names.js';
import { assertAllocRequest } from './ops-volume.js';
import { workingName } from './ops-transfer.js';
import { parseLvsReport } from './parse.js';
import { createUnfinished, markWhole, removeByUuid, type MadeLv } from './unfinished.js';

/** The prefix of the LV an increment is written into before it becomes the volume. */
export const DELTA_PREFIX = 'stowage_delta_';

type Frames = AsyncGenerator<DeltaEvent, DeltaSummary, undefined>;

/**
 * Reads an `lvmthin-delta` stream into a new volume (no `baseSnapshot`) or onto the volume's
 * `baseSnapshot` (an increment), and takes `snapshot` of the result.
 *
 * @param ctx - the operation context
 * @param request - target, input, `snapshot`, `baseSnapshot`
 * @returns the volname written
 * @throws {@link @stowage/core!index.StorageError | StorageError} `INVALID_ARGUMENT` (a truncated,
 *   corrupt or over-long stream; a full stream given a base or the other way round; a size
 *   smaller than the base's), `NOT_SUPPORTED` (a base volume), `NOT_FOUND` (the volume or its
 *   base snapshot, for an increment), `ALREADY_EXISTS` (the volume, for a full stream; the
 *   snapshot), `BUSY` (another increment into the volume is under way), `NO_SPACE`
 */
export async function importDelta(ctx: LvmThinContext, request: VolumeImportRequest): Promise<string> {
  const broken = new AbortController();
  request.input.once('error', (e) => broken.abort(e));
  const target = parseLvmThinVolname(request.volume.volname);
  if (target.isBase) throw new StorageError('NOT_SUPPORTED', 'a base volume has no snapshots: import it as raw+size', { details: { volname: target.volname } });
  const frames = readDelta(request.input);
  const first = await frames.next();
  const header = (first.value as Extract<DeltaEvent, { kind: 'header' }>).header;
  if (header.incremental !== (request.baseSnapshot !== undefined)) {
    const what = header.incremental ? 'an increment, but no base snapshot was named' : `a full copy, but base snapshot '${String(request.baseSnapshot)}' was named`;
    throw new StorageError('INVALID_ARGUMENT', `the lvmthin-delta stream is ${what}`, { details: { incremental: header.incremental, baseSnapshot: request.baseSnapshot } });
  }
  const input = { frames, header, broken: broken.signal };
  return request.baseSnapshot === undefined
    ? receiveFull(ctx, request, input)
    : receiveIncrement(ctx, request.volume.volname, request.baseSnapshot, request.snapshot, input);
}

interface DeltaInput {
  readonly frames: Frames;
  readonly header: DeltaHeader;
  readonly broken: AbortSignal;
}

async function receiveFull(ctx: LvmThinContext, request: VolumeImportRequest, input: DeltaInput): Promise<string> {
  const work = await workingName(ctx, request.volume, request.allowRename === true);
  assertAllocRequest({ vmid: work.vmid!, format: 'raw', name: work.volname, size: input.header.size });
  const made = await createUnfinished(ctx, { name: work.volname, size: input.header.size });
  return undoing(ctx, LVS_CACHE_KEY, async (undo) => {
    undo(() => removeByUuid(ctx, made.uuid));
    await applyDelta(ctx, made.name, input);
    if (request.snapshot !== undefined) await takeSnapshot(ctx, made.name, snapshotLvName(made.name, request.snapshot), undo);
    await markWhole(ctx, made);
    return made.name;
  });
}

async function receiveIncrement(ctx: LvmThinContext, volname: string, base: string, snapshot: string | undefined, input: DeltaInput): Promise<string> {
  const vg = ctx.config.vgname;
  const view = await loadPool(ctx);
  const baseLv = view.volumes.has(volname) ? view.thinLvs.get(snapshotLvName(volname, base)) : undefined;
  if (baseLv === undefined) throw new StorageError('NOT_FOUND', `snapshot '${base}' of '${ctx.storeId}:${volname}' does not exist`, { details: { volname, snapshot: base } });
  const snapName = snapshot === undefined ? undefined : snapshotLvName(volname, snapshot);
  if (snapName !== undefined && view.thinLvs.has(snapName)) {
    throw new StorageError('ALREADY_EXISTS', `snapshot '${snapshot}' of '${ctx.storeId}:${volname}' already exists`, { details: { volname, snapshot } });
  }
  if (input.header.size < baseLv.size) {
    throw new StorageError('INVALID_ARGUMENT', `the increment's volume size ${input.header.size} is smaller than its base's ${baseLv.size}`, { details: { size: input.header.size, baseSize: baseLv.size } });
  }
  const temp = `${DELTA_PREFIX}${volname}`;
  if (temp.length > MAX_LV_NAME) throw new StorageError('INVALID_ARGUMENT', `volume name '${volname}' is too long for an increment`, { details: { volname } });
  const left = view.thinLvs.get(temp);
  if (left !== undefined) {
    const owner = incompleteOwner(left);
    if (owner !== undefined && ownerState(owner, ctx.node) !== 'dead') {
      throw new StorageError('BUSY', `an increment into '${ctx.storeId}:${volname}' is under way (${owner})`, { details: { volname, owner } });
    }
    // left by a killed import: it holds nothing the volume needs
    await removeByUuid(ctx, left.uuid);
  }
  const tag = `${INCOMPLETE_TAG_PREFIX}${formatOwner(currentOwner(ctx.node))}`;
  try {
    await runLvm(ctx, lvcreateSnapshotArgs({ vg, origin: baseLv.name, name: temp, writable: true, tags: [tag] }), { details: { lv: temp, origin: baseLv.name } });
  } finally {
    invalidateListing(ctx);
  }
  const made: MadeLv = { name: temp, uuid: await uuidOf(ctx, temp), tag };
  ctx.nameReserved();
  await undoing(ctx, LVS_CACHE_KEY, async (undo) => {
    undo(() => removeByUuid(ctx, made.uuid));
    if (input.header.size > baseLv.size) await runLvm(ctx, lvextendArgs(vg, temp, input.header.size), { details: { lv: temp } });
    await applyDelta(ctx, temp, input);
    if (snapName !== undefined) await takeSnapshot(ctx, temp, snapName, undo);
    await markWhole(ctx, made);
    await removeLvs(ctx, [volname]);
  });
  // the old state is gone: the new one must get the volume's name
  const rename = () => runLvm(ctx, lvrenameArgs(vg, temp, volname), { retryBusy: true, cleanup: true, details: { lv: temp, target: volname } });
  try {
    await rename().catch((e: unknown) => {
      ctx.log.warn('renaming the increment into place failed, trying once more', { error: e instanceof Error ? e.message : String(e) });
      return rename();
    });
  } catch (e) {
    throw new StorageError('COMMAND_FAILED', `the increment into '${ctx.storeId}:${volname}' left the volume's new state in LV '${temp}'`, {
      cause: e,
      details: { volname, leftover: temp },
    });
  } finally {
    invalidateListing(ctx);
  }
  return volname;
}

async function uuidOf(ctx: LvmThinContext, name: string): Promise<string> {
  const [lv] = parseLvsReport((await runLvm(ctx, lvsArgs(ctx.config.vgname, name), { cleanup: true })).stdout);
  if (lv === undefined || lv.uuid === '') throw new StorageError('NOT_FOUND', `LV '${ctx.config.vgname}/${name}' vanished right after it was created`, { details: { lv: name } });
  return lv.uuid;
}

/** Takes a read-only thin snapshot of the LV just written; a later failure removes it by UUID. */
async function takeSnapshot(ctx: LvmThinContext, origin: string, name: string, undo: (step: () => Promise<unknown>) => void): Promise<void> {
  try {
    await runLvm(ctx, lvcreateSnapshotArgs({ vg: ctx.config.vgname, origin, name, writable: false }), { details: { lv: name, origin } });
  } finally {
    invalidateListing(ctx);
  }
  const uuid = await uuidOf(ctx, name);
  undo(() => removeByUuid(ctx, uuid));
}

/**
 * Writes the stream's records into the LV through one `sh` loop (see `applyRangesArgs`). The
 * stream is checked as it goes; a bad one stops the loop, and its error is thrown (the caller
 * drops the LV). Returns once the end record and checksum are right and the device is flushed.
 */
async function applyDelta(ctx: LvmThinContext, lv: string, input: DeltaInput): Promise<void> {
  const stop = new AbortController();
  let problem: unknown;
  async function* feed(): AsyncGenerator<Buffer> {
    try {
      for (;;) {
        const next = await input.frames.next();
        if (next.done === true) return;
        const event = next.value;
        if (event.kind === 'bytes') yield event.bytes;
        else if (event.kind === 'data' || event.kind === 'zero') yield Buffer.from(applyRangeLine(event));
      }
    } catch (e) {
      problem = e;
      stop.abort(e);
    }
  }
  const signal = AbortSignal.any([stop.signal, input.broken, ...(ctx.signal ? [ctx.signal] : [])]);
  try {
    await ctx.run(applyRangesArgs(lvDevicePath(ctx.config.vgname, lv)), { stdin: Readable.from(feed()), signal });
  } catch (e) {
    throw problem ?? e;
  }
  if (problem !== undefined) throw problem;
}
