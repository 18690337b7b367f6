/**
 * Resizing: grow, and shrink or `CANNOT_SHRINK` as declared.
 *
 * @module
 */
import { expect, it } from 'vitest';
import { expectCode } from '../assert.js';
import { gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

async function sizeOf(kit: StorageKit, volid: string): Promise<number | undefined> {
  return (await kit.manager.listImages(kit.storeId, { volids: [volid] }))[0]?.size;
}

/**
 * Checks `volumeResize`: growing changes the listed size; shrinking works when the plugin
 * declares `shrink` and is otherwise refused with `CANNOT_SHRINK`, size unchanged; a missing
 * volume is `NOT_FOUND`.
 *
 * @param kit - the kit of the suite
 */
export function resizeSuite(kit: StorageKit): void {
  describeGated('resize', gate(kit.caps.resize, 'features.resize is false'), () => {
    it('grows a volume', async () => {
      const volid = await kit.alloc({ units: 1 });
      await kit.manager.volumeResize(volid, 3 * kit.unit);
      expect(await sizeOf(kit, volid), 'size after growing from 1 to 3 units').toBe(3 * kit.unit);
      await kit.manager.volumeResize(volid, 3 * kit.unit);
      expect(await sizeOf(kit, volid), 'size after resizing to the same size').toBe(3 * kit.unit);
    });

    itGated('shrinks a volume', gate(kit.caps.shrink, 'capabilities.shrink is false'), async () => {
      const volid = await kit.alloc({ units: 3 });
      await kit.manager.volumeResize(volid, kit.unit);
      expect(await sizeOf(kit, volid), 'size after shrinking from 3 to 1 units').toBe(kit.unit);
    });

    itGated('refuses to shrink with CANNOT_SHRINK, size unchanged', gate(!kit.declared.shrink, 'the plugin declares shrink'), async () => {
      const volid = await kit.alloc({ units: 2 });
      await expectCode(kit.manager.volumeResize(volid, kit.unit), 'CANNOT_SHRINK', 'volumeResize to a smaller size');
      expect(await sizeOf(kit, volid), 'size after the refused shrink').toBe(2 * kit.unit);
    });

    it('refuses to resize a volume that does not exist with NOT_FOUND', async () => {
      const volid = await kit.vacantVolid(kit.newVmid(), kit.caps.defaultFormat);
      await expectCode(kit.manager.volumeResize(volid, 2 * kit.unit), 'NOT_FOUND', 'volumeResize of a missing volume');
      expect(await kit.manager.listImages(kit.storeId, { volids: [volid] }), 'nothing made').toEqual([]);
    });
  });
}
