/**
 * Snapshots: create, list, roll back (any or newest only, with blockers), delete.
 *
 * @module
 */
import { expect, it } from 'vitest';
import { hasFeature } from '../../capabilities.js';
import { expectCode } from '../assert.js';
import { BAD_SNAPSHOT_NAMES } from '../bad-values.js';
import { featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

async function names(kit: StorageKit, volid: string): Promise<string[]> {
  return (await kit.manager.volumeSnapshotInfo(volid)).map((s) => s.name);
}

/**
 * Checks `volumeSnapshot`, `volumeSnapshotInfo` (oldest first), `volumeSnapshotRollback` to the
 * newest snapshot and, as declared, to an older one (keeping the newer) or refused with
 * `SNAPSHOT_BLOCKERS` naming the newer ones (which `destroyBlockers` removes),
 * `volumeRollbackIsPossible`, `volumeSnapshotDelete`, unknown snapshots (`NOT_FOUND`) and bad
 * snapshot names (`INVALID_ARGUMENT`). A tested format without the snapshot feature must refuse
 * snapshots with `NOT_SUPPORTED`.
 *
 * @param kit - the kit of the suite
 */
export function snapshotSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = formatWith(caps, 'snapshot', 'current');

  describeGated('snapshots', featureGate(caps, 'snapshot', 'current'), () => {
    it('takes snapshots and lists them oldest first', async () => {
      const volid = await kit.alloc({ format });
      expect(await names(kit, volid), 'snapshots of a new volume').toEqual([]);
      for (const s of ['kit1', 'kit2', 'kit3']) await kit.manager.volumeSnapshot(volid, s);
      const info = await kit.manager.volumeSnapshotInfo(volid);
      expect(info.map((s) => s.name), 'volumeSnapshotInfo').toEqual(['kit1', 'kit2', 'kit3']);
      const stamps = info.map((s) => s.timestamp).filter((t): t is number => t !== undefined);
      expect([...stamps].sort((a, b) => a - b), 'timestamps do not go backwards').toEqual(stamps);
    });

    it('rolls back to the newest snapshot', async () => {
      const volid = await kit.alloc({ format });
      await kit.manager.volumeSnapshot(volid, 'kit1');
      await kit.manager.volumeSnapshot(volid, 'kit2');
      expect(await kit.manager.volumeRollbackIsPossible(volid, 'kit2'), 'blockers of the newest snapshot').toEqual([]);
      await kit.manager.volumeSnapshotRollback(volid, 'kit2');
      expect(await names(kit, volid), 'snapshots after the rollback').toEqual(['kit1', 'kit2']);
    });

    itGated('rolls back to an older snapshot and keeps the newer ones', gate(caps.rollbackAnySnapshot, 'capabilities.rollbackAnySnapshot is false'), async () => {
      const volid = await kit.alloc({ format });
      for (const s of ['kit1', 'kit2', 'kit3']) await kit.manager.volumeSnapshot(volid, s);
      expect(await kit.manager.volumeRollbackIsPossible(volid, 'kit1'), 'blockers of an older snapshot').toEqual([]);
      await kit.manager.volumeSnapshotRollback(volid, 'kit1');
      expect(await names(kit, volid), 'snapshots after rolling back to the oldest').toEqual(['kit1', 'kit2', 'kit3']);
    });

    itGated('names the newer snapshots as blockers, and destroys them only when asked', gate(!kit.declared.rollbackAnySnapshot, 'the plugin rolls back to any snapshot'), async () => {
      const volid = await kit.alloc({ format });
      for (const s of ['kit1', 'kit2', 'kit3']) await kit.manager.volumeSnapshot(volid, s);
      expect(await kit.manager.volumeRollbackIsPossible(volid, 'kit1'), 'volumeRollbackIsPossible(kit1)').toEqual(['kit2', 'kit3']);
      const e = await expectCode(kit.manager.volumeSnapshotRollback(volid, 'kit1'), 'SNAPSHOT_BLOCKERS', 'rollback to an older snapshot');
      expect(e.details['blockers'], 'details.blockers').toEqual(['kit2', 'kit3']);
      expect(await names(kit, volid), 'snapshots after the refused rollback').toEqual(['kit1', 'kit2', 'kit3']);
      await kit.manager.volumeSnapshotRollback(volid, 'kit2', { destroyBlockers: true });
      expect(await names(kit, volid), 'snapshots after rolling back to kit2 with destroyBlockers').toEqual(['kit1', 'kit2']);
    });

    it('deletes a snapshot, and only that one', async () => {
      const volid = await kit.alloc({ format });
      for (const s of ['kit1', 'kit2', 'kit3']) await kit.manager.volumeSnapshot(volid, s);
      await kit.manager.volumeSnapshotDelete(volid, 'kit2');
      expect(await names(kit, volid), 'snapshots after deleting kit2').toEqual(['kit1', 'kit3']);
    });

    it('refuses unknown snapshots with NOT_FOUND and changes nothing', async () => {
      const volid = await kit.alloc({ format });
      await kit.manager.volumeSnapshot(volid, 'kit1');
      await expectCode(kit.manager.volumeSnapshotRollback(volid, 'nosuch'), 'NOT_FOUND', 'rollback to an unknown snapshot');
      await expectCode(kit.manager.volumeSnapshotDelete(volid, 'nosuch'), 'NOT_FOUND', 'delete of an unknown snapshot');
      await expectCode(kit.manager.volumeRollbackIsPossible(volid, 'nosuch'), 'NOT_FOUND', 'volumeRollbackIsPossible of an unknown snapshot');
      expect(await names(kit, volid), 'snapshots after the refused calls').toEqual(['kit1']);
    });

    it('refuses bad snapshot names with INVALID_ARGUMENT and changes nothing', async () => {
      const volid = await kit.alloc({ format });
      for (const bad of BAD_SNAPSHOT_NAMES) {
        await expectCode(() => kit.manager.volumeSnapshot(volid, bad.value), 'INVALID_ARGUMENT', `volumeSnapshot ${JSON.stringify(bad.value)} [${bad.label}]`);
        await expectCode(() => kit.manager.volumeSnapshotDelete(volid, bad.value), 'INVALID_ARGUMENT', `volumeSnapshotDelete [${bad.label}]`);
        await expectCode(() => kit.manager.volumeSnapshotRollback(volid, bad.value), 'INVALID_ARGUMENT', `volumeSnapshotRollback [${bad.label}]`);
      }
      expect(await names(kit, volid), 'snapshots after the refused calls').toEqual([]);
    });
  });

  const without = caps.formats.find((f) => !hasFeature(kit.declared.features, { feature: 'snapshot', format: f, isBase: false }));
  describeGated('refused snapshots', gate(without !== undefined, 'every tested format has the snapshot feature'), () => {
    it(`refuses to snapshot a ${without ?? ''} volume with NOT_SUPPORTED`, async () => {
      const volid = await kit.alloc({ format: without });
      await expectCode(kit.manager.volumeSnapshot(volid, 'kit1'), 'NOT_SUPPORTED', `volumeSnapshot of a ${without ?? ''} volume`);
    });
  });
}
