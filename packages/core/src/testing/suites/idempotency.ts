/**
 * Repeated calls: the second of a pair behaves as the contract says, and consistently.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { expectCode } from '../assert.js';
import { featureGate, formatWith } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { itGated } from './gated.js';

/**
 * Checks repeated calls: freeing twice (the second is `NOT_FOUND`, as is freeing a volume that
 * never existed), snapshotting twice (`ALREADY_EXISTS`), deleting a
 * snapshot twice (`NOT_FOUND`), making a base of a base (`INVALID_ARGUMENT`) or of the old volid
 * (`NOT_FOUND`), and reusing a volid that was renamed away (`NOT_FOUND`).
 *
 * @param kit - the kit of the suite
 */
export function idempotencySuite(kit: StorageKit): void {
  const caps = kit.caps;
  describe('repeated calls', () => {
    it('refuses a second free, and a free of a never-made volume, with NOT_FOUND', async () => {
      const volid = await kit.alloc();
      await kit.manager.freeImage(volid);
      const before = await kit.imageSummary();
      await expectCode(kit.manager.freeImage(volid), 'NOT_FOUND', 'second freeImage');
      await expectCode(kit.manager.freeImage(await kit.neverMadeVolid(volid)), 'NOT_FOUND', 'freeImage of a volume that never existed');
      expect(await kit.manager.listImages(kit.storeId, { volids: [volid] }), 'after the frees').toEqual([]);
      expect(await kit.imageSummary(), 'images after the refused frees').toEqual(before);
    });

    itGated('refuses a second snapshot of the same name with ALREADY_EXISTS, and a second delete with NOT_FOUND', featureGate(caps, 'snapshot', 'current'), async () => {
      const volid = await kit.alloc({ format: formatWith(caps, 'snapshot', 'current') });
      await kit.manager.volumeSnapshot(volid, 'kit1');
      await expectCode(kit.manager.volumeSnapshot(volid, 'kit1'), 'ALREADY_EXISTS', 'second volumeSnapshot kit1');
      expect((await kit.manager.volumeSnapshotInfo(volid)).map((s) => s.name), 'snapshots').toEqual(['kit1']);
      await kit.manager.volumeSnapshotDelete(volid, 'kit1');
      await expectCode(kit.manager.volumeSnapshotDelete(volid, 'kit1'), 'NOT_FOUND', 'second volumeSnapshotDelete kit1');
      expect(await kit.manager.volumeSnapshotInfo(volid), 'snapshots').toEqual([]);
    });

    itGated('refuses createBase of the base (INVALID_ARGUMENT) and of the old volid (NOT_FOUND)', featureGate(caps, 'template', 'current'), async () => {
      const volid = await kit.alloc({ format: formatWith(caps, 'template', 'current') });
      const base = await kit.manager.createBase(volid);
      const before = await kit.imageSummary();
      await expectCode(kit.manager.createBase(base), 'INVALID_ARGUMENT', 'createBase of a base');
      await expectCode(kit.manager.createBase(volid), 'NOT_FOUND', 'createBase of the volid that became a base');
      expect(await kit.imageSummary(), 'images after the refused calls').toEqual(before);
    });

    itGated('refuses a volid that was renamed away with NOT_FOUND', featureGate(caps, 'rename', 'current'), async () => {
      const volid = await kit.alloc({ format: formatWith(caps, 'rename', 'current') });
      await kit.manager.renameVolume(volid, kit.newVmid());
      const before = await kit.imageSummary();
      await expectCode(kit.manager.renameVolume(volid, kit.newVmid()), 'NOT_FOUND', 'second renameVolume of the old volid');
      expect(await kit.imageSummary(), 'images after the refused rename').toEqual(before);
    });
  });
}
