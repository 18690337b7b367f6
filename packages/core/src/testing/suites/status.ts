/**
 * Storage status, volume paths, activation and size information.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import { isStorageError } from '../../errors.js';
import type { StorageKit } from '../kit.js';

/**
 * Checks `status` (active, whole non-negative numbers that add up), `path` (one per volume,
 * naming owner and content type), `activateVolume`/`deactivateVolume`, and `volumeSizeInfo`
 * (agreeing with the listing, or `NOT_SUPPORTED`).
 *
 * @param kit - the kit of the suite
 */
export function statusSuite(kit: StorageKit): void {
  describe('status, path, activation, size info', () => {
    it('reports an active storage whose numbers add up', async () => {
      const s = await kit.manager.status(kit.storeId);
      expect(s.active, `status ${JSON.stringify(s)}`).toBe(true);
      for (const key of ['total', 'used', 'available'] as const) {
        expect(Number.isSafeInteger(s[key]) && s[key] >= 0, `status.${key} = ${s[key]} is a whole number of bytes`).toBe(true);
      }
      expect(s.total, 'status.total').toBeGreaterThan(0);
      expect(s.used + s.available, `used ${s.used} + available ${s.available} <= total ${s.total}`).toBeLessThanOrEqual(s.total);
    });

    it('gives each volume its own path, with its owner and content type', async () => {
      const vmid = kit.newVmid();
      const a = await kit.alloc({ vmid });
      const b = await kit.alloc({ vmid });
      const pa = await kit.manager.path(a);
      const pb = await kit.manager.path(b);
      expect(pa, `path(${a})`).toMatchObject({ vmid, vtype: 'images' });
      expect(typeof pa.path === 'string' && pa.path.length > 0, 'a non-empty path').toBe(true);
      expect(pa.path, 'paths of two volumes').not.toBe(pb.path);
    });

    it('activates and deactivates a volume', async () => {
      const volid = await kit.alloc();
      await kit.manager.activateVolume(volid);
      await kit.manager.deactivateVolume(volid);
      await kit.manager.activateVolume(volid);
      await kit.manager.deactivateVolume(volid);
    });

    it('reports size info that agrees with the listing (or says NOT_SUPPORTED)', async () => {
      const volid = await kit.alloc({ units: 2 });
      try {
        const info = await kit.manager.volumeSizeInfo(volid);
        expect(info, `volumeSizeInfo(${volid})`).toMatchObject({ size: 2 * kit.unit, format: kit.caps.defaultFormat, parent: undefined });
      } catch (e) {
        if (!isStorageError(e, 'NOT_SUPPORTED')) throw e;
      }
    });
  });
}
