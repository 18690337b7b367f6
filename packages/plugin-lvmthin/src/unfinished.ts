/**
 * Volumes that are not whole yet. An import creates its thin LV under the storage lock with a
 * tag `stowage-incomplete=<owner>` in the same `lvcreate` (so there is no moment when the LV
 * exists unmarked), reads the LV's UUID, and only then lets the lock go: the name is reserved
 * by the LV itself, which `lvcreate` of the same name refuses and the free-name search counts.
 * Listings hide tagged LVs and `freeImage` does not find them. The tag is taken off
 * (`lvchange --deltag`) only when the data is whole.
 *
 * A tag rather than a hidden name: LV names cannot hold the owner token's `:`, a tag can
 * (LVM allows `[A-Za-z0-9_+.-/=!:&#]`); the tag is set atomically with the LV and survives the
 * rename a base import makes; and the name stays the final one, so no second rename can fail
 * after the data is written.
 *
 * Clean-up removes the LV by its UUID, chosen by LVM's own selection in the removing command
 * (`lvremove -S lv_uuid=…`), never by name: an LV that took the name meanwhile is left alone.
 *
 * @module
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { currentOwner, formatOwner } from '@stowage/core/plugin';
import { StorageError } from '@stowage/core';
import { lvchangeDeltagArgs, lvcreateThinArgs, lvremoveByUuidArgs, lvsArgs } from './commands.js';
import { invalidateListing, runLvm, settleUdev, type LvmThinContext } from './exec.js';
import { lvmFailureOf } from './errors.js';
import { INCOMPLETE_TAG_PREFIX } from './names.js';
import { parseLvsReport } from './parse.js';

/** How many times {@link removeByUuid} tries while the device is busy. */
export const REMOVE_ATTEMPTS = 6;

/** An LV this operation made, by name and identity. */
export interface MadeLv {
  /** Its name now. */
  readonly name: string;
  /** Its UUID, read right after the create. */
  readonly uuid: string;
  /** The tag that marks it unfinished. */
  readonly tag: string;
}

/**
 * Creates a thin LV marked unfinished with this process's owner token, reads its UUID, and
 * tells the manager the name is reserved (the storage lock goes back).
 *
 * @param ctx - the operation context
 * @param request - name and size in bytes
 * @returns the LV, still marked
 * @throws {@link @stowage/core!index.StorageError | StorageError} `ALREADY_EXISTS`, `NOT_FOUND`, `NO_SPACE`
 */
export async function createUnfinished(ctx: LvmThinContext, request: { readonly name: string; readonly size: number }): Promise<MadeLv> {
  const { vgname: vg, thinpool: pool } = ctx.config;
  const tag = `${INCOMPLETE_TAG_PREFIX}${formatOwner(currentOwner(ctx.node))}`;
  try {
    await runLvm(ctx, lvcreateThinArgs({ vg, pool, name: request.name, size: request.size, tags: [tag] }), { details: { lv: request.name } });
  } finally {
    invalidateListing(ctx);
  }
  const [lv] = parseLvsReport((await runLvm(ctx, lvsArgs(vg, request.name), { cleanup: true })).stdout);
  if (lv === undefined || lv.uuid === '' || !lv.tags.includes(tag)) {
    throw new StorageError('NOT_FOUND', `LV '${vg}/${request.name}' vanished right after it was created`, { details: { lv: request.name } });
  }
  ctx.nameReserved();
  return { name: request.name, uuid: lv.uuid, tag };
}

/**
 * Marks an LV whole: takes its unfinished tag off.
 *
 * @param ctx - the operation context
 * @param made - the LV (by its current name)
 */
export async function markWhole(ctx: LvmThinContext, made: MadeLv): Promise<void> {
  try {
    await runLvm(ctx, lvchangeDeltagArgs(ctx.config.vgname, made.name, made.tag), { details: { lv: made.name } });
  } finally {
    invalidateListing(ctx);
  }
}

/**
 * Removes the LV with this UUID, whatever its name is now; nothing when it is gone. A busy
 * device is waited for (udev, then a growing pause; {@link REMOVE_ATTEMPTS} tries, about 5 s
 * in all). Runs after an abort too.
 *
 * @param ctx - the operation context
 * @param uuid - the LV's UUID
 * @throws {@link @stowage/core!index.StorageError | StorageError} `BUSY` after the last try, `COMMAND_FAILED`
 */
export async function removeByUuid(ctx: LvmThinContext, uuid: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await runLvm(ctx, lvremoveByUuidArgs(ctx.config.vgname, uuid), { cleanup: true, details: { uuid, attempts: attempt } });
      break;
    } catch (e) {
      if (lvmFailureOf(e) !== 'busy' || attempt >= REMOVE_ATTEMPTS) throw e;
      // udev probing the device goes quickly; the writer of a killed import (a `dd` flushing
      // what it had) takes a while longer: wait a little more each time
      await settleUdev(ctx, true);
      await sleep(250 * attempt);
    }
  }
  invalidateListing(ctx);
}
