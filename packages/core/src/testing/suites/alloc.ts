/**
 * Allocation, listing and freeing.
 *
 * @module
 */
import { describe, expect, it } from 'vitest';
import type { VolumeFormat } from '../../capabilities.js';
import { formatDiskName, parseDiskName, parseVolumeId } from '../../volume-id.js';
import { expectCode } from '../assert.js';
import type { StorageKit } from '../kit.js';

const ALL_FORMATS: readonly VolumeFormat[] = ['raw', 'qcow2', 'vmdk', 'subvol'];

/**
 * A disk name for guest `vmid` in the plugin's style, with index 7: made from the name of an
 * image the plugin allocated (keeping its extension), or `vm-<vmid>-disk-7` when that name is
 * not a standard disk name.
 */
function namedLike(kit: StorageKit, volid: string, vmid: number): string {
  const d = parseDiskName(kit.parse(volid).name);
  return formatDiskName({ vmid, index: 7, ext: d?.ext });
}

/**
 * Checks `allocImage` (with and without a name, every tested format), `listImages` (with and
 * without a vmid filter, with a volid filter, sorted, fields filled in), and `freeImage`.
 *
 * @param kit - the kit of the suite
 */
export function allocSuite(kit: StorageKit): void {
  describe('allocate, list, free', () => {
    it('allocates without a name: listed with its owner, size and format', async () => {
      const vmid = kit.newVmid();
      const volid = await kit.alloc({ vmid, units: 2 });
      const { volname } = parseVolumeId(volid);
      expect(parseVolumeId(volid).storeId, 'storage id of the new volid').toBe(kit.storeId);
      const listed = await kit.manager.listImages(kit.storeId, { vmid });
      expect(listed, `listImages({ vmid: ${vmid} })`).toHaveLength(1);
      expect(listed[0], 'the listed image').toMatchObject({ volid, volname, vmid, size: 2 * kit.unit, format: kit.caps.defaultFormat, isBase: false });
      expect(listed[0]?.parent, 'parent of a fresh image').toBeUndefined();
    });

    it('gives every allocation of a guest its own name', async () => {
      const vmid = kit.newVmid();
      const volids = [await kit.alloc({ vmid }), await kit.alloc({ vmid }), await kit.alloc({ vmid })];
      expect(new Set(volids).size, `volids ${volids.join(', ')}`).toBe(3);
      expect((await kit.manager.listImages(kit.storeId, { vmid })).map((i) => i.volid), 'listed').toEqual([...volids].sort());
    });

    it('allocates with a name, and refuses that name again with ALREADY_EXISTS', async () => {
      const vmid = kit.newVmid();
      const name = namedLike(kit, await kit.alloc({ vmid }), vmid);
      const volid = await kit.alloc({ vmid, name });
      expect(kit.parse(volid).name, 'name of the volume allocated with a name').toBe(name);
      const before = await kit.imageSummary();
      await expectCode(kit.alloc({ vmid, name }), 'ALREADY_EXISTS', `allocImage with the taken name '${name}'`);
      expect(await kit.imageSummary(), 'images after the refused allocation').toEqual(before);
    });

    it(`allocates every tested format (${kit.caps.formats.join(', ')})`, async () => {
      const vmid = kit.newVmid();
      for (const format of kit.caps.formats) {
        const volid = await kit.alloc({ vmid, format });
        const [image] = await kit.manager.listImages(kit.storeId, { volids: [volid] });
        expect(image, `listed ${format} image`).toMatchObject({ volid, format, size: kit.unit });
      }
    });

    const undeclared = ALL_FORMATS.filter((f) => !kit.declared.formats.includes(f));
    if (undeclared.length > 0) {
      it(`refuses a format it does not declare (${undeclared[0]}) with NOT_SUPPORTED`, async () => {
        const before = await kit.imageSummary();
        await expectCode(kit.alloc({ format: undeclared[0] }), 'NOT_SUPPORTED', `allocImage format ${undeclared[0]}`);
        expect(await kit.imageSummary(), 'images after the refused allocation').toEqual(before);
      });
    }

    it('lists with and without a vmid filter, and by volid', async () => {
      const a = kit.newVmid();
      const b = kit.newVmid();
      const ofA = [await kit.alloc({ vmid: a }), await kit.alloc({ vmid: a })].sort();
      const ofB = await kit.alloc({ vmid: b });
      const all = (await kit.manager.listImages(kit.storeId)).map((i) => i.volid);
      for (const v of [...ofA, ofB]) expect(all, 'listImages without a filter').toContain(v);
      expect([...all].sort((x, y) => (x.toLowerCase() < y.toLowerCase() ? -1 : 1)), 'listImages is sorted by volid').toEqual(all);
      expect((await kit.manager.listImages(kit.storeId, { vmid: a })).map((i) => i.volid), `listImages({ vmid: ${a} })`).toEqual(ofA);
      expect((await kit.manager.listImages(kit.storeId, { vmid: b })).map((i) => i.volid), `listImages({ vmid: ${b} })`).toEqual([ofB]);
      expect(await kit.manager.listImages(kit.storeId, { vmid: kit.newVmid() }), 'listImages of a guest with no images').toEqual([]);
      expect((await kit.manager.listImages(kit.storeId, { volids: [ofB] })).map((i) => i.volid), 'listImages({ volids })').toEqual([ofB]);
    });

    it('lists its images among all volumes (listVolumes) with content type images', async () => {
      const vmid = kit.newVmid();
      const volid = await kit.alloc({ vmid });
      const volumes = await kit.manager.listVolumes(kit.storeId, { vmid });
      expect(volumes.filter((v) => v.volid === volid), `listVolumes({ vmid: ${vmid} })`).toMatchObject([{ volid, content: 'images', vmid, size: kit.unit }]);
      expect((await kit.manager.listVolumes(kit.storeId, { vmid, content: ['images'] })).map((v) => v.volid), 'listVolumes of content images').toEqual([volid]);
    });

    it('frees an image: it is no longer listed, and the others stay', async () => {
      const vmid = kit.newVmid();
      const keep = await kit.alloc({ vmid });
      const gone = await kit.alloc({ vmid });
      await kit.manager.freeImage(gone);
      expect((await kit.manager.listImages(kit.storeId, { vmid })).map((i) => i.volid), 'images after freeImage').toEqual([keep]);
    });
  });
}
