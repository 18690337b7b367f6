/**
 * Volume attributes: `notes` and `protected`.
 *
 * @module
 */
import { expect, it } from 'vitest';
import type { VolumeAttribute } from '../../capabilities.js';
import { expectCode } from '../assert.js';
import { gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

const NOTES = 'conformance kit: notes with spaces, "quotes", $(not a command);\nand a second line ✓';

/**
 * Checks `getVolumeAttribute`/`updateVolumeAttribute`: notes are kept verbatim and cleared; a
 * protected volume is refused by `freeImage` with `PROTECTED` (and stays), and frees once
 * unprotected. Attributes the plugin does not declare are refused with `NOT_SUPPORTED`.
 *
 * @param kit - the kit of the suite
 */
export function attributesSuite(kit: StorageKit): void {
  const has = (a: VolumeAttribute) => gate(kit.caps.attributes.includes(a), `capabilities.attributes lacks '${a}'`);
  const missing = (['notes', 'protected'] as const).filter((a) => !kit.declared.attributes.includes(a));

  describeGated('attributes', gate(kit.caps.attributes.length > 0 || missing.length > 0, 'no attributes'), () => {
    itGated('keeps notes verbatim and clears them', has('notes'), async () => {
      const volid = await kit.alloc();
      const initial = await kit.manager.getVolumeAttribute(volid, 'notes');
      expect(initial === undefined || initial === '', `notes of a new volume: ${JSON.stringify(initial)}`).toBe(true);
      await kit.manager.updateVolumeAttribute(volid, 'notes', NOTES);
      expect(await kit.manager.getVolumeAttribute(volid, 'notes'), 'notes after setting them').toBe(NOTES);
      await kit.manager.updateVolumeAttribute(volid, 'notes', NOTES);
      expect(await kit.manager.getVolumeAttribute(volid, 'notes'), 'notes after setting them again').toBe(NOTES);
      await kit.manager.updateVolumeAttribute(volid, 'notes', undefined);
      const cleared = await kit.manager.getVolumeAttribute(volid, 'notes');
      expect(cleared === undefined || cleared === '', `notes after clearing: ${JSON.stringify(cleared)}`).toBe(true);
    });

    itGated('refuses to free a protected volume with PROTECTED, and frees it once unprotected', has('protected'), async () => {
      const volid = await kit.alloc();
      expect(await kit.manager.getVolumeAttribute(volid, 'protected'), 'protected of a new volume').toBeFalsy();
      await kit.manager.updateVolumeAttribute(volid, 'protected', true);
      expect(await kit.manager.getVolumeAttribute(volid, 'protected'), 'protected after setting it').toBe(true);
      await expectCode(kit.manager.freeImage(volid), 'PROTECTED', 'freeImage of a protected volume');
      expect((await kit.manager.listImages(kit.storeId, { volids: [volid] })).length, 'the protected volume is still listed').toBe(1);
      await kit.manager.updateVolumeAttribute(volid, 'protected', false);
      expect(await kit.manager.getVolumeAttribute(volid, 'protected'), 'protected after clearing it').toBeFalsy();
      await kit.manager.freeImage(volid);
      expect(await kit.manager.listImages(kit.storeId, { volids: [volid] }), 'after freeing').toEqual([]);
    });

    for (const a of missing) {
      it(`refuses the undeclared attribute '${a}' with NOT_SUPPORTED`, async () => {
        const volid = await kit.alloc();
        await expectCode(kit.manager.getVolumeAttribute(volid, a), 'NOT_SUPPORTED', `getVolumeAttribute ${a}`);
        await expectCode(kit.manager.updateVolumeAttribute(volid, a, a === 'notes' ? 'x' : true), 'NOT_SUPPORTED', `updateVolumeAttribute ${a}`);
      });
    }
  });
}
