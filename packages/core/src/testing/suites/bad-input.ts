/**
 * Bad input: sizes, guest ids, disk names, volids and missing volumes, each refused with a
 * stable code and nothing changed.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { StorageErrorCode } from '../../errors.js';
import { expectCode } from '../assert.js';
import { BAD_VMIDS, badDiskNames, badSizes } from '../bad-values.js';
import { formatWith } from '../gates.js';
import type { StorageKit } from '../kit.js';

/**
 * Checks that bad input is refused before anything changes: sizes (negative, zero, fractional,
 * NaN, infinite, beyond 2^53, absurd) and guest ids with `INVALID_ARGUMENT`; disk names with
 * `..`, `/`, `;`, `$()`, spaces, unicode or nothing with `INVALID_VOLUME_ID` or
 * `INVALID_ARGUMENT`; a name of another guest with `INVALID_ARGUMENT`; an unknown storage with
 * `NOT_FOUND`; operations on a volume that does not exist with `NOT_FOUND`. After each, the
 * storage's listing is what it was.
 *
 * @param kit - the kit of the suite
 */
export function badInputSuite(kit: StorageKit): void {
  const caps = kit.caps;
  describe('bad input', () => {
    it('refuses bad sizes with INVALID_ARGUMENT, for allocImage and volumeResize', async () => {
      const volid = await kit.alloc();
      const before = await kit.imageSummary();
      for (const bad of badSizes(kit.unit)) {
        await expectCode(() => kit.manager.allocImage(kit.storeId, { vmid: kit.newVmid(), size: bad.value }), 'INVALID_ARGUMENT', `allocImage size ${bad.value} [${bad.label}]`);
        await expectCode(() => kit.manager.volumeResize(volid, bad.value), 'INVALID_ARGUMENT', `volumeResize size ${bad.value} [${bad.label}]`);
      }
      expect(await kit.imageSummary(), 'images after the refused calls').toEqual(before);
    });

    it('refuses bad guest ids with INVALID_ARGUMENT, and lists nothing for an unknown one', async () => {
      const volid = await kit.alloc();
      const before = await kit.imageSummary();
      for (const bad of BAD_VMIDS) {
        await expectCode(() => kit.manager.allocImage(kit.storeId, { vmid: bad.value, size: kit.unit }), 'INVALID_ARGUMENT', `allocImage vmid ${bad.value} [${bad.label}]`);
        await expectCode(() => kit.manager.listImages(kit.storeId, { vmid: bad.value }), 'INVALID_ARGUMENT', `listImages vmid ${bad.value} [${bad.label}]`);
        if (formatWith(caps, 'rename', 'current')) {
          await expectCode(() => kit.manager.renameVolume(volid, bad.value), 'INVALID_ARGUMENT', `renameVolume to vmid ${bad.value} [${bad.label}]`);
        }
      }
      expect(await kit.manager.listImages(kit.storeId, { vmid: kit.newVmid() }), 'listImages of an unknown guest').toEqual([]);
      expect(await kit.imageSummary(), 'images after the refused calls').toEqual(before);
    });

    it('refuses bad disk names with INVALID_VOLUME_ID or INVALID_ARGUMENT, and names of another guest with INVALID_ARGUMENT', async () => {
      const vmid = kit.newVmid();
      const codes: StorageErrorCode[] = ['INVALID_VOLUME_ID', 'INVALID_ARGUMENT'];
      const before = await kit.imageSummary();
      for (const bad of badDiskNames(vmid)) {
        await expectCode(() => kit.manager.allocImage(kit.storeId, { vmid, size: kit.unit, name: bad.value }), codes, `allocImage name ${JSON.stringify(bad.value)} [${bad.label}]`);
      }
      await expectCode(kit.manager.allocImage(kit.storeId, { vmid, size: kit.unit, name: `vm-${kit.newVmid()}-disk-0` }), 'INVALID_ARGUMENT', 'allocImage with a name of another guest');
      await expectCode(kit.manager.allocImage(kit.storeId, { vmid, size: kit.unit, name: `base-${vmid}-disk-0` }), 'INVALID_ARGUMENT', 'allocImage with a base- name');
      expect(await kit.imageSummary(), 'images after the refused calls').toEqual(before);
    });

    it('refuses an unknown storage with NOT_FOUND and a volid without a storage with INVALID_VOLUME_ID', async () => {
      await expectCode(() => kit.manager.allocImage('stowagekitnosuchstore', { vmid: kit.newVmid(), size: kit.unit }), 'NOT_FOUND', 'allocImage on an unknown storage');
      await expectCode(() => kit.manager.freeImage('stowagekitnosuchstore:vm-100-disk-0'), 'NOT_FOUND', 'freeImage on an unknown storage');
      await expectCode(() => kit.manager.freeImage('vm-100-disk-0'), 'INVALID_VOLUME_ID', 'freeImage of a volid without a storage');
    });

    it('refuses operations on a volume that does not exist with NOT_FOUND, making nothing', async () => {
      const volid = await kit.vacantVolid(kit.newVmid(), kit.caps.defaultFormat);
      const m = kit.manager;
      const before = await kit.imageSummary();
      await expectCode(m.volumeResize(volid, 2 * kit.unit), 'NOT_FOUND', 'volumeResize');
      await expectCode(m.volumeSizeInfo(volid), ['NOT_FOUND', 'NOT_SUPPORTED'], 'volumeSizeInfo');
      if (caps.exportFormats.includes('raw+size')) await expectCode(kit.exportBytes(volid), 'NOT_FOUND', 'volumeExport');
      const snapFormat = formatWith(caps, 'snapshot', 'current');
      if (snapFormat === caps.defaultFormat) {
        await expectCode(m.volumeSnapshot(volid, 'kit1'), 'NOT_FOUND', 'volumeSnapshot');
        await expectCode(m.volumeSnapshotInfo(volid), 'NOT_FOUND', 'volumeSnapshotInfo');
      }
      if (formatWith(caps, 'template', 'current') === caps.defaultFormat) await expectCode(m.createBase(volid), 'NOT_FOUND', 'createBase');
      if (formatWith(caps, 'rename', 'current') === caps.defaultFormat) await expectCode(m.renameVolume(volid, kit.newVmid()), 'NOT_FOUND', 'renameVolume');
      for (const a of caps.attributes) await expectCode(m.getVolumeAttribute(volid, a), 'NOT_FOUND', `getVolumeAttribute ${a}`);
      expect(await kit.imageSummary(), 'images after the refused calls').toEqual(before);
    });
  });
}
