import { describe, expect, it } from 'vitest';
import type { ImageInfo, VolumeListEntry } from '@stowage/core';
import { lacksImageFacts, listRows } from '../src/list-rows.js';

const base: ImageInfo = { volid: 's:base-100-disk-0', volname: 'base-100-disk-0', format: 'raw', size: 4096, used: 4096, vmid: 100, isBase: true, parent: undefined, ctime: 7 };
const clone: ImageInfo = { ...base, volid: 's:base-100-disk-0/vm-101-disk-0', volname: 'base-100-disk-0/vm-101-disk-0', vmid: 101, isBase: false, parent: base.volid, used: 0 };
const entry = (i: ImageInfo, withFacts: boolean): VolumeListEntry => ({
  volid: i.volid,
  content: 'images',
  format: i.format,
  size: i.size,
  vmid: i.vmid,
  ctime: i.ctime,
  ...(withFacts ? { image: { used: i.used, isBase: i.isBase, parent: i.parent, backingFile: i.backingFile } } : {}),
});
const iso: VolumeListEntry = { volid: 's:iso/Z.iso', content: 'iso', format: 'iso', size: 10, vmid: undefined, ctime: undefined };

describe('the rows of stowage list', () => {
  it('take the image facts from the listing, so that no second listing is needed', () => {
    const volumes = [entry(clone, true), iso, entry(base, true)];
    expect(volumes.some(lacksImageFacts)).toBe(false);
    expect(listRows(volumes, [])).toEqual([
      { volid: base.volid, volname: 'base-100-disk-0', content: 'images', format: 'raw', size: 4096, used: 4096, vmid: 100, isBase: true, parent: null, backingFile: null, ctime: 7, subtype: null },
      { volid: clone.volid, volname: clone.volname, content: 'images', format: 'raw', size: 4096, used: 0, vmid: 101, isBase: false, parent: base.volid, backingFile: null, ctime: 7, subtype: null },
      { volid: iso.volid, volname: 'iso/Z.iso', content: 'iso', format: 'iso', size: 10, used: null, vmid: null, isBase: false, parent: null, backingFile: null, ctime: null, subtype: null },
    ]);
  });

  it("fill in an image's facts from listImages when the plugin's listing leaves them out", () => {
    const volumes = [entry(clone, false), iso];
    expect(volumes.filter(lacksImageFacts).map((v) => v.volid)).toEqual([clone.volid]);
    expect(listRows(volumes, [base, clone])[0]).toMatchObject({ volid: clone.volid, isBase: false, parent: base.volid, used: 0 });
  });

  it('sort by volid in plain character order', () => {
    const names = ['s:vm-7-disk-b.raw', 's:vm-7-disk-B.raw', 's:vm-7-disk-a.raw'];
    const volumes = names.map((volid): VolumeListEntry => ({ volid, content: 'iso', format: 'iso', size: 1, vmid: undefined, ctime: undefined }));
    expect(listRows(volumes, []).map((r) => r.volid)).toEqual(['s:vm-7-disk-B.raw', 's:vm-7-disk-a.raw', 's:vm-7-disk-b.raw']);
  });
});
