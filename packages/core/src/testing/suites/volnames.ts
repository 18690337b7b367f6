/**
 * `parseVolname`: the names a plugin hands out parse back to the right fields; bad names are
 * refused with `INVALID_VOLUME_ID`, by the plugin itself and through the manager, changing nothing.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { isStorageError } from '../../errors.js';
import { parseVolumeId } from '../../volume-id.js';
import { expectCode } from '../assert.js';
import { badVolnames } from '../bad-values.js';
import type { StorageKit } from '../kit.js';

/**
 * Checks `parseVolname` on the plugin's own names and on bad names derived from them, directly
 * (a plugin must refuse them itself: it may be called by other code than the manager) and
 * through the manager's volid-taking methods, with the storage's listing unchanged.
 *
 * @param kit - the kit of the suite
 */
export function volnameSuite(kit: StorageKit): void {
  describe('volume names', () => {
    it('parses the names it hands out back to their owner, type and format', async () => {
      for (const format of kit.caps.formats) {
        const vmid = kit.newVmid();
        const volid = await kit.alloc({ vmid, format });
        const { volname } = parseVolumeId(volid);
        const p = kit.plugin.parseVolname(volname);
        expect(p, `parseVolname('${volname}')`).toMatchObject({ volname, vtype: 'images', vmid, isBase: false, baseName: undefined, format });
        expect(volname.endsWith(p.name), `the name '${p.name}' ends the volname '${volname}'`).toBe(true);
      }
    });

    it('refuses bad names with INVALID_VOLUME_ID', async () => {
      const { volname } = parseVolumeId(await kit.alloc());
      const accepted: string[] = [];
      for (const bad of badVolnames(volname)) {
        try {
          kit.plugin.parseVolname(bad.value);
          accepted.push(`${bad.label}: ${JSON.stringify(bad.value)} was accepted`);
        } catch (e) {
          if (!isStorageError(e, 'INVALID_VOLUME_ID')) accepted.push(`${bad.label}: ${JSON.stringify(bad.value)} threw ${String(e)}`);
        }
      }
      expect(accepted, 'bad volnames parseVolname did not refuse with INVALID_VOLUME_ID').toEqual([]);
    });

    it('refuses bad names through the manager and changes nothing', async () => {
      const volid = await kit.alloc();
      const { volname } = parseVolumeId(volid);
      const before = await kit.imageSummary();
      const m = kit.manager;
      for (const bad of badVolnames(volname)) {
        const bid = `${kit.storeId}:${bad.value}`;
        const what = (op: string): string => `${op}(${JSON.stringify(bid)}) [${bad.label}]`;
        await expectCode(() => m.freeImage(bid), 'INVALID_VOLUME_ID', what('freeImage'));
        await expectCode(() => m.volumeResize(bid, 2 * kit.unit), 'INVALID_VOLUME_ID', what('volumeResize'));
        await expectCode(() => m.volumeSnapshot(bid, 'kit'), 'INVALID_VOLUME_ID', what('volumeSnapshot'));
        await expectCode(() => m.createBase(bid), 'INVALID_VOLUME_ID', what('createBase'));
        await expectCode(() => m.path(bid), 'INVALID_VOLUME_ID', what('path'));
      }
      expect(await kit.imageSummary(), 'images after the refused calls').toEqual(before);
    });
  });
}
