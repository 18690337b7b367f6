/**
 * Flattening on btrfs: a clone off its template (`flattenImage`) and a volume back to one of its
 * snapshots (`volumeSnapshotFlatten`). Both make the new content as a writable snapshot (no data
 * is copied: btrfs shares the blocks) and swap it in for the volume's subvolume:
 *
 * 1. `.<name>.flat-<owner>`: a writable snapshot of the clone itself (flattenImage: a new
 *    subvolume whose parent is the clone, not the template) or of the snapshot;
 * 2. for volumeSnapshotFlatten, each snapshot is renamed `.<name>@<snap>.drop-<owner>`;
 * 3. the volume's subvolume is renamed `.<name>.old-<owner>` (`.olds-` when its snapshots go):
 *    the commit point;
 * 4. the new content is renamed into the volume's place;
 * 5. what was renamed away is deleted with one `btrfs subvolume delete` (the old volume last).
 *
 * A failure up to step 4 puts every name back and deletes the new content: the volume is as it
 * was. A failure in step 5 is reported in the log and leaves hidden subvolumes for
 * `collectGarbage`; the volume is flattened. A process killed part-way leaves hidden entries of
 * a dead owner, and `collectGarbage` (which the manager runs before the first operation on the
 * storage) finishes the job when the commit point was passed (the `old` entry exists), and
 * otherwise deletes the new content and gives the snapshots back their names: the volume ends as
 * before or as after. Until then, a volume killed between steps 2 and 4 lacks its snapshots, or
 * (between 3 and 4) is not listed.
 *
 * A btrfs clone shares blocks with its template but does not need it: flattening it only makes
 * btrfs forget where it came from (its parent UUID), so the template can be freed. Its snapshots
 * are subvolumes of their own and stay (`cloneKeepsSnapshots`).
 *
 * @module
 */
import { join } from 'node:path';
import { currentOwner, formatOwner, fsError, type FlattenImageRequest, type SnapshotFlattenRequest } from '@stowage/core/plugin';
import { StorageError, type GarbageItem, type ParsedVolume } from '@stowage/core';
import { subvolumeDeleteArgs, subvolumeSnapshotArgs } from './commands.js';
import { checkedDisk } from './disk-file.js';
import { runBtrfs, type BtrfsContext } from './exec.js';
import { subvolName, subvolPath, swapName, vmDir } from './names.js';
import { exists, snapshotEntries } from './subvolumes.js';

/** The entries of one swap. */
interface Swap {
  readonly current: string;
  readonly fresh: string;
  readonly old: string;
  /** Snapshots renamed away: `[hidden path, visible path]`. */
  readonly dropped: Array<readonly [string, string]>;
}

function refuseState(volume: ParsedVolume, why: string): never {
  throw new StorageError('INVALID_STATE', `cannot flatten '${volume.volname}': ${why}`, { details: { volname: volume.volname } });
}

/** Undoes steps 2–4 (whatever of them was done, in reverse) and deletes the new content; never throws. */
async function undo(ctx: BtrfsContext, swap: Swap): Promise<void> {
  const quiet = (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => ctx.log.warn(`flatten: could not undo a step: ${String(e)}`));
  if (await exists(swap.old)) {
    if (!(await exists(swap.fresh))) await quiet(ctx.fs.rename(swap.current, swap.fresh));
    await quiet(ctx.fs.rename(swap.old, swap.current));
  }
  for (const [hidden, visible] of [...swap.dropped].reverse()) await quiet(ctx.fs.rename(hidden, visible));
  await quiet(runBtrfs(ctx, subvolumeDeleteArgs([swap.fresh])));
}

/** Steps 1–5 (see the module's description), with `source` as the new content. */
async function swapIn(ctx: BtrfsContext, volume: ParsedVolume, source: string, dropSnapshots: boolean): Promise<void> {
  const name = subvolName(volume);
  const dir = vmDir(ctx.config.path, volume.vmid ?? 0);
  const owner = formatOwner(currentOwner(ctx.node));
  const snapshots = dropSnapshots ? await snapshotEntries(ctx.config.path, volume) : [];
  const swap: Swap = {
    current: subvolPath(ctx.config.path, volume),
    fresh: join(dir, swapName(name, 'flat', owner)),
    old: join(dir, swapName(name, dropSnapshots ? 'olds' : 'old', owner)),
    dropped: [],
  };
  await runBtrfs(ctx, subvolumeSnapshotArgs(source, swap.fresh, false));
  try {
    for (const s of snapshots) {
      const hidden = join(dir, swapName(name, 'drop', owner, s.snapshot));
      await ctx.fs.rename(s.path, hidden);
      swap.dropped.push([hidden, s.path]);
    }
    await ctx.fs.rename(swap.current, swap.old);
    await ctx.fs.rename(swap.fresh, swap.current);
  } catch (e) {
    await undo(ctx, swap);
    throw fsError(e, `cannot flatten '${volume.volname}'`, { volname: volume.volname });
  }
  try {
    await runBtrfs(ctx, subvolumeDeleteArgs([...swap.dropped.map(([hidden]) => hidden), swap.old]));
  } catch (e) {
    ctx.log.warn(`'${volume.volname}' is flattened, but what it replaced could not be deleted yet: collectGarbage deletes it once this process ended`, {
      volname: volume.volname,
      error: String(e),
    });
  }
}

