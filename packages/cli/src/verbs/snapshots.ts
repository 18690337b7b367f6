/**
 * `snapshot`, `snapshots`, `rollback` and `delsnapshot`.
 *
 * @module
 */
import { formatTime } from '../output.js';
import type { VerbSpec } from '../verb.js';

/** `stowage snapshot <volid> <name>`. */
export const snapshotVerb: VerbSpec = {
  name: 'snapshot',
  usage: '<volid> <name>',
  description: 'Snapshot names start with a letter, then letters, digits, - and _ (at most 40 characters).',
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [volid = '', name = ''] = ctx.args.positionals;
    await (await ctx.manager()).volumeSnapshot(volid, name);
    return { data: { volid, snapshot: name }, human: `snapshot ${name} of ${volid} taken` };
  },
};

/** `stowage snapshots <volid>`. */
export const snapshotsVerb: VerbSpec = {
  name: 'snapshots',
  usage: '<volid>',
  positionals: { min: 1, max: 1 },
  async run(ctx) {
    const volid = ctx.args.positionals[0] ?? '';
    const snaps = await (await ctx.manager()).volumeSnapshotInfo(volid);
    return {
      data: snaps,
      human: { headers: ['Name', 'Created', 'Id'], rows: snaps.map((s) => [s.name, formatTime(s.timestamp), s.id ?? '']) },
    };
  },
};

/** `stowage rollback <volid> <name> [--destroy-blockers]`. */
export const rollbackVerb: VerbSpec = {
  name: 'rollback',
  usage: '<volid> <name> [--destroy-blockers]',
  description:
    'On storages that can only roll back to the newest snapshot (ZFS), newer snapshots block it (SNAPSHOT_BLOCKERS, listed in the error);\n--destroy-blockers deletes them first.',
  positionals: { min: 2, max: 2 },
  options: { 'destroy-blockers': { type: 'boolean', description: 'delete newer snapshots that block the rollback' } },
  async run(ctx) {
    const [volid = '', name = ''] = ctx.args.positionals;
    const destroyBlockers = ctx.args.options['destroy-blockers'] === true;
    await (await ctx.manager()).volumeSnapshotRollback(volid, name, { destroyBlockers });
    return { data: { volid, snapshot: name }, human: `${volid} rolled back to ${name}` };
  },
};

/** `stowage delsnapshot <volid> <name>`. */
export const delsnapshotVerb: VerbSpec = {
  name: 'delsnapshot',
  usage: '<volid> <name>',
  positionals: { min: 2, max: 2 },
  async run(ctx) {
    const [volid = '', name = ''] = ctx.args.positionals;
    await (await ctx.manager()).volumeSnapshotDelete(volid, name);
    return { data: { volid, snapshot: name, deleted: true }, human: `snapshot ${name} of ${volid} deleted` };
  },
};
