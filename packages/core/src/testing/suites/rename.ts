/**
 * Renaming a volume to another guest.
 *
 * @module
 */
import { expect, it } from 'vitest';
import { formatDiskName, parseDiskName } from '../../volume-id.js';
import { expectCode } from '../assert.js';
import { featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated } from './gated.js';

/**
 * Checks `renameVolume`: the volume moves to the target guest (a free name, or the name given),
 * keeps its size, and the old volid is gone; a taken target name is `ALREADY_EXISTS` with
 * nothing changed. A plugin without the rename feature must refuse with `NOT_SUPPORTED`.
 *
 * @param kit - the kit of the suite
 */
export function renameSuite(kit: StorageKit): void {
  const format = formatWith(kit.caps, 'rename', 'current');
  describeGated('rename', featureGate(kit.caps, 'rename', 'current'), () => {
    it('moves a volume to another guest', async () => {
      const volid = await kit.alloc({ format, units: 2 });
      const target = kit.newVmid();
      const renamed = await kit.manager.renameVolume(volid, target);
      expect(kit.parse(renamed), `parseVolname of ${renamed}`).toMatchObject({ vmid: target, isBase: false });
      expect(await kit.manager.listImages(kit.storeId, { volids: [volid] }), 'the old volid').toEqual([]);
      expect(await kit.manager.listImages(kit.storeId, { vmid: target }), 'images of the target guest').toMatchObject([{ volid: renamed, size: 2 * kit.unit }]);
    });

    it('uses the name given, and refuses a taken one with ALREADY_EXISTS', async () => {
      const volid = await kit.alloc({ format });
      const other = await kit.alloc({ format });
      const target = kit.newVmid();
      const ext = parseDiskName(kit.parse(volid).name)?.ext;
      const name = formatDiskName({ vmid: target, index: 5, ext });
      const renamed = await kit.manager.renameVolume(volid, target, { targetName: name });
      expect(kit.parse(renamed).name, 'name after rename').toBe(name);
      const before = await kit.imageSummary();
      await expectCode(kit.manager.renameVolume(other, target, { targetName: name }), 'ALREADY_EXISTS', 'renameVolume onto a taken name');
      expect(await kit.imageSummary(), 'images after the refused rename').toEqual(before);
    });
  });

  describeGated('refused rename', gate(formatWith(kit.declared, 'rename', 'current') === undefined, 'the plugin declares features.rename'), () => {
    it('refuses renameVolume with NOT_SUPPORTED', async () => {
      const volid = await kit.alloc();
      await expectCode(kit.manager.renameVolume(volid, kit.newVmid()), 'NOT_SUPPORTED', 'renameVolume');
    });
  });
}
