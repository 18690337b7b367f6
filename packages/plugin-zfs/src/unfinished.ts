/**
 * Volumes that are not whole yet. An import makes its dataset under the storage lock with the
 * user property `stowage:incomplete=<owner>` set by the creating command itself (`zfs create
 * -o`, `zfs recv -o`), so the dataset never exists unmarked; the name is reserved by the
 * dataset (a second `zfs create` of it fails, the free-name search counts it). Listings hide a
 * marked dataset and `freeImage` does not find it. The property is removed (`zfs inherit`)
 * only when the data is whole.
 *
 * A property rather than a hidden name: it is set atomically with the dataset, it can hold the
 * owner token as it is, and the name is the final one from the start, so no rename (and no new
 * zvol device link to wait for) follows the data.
 *
 * ZFS has no conditional destroy: what a failed call made is destroyed only after a fresh
 * lookup shows the `guid` read right after the create, never by name alone.
 *
 * @module
 */
import { currentOwner, formatOwner } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import { INCOMPLETE_PROPERTY, zfsInheritArgs } from './commands.js';
import { destroyDataset, findDataset, invalidate, runZfs, type ZfsContext, type ZfsTuning } from './exec.js';
import { datasetOf } from './names.js';

/** A dataset this call made, by name and identity. */
export interface MadeDataset {
  /** Its name (without `<pool>/`). */
  readonly name: string;
  /** Its `guid`, read right after the create. */
  readonly guid: string;
}

/**
 * The property that marks a new dataset as this process's unfinished work.
 *
 * @param ctx - the operation context
 * @returns `{ 'stowage:incomplete': <owner token> }`
 */
export function incompleteMark(ctx: ZfsContext): Record<string, string> {
  return { [INCOMPLETE_PROPERTY]: formatOwner(currentOwner(ctx.node)) };
}

/**
 * Reads the identity of a dataset this call has just made, checking that it carries `mark`.
 *
 * @param ctx - the operation context
 * @param name - the dataset's name
 * @param mark - what {@link incompleteMark} gave the creating command
 * @returns the dataset
 * @throws {@link @stowage/core!index.StorageError | StorageError} `NOT_FOUND` when it is gone or is not this call's
 */
export async function identify(ctx: ZfsContext, name: string, mark: Record<string, string>): Promise<MadeDataset> {
  invalidate(ctx);
  const record = await findDataset(ctx, name);
  if (record === undefined || record.incomplete !== mark[INCOMPLETE_PROPERTY]) {
    throw new StorageError('NOT_FOUND', `dataset '${datasetOf(ctx.config.pool, name)}' vanished right after it was created`, { details: { name } });
  }
  return { name, guid: record.guid };
}

/**
 * Marks a dataset whole: removes its `stowage:incomplete`.
 *
 * @param ctx - the operation context
 * @param made - the dataset
 */
export async function markWhole(ctx: ZfsContext, made: MadeDataset): Promise<void> {
  try {
    await runZfs(ctx, zfsInheritArgs(INCOMPLETE_PROPERTY, datasetOf(ctx.config.pool, made.name)), { details: { name: made.name } });
  } finally {
    invalidate(ctx);
  }
}

/**
 * Destroys a dataset (with its snapshots) if a fresh lookup still shows the guid it was made or
 * listed with; runs after an abort too.
 *
 * @param ctx - the operation context
 * @param made - name and guid
 * @param tuning - retry bounds of a busy destroy
 * @returns whether it was destroyed (`false`: gone, or another dataset by now, left alone)
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY`, `COMMAND_FAILED`
 */
export async function destroyIdentified(ctx: ZfsContext, made: MadeDataset, tuning: ZfsTuning): Promise<boolean> {
  invalidate(ctx);
  const record = await findDataset({ ...ctx, run: (argv, options) => ctx.runner.run(argv, options) }, made.name);
  if (record?.guid !== made.guid) {
    if (record) ctx.log.warn(`'${record.name}' is another dataset now (guid ${record.guid}, not ${made.guid}); left alone`);
    return false;
  }
  await destroyDataset(ctx, made.name, tuning, { cleanup: true });
  return true;
}