/**
 * Detaches a clone from its template: a writable snapshot of the clone swapped in for it (see
 * the module's description). No data is copied; the storage lock is held throughout (the whole
 * operation takes a few btrfs metadata updates). Flattening a volume that came from no other
 * volume changes nothing but its subvolume's identity.
 *
 * @param ctx - the operation's context
 * @param request - the clone
 * @returns its volname (unchanged)
 * @throws {@link StorageError} `INVALID_STATE` (a template), `NOT_FOUND`, `CORRUPT`, `COMMAND_FAILED`
 */
export async function flattenImage(ctx: BtrfsContext, request: FlattenImageRequest): Promise<string> {
  const { volume } = request;
  if (volume.isBase) refuseState(volume, 'a template is read-only');
  await checkedDisk(ctx.config.path, volume);
  await swapIn(ctx, volume, subvolPath(ctx.config.path, volume), false);
  return volume.volname;
}

/**
 * Takes a volume back to one of its snapshots and deletes all its snapshots: a writable snapshot
 * of the snapshot swapped in for the volume, the snapshots renamed away and deleted (see the
 * module's description). No data is copied.
 *
 * @param ctx - the operation's context
 * @param request - the volume and the snapshot
 * @throws {@link StorageError} `NOT_FOUND` (volume or snapshot), `INVALID_STATE` (a template), `CORRUPT`, `COMMAND_FAILED`
 */
export async function volumeSnapshotFlatten(ctx: BtrfsContext, request: SnapshotFlattenRequest): Promise<void> {
  const { volume, snapshot } = request;
  if (volume.isBase) refuseState(volume, 'a template is read-only');
  await checkedDisk(ctx.config.path, volume);
  await checkedDisk(ctx.config.path, volume, snapshot);
  await swapIn(ctx, volume, subvolPath(ctx.config.path, volume, snapshot), true);
}

/** The hidden entries one flatten of a dead owner left, by kind. */
interface Leftover {
  name: string;
  flat?: string;
  old?: string;
  drops: Array<{ path: string; snapshot: string }>;
  entries: GarbageItem[];
}

/**
 * Finishes or undoes the flattens of dead owners in one guest's directory (see the module's
 * description): past the commit point (an `old`/`olds` entry exists) the new content takes the
 * volume's name if it has not yet, and what was renamed away is deleted; before it, the new
 * content is deleted and the snapshots get their names back.
 *
 * @param ctx - the operation's context
 * @param vmid - the guest
 * @param entries - the directory's entries with a parsed swap name and a dead owner
 * @param dryRun - report only
 * @returns the entries dealt with (named `<vmid>/<entry>`) and their owners
 */
export async function settleSwaps(
  ctx: BtrfsContext,
  vmid: number,
  entries: ReadonlyArray<{ entry: string; name: string; snapshot: string | undefined; kind: 'flat' | 'old' | 'olds' | 'drop'; owner: string }>,
  dryRun: boolean,
): Promise<GarbageItem[]> {
  const dir = vmDir(ctx.config.path, vmid);
  const jobs = new Map<string, Leftover>();
  for (const e of entries) {
    const key = `${e.name}\u0000${e.owner}`;
    const job = jobs.get(key) ?? { name: e.name, drops: [], entries: [] };
    const path = join(dir, e.entry);
    if (e.kind === 'flat') job.flat = path;
    else if (e.kind === 'drop') job.drops.push({ path, snapshot: e.snapshot ?? '' });
    else job.old = path;
    job.entries.push({ name: `${vmid}/${e.entry}`, owner: e.owner, reason: 'owner-dead' });
    jobs.set(key, job);
  }
  const settled: GarbageItem[] = [];
  for (const job of jobs.values()) {
    if (!dryRun) {
      const current = join(dir, job.name);
      if (job.old !== undefined) {
        if (job.flat !== undefined && !(await exists(current))) await ctx.fs.rename(job.flat, current);
        else if (job.flat !== undefined) await runBtrfs(ctx, subvolumeDeleteArgs([job.flat]));
        await runBtrfs(ctx, subvolumeDeleteArgs([...job.drops.map((d) => d.path), job.old]));
      } else {
        for (const d of job.drops) {
          const visible = join(dir, `${job.name}@${d.snapshot}`);
          if (await exists(visible)) await runBtrfs(ctx, subvolumeDeleteArgs([d.path]));
          else await ctx.fs.rename(d.path, visible);
        }
        if (job.flat !== undefined) await runBtrfs(ctx, subvolumeDeleteArgs([job.flat]));
      }
    }
    settled.push(...job.entries);
  }
  return settled;
}
