/**
 * Templates (bases) and linked clones.
 *
 * @module
 */
import { expect, it } from 'vitest';
import { hasFeature, type VolumeFormat } from '../../capabilities.js';
import { expectCode } from '../assert.js';
import { allOf, featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

/**
 * Tells whether the listing links a clone to its base: by `parent` or by the base named in the
 * clone's volname (`baseName`/`baseVmid`). The manager's refusal to free a used base rests on it.
 */
async function linkedTo(kit: StorageKit, clone: string, base: string): Promise<boolean> {
  const [image] = await kit.manager.listImages(kit.storeId, { volids: [clone] });
  const p = kit.parse(clone);
  const b = kit.parse(base);
  return image?.parent === base || image?.parent?.startsWith(`${base}@`) === true || (p.baseName === b.name && p.baseVmid === b.vmid);
}

/**
 * Checks `createBase` and `cloneImage`: a base replaces the volume and is listed as one (a volume
 * with snapshots is refused with `INVALID_STATE`); a clone
 * of a base (and of a snapshot, where declared) is listed, linked to its source and sized like
 * it; a base with clones is refused by `freeImage` with `IN_USE` naming them (unless the plugin
 * declares `independentClones`: then the base is freed and its clones stay); clones then bases
 * free cleanly. Undeclared operations are refused with `NOT_SUPPORTED`.
 *
 * @param kit - the kit of the suite
 */
export function baseCloneSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const templateFormat = formatWith(caps, 'template', 'current');
  const cloneGate = allOf(featureGate(caps, 'template', 'current'), featureGate(caps, 'clone', 'base'));
  const cloneFormat = (formatWith(caps, 'clone', 'base') ?? templateFormat) as VolumeFormat;
  const snapFormat = caps.formats.find((f) => hasFeature(caps.features, { feature: 'snapshot', format: f, isBase: false }) && hasFeature(caps.features, { feature: 'clone', format: f, isBase: false, snapshot: 's' }));

  describeGated('bases and linked clones', featureGate(caps, 'template', 'current'), () => {
    it('turns a volume into a base: listed as a base, the old volid gone', async () => {
      const vmid = kit.newVmid();
      const volid = await kit.alloc({ vmid, format: templateFormat, units: 2 });
      const base = await kit.manager.createBase(volid);
      expect(kit.parse(base), `parseVolname of the base ${base}`).toMatchObject({ isBase: true, vmid });
      const listed = await kit.manager.listImages(kit.storeId, { vmid });
      expect(listed.map((i) => i.volid), 'images of the guest after createBase').toEqual([base]);
      expect(listed[0], 'the listed base').toMatchObject({ isBase: true, size: 2 * kit.unit });
      await expectCode(kit.manager.createBase(base), 'INVALID_ARGUMENT', 'createBase of a base');
    });

    const snapTemplateFormat = caps.formats.find(
      (f) => hasFeature(caps.features, { feature: 'template', format: f, isBase: false }) && hasFeature(caps.features, { feature: 'snapshot', format: f, isBase: false }),
    );
    itGated('refuses to make a template of a volume that has snapshots with INVALID_STATE naming them; nothing changes', gate(snapTemplateFormat !== undefined, 'no format has both template.current and snapshot.current'), async () => {
      const volid = await kit.alloc({ format: snapTemplateFormat });
      await kit.manager.volumeSnapshot(volid, 'kit1');
      const before = await kit.imageSummary();
      const e = await expectCode(kit.manager.createBase(volid), 'INVALID_STATE', 'createBase of a volume with a snapshot');
      expect(e.details['snapshots'], 'details.snapshots').toEqual(['kit1']);
      expect(await kit.imageSummary(), 'images after the refused createBase').toEqual(before);
      expect((await kit.manager.volumeSnapshotInfo(volid)).map((x) => x.name), 'its snapshots').toEqual(['kit1']);
      await kit.manager.volumeSnapshotDelete(volid, 'kit1');
      const base = await kit.manager.createBase(volid);
      expect(kit.parse(base).isBase, `${base} once its snapshot is deleted`).toBe(true);
    });

    const linked = gate(caps.independentClones !== true, 'clones are independent (capabilities.independentClones)');
    itGated('clones a base: listed, linked to the base, sized like it; the base is refused by freeImage with IN_USE', allOf(cloneGate, linked), async () => {
      const base = await kit.manager.createBase(await kit.alloc({ format: cloneFormat, units: 2 }));
      const vmid = kit.newVmid();
      const clone = await kit.manager.cloneImage(base, { vmid });
      const second = await kit.manager.cloneImage(base, { vmid });
      expect(kit.parse(clone), `parseVolname of the clone ${clone}`).toMatchObject({ vmid, isBase: false });
      expect(second, 'two clones').not.toBe(clone);
      const listed = await kit.manager.listImages(kit.storeId, { vmid });
      expect(listed.map((i) => i.volid), 'clones listed').toEqual([clone, second].sort());
      expect(listed[0]?.size, 'size of a clone').toBe(2 * kit.unit);
      expect(await linkedTo(kit, clone, base), `the listing links ${clone} to ${base} (parent or base in the volname)`).toBe(true);
      const before = await kit.imageSummary();
      const e = await expectCode(kit.manager.freeImage(base), 'IN_USE', 'freeImage of a base with clones');
      expect(e.details['clones'], 'details.clones').toEqual([clone, second].sort());
      expect(await kit.imageSummary(), 'images after the refused free').toEqual(before);
      await kit.manager.freeImage(clone);
      await kit.manager.freeImage(second);
      await kit.manager.freeImage(base);
      expect(await kit.manager.listImages(kit.storeId, { volids: [base, clone, second] }), 'after freeing clones, then the base').toEqual([]);
    });

    const independent = gate(caps.independentClones === true, 'clones depend on their template (capabilities.independentClones is not set)');
    itGated('clones a base into independent volumes: listed under their own names, sized like it; the base can be freed while they exist', allOf(cloneGate, independent), async () => {
      const base = await kit.manager.createBase(await kit.alloc({ format: cloneFormat, units: 2 }));
      const vmid = kit.newVmid();
      const clone = await kit.manager.cloneImage(base, { vmid });
      expect(kit.parse(clone), `parseVolname of the clone ${clone}`).toMatchObject({ vmid, isBase: false, baseName: undefined });
      // the clone may name the template as its parent while it exists; it does not depend on it
      await kit.manager.freeImage(base);
      const listed = await kit.manager.listImages(kit.storeId, { vmid });
      expect(listed.map((i) => [i.volid, i.size]), 'the clone after its template was freed').toEqual([[clone, 2 * kit.unit]]);
      expect(listed[0]?.parent, 'the parent of the clone once its template is gone').not.toBe(base);
      await kit.manager.freeImage(clone);
    });

    itGated('refuses to clone a volume that is not a base (no snapshot named) with NOT_SUPPORTED', gate(!(kit.declared.features.clone?.current ?? []).includes(cloneFormat), 'the plugin declares features.clone.current'), async () => {
      const volid = await kit.alloc({ format: cloneFormat });
      const before = await kit.imageSummary();
      await expectCode(kit.manager.cloneImage(volid, { vmid: kit.newVmid() }), 'NOT_SUPPORTED', 'cloneImage of a plain volume');
      expect(await kit.imageSummary(), 'images after the refused clone').toEqual(before);
    });
  });

  describeGated(
    'clones of snapshots',
    allOf(gate(caps.cloneFromSnapshot, 'capabilities.cloneFromSnapshot is false'), gate(snapFormat !== undefined, 'no tested format has both snapshot.current and clone.snap')),
    () => {
      it('clones a snapshot: listed, linked to the volume', async () => {
        const volid = await kit.alloc({ format: snapFormat, units: 2 });
        await kit.manager.volumeSnapshot(volid, 'kit1');
        const vmid = kit.newVmid();
        const clone = await kit.manager.cloneImage(volid, { vmid, snapshot: 'kit1' });
        const [image] = await kit.manager.listImages(kit.storeId, { volids: [clone] });
        expect(image, 'the clone of a snapshot').toMatchObject({ volid: clone, vmid, size: 2 * kit.unit, isBase: false });
        // an independent clone may name its source as parent, or not: it does not depend on it
        if (caps.independentClones !== true) expect(await linkedTo(kit, clone, volid), `the listing links ${clone} to ${volid}@kit1`).toBe(true);
      });
    },
  );

  const snapNoClone = caps.formats.find((f) => hasFeature(kit.declared.features, { feature: 'snapshot', format: f, isBase: false }) && !hasFeature(kit.declared.features, { feature: 'clone', format: f, isBase: false, snapshot: 's' }));
  describeGated('refused clones of snapshots', gate(!kit.declared.cloneFromSnapshot && snapNoClone !== undefined, 'the plugin clones snapshots, or snapshots nothing'), () => {
    it('refuses to clone a snapshot with NOT_SUPPORTED', async () => {
      const volid = await kit.alloc({ format: snapNoClone });
      await kit.manager.volumeSnapshot(volid, 'kit1');
      const before = await kit.imageSummary();
      await expectCode(kit.manager.cloneImage(volid, { vmid: kit.newVmid(), snapshot: 'kit1' }), 'NOT_SUPPORTED', 'cloneImage of a snapshot');
      expect(await kit.imageSummary(), 'images after the refused clone').toEqual(before);
    });
  });

  describeGated('refused templates', gate(formatWith(kit.declared, 'template', 'current') === undefined, 'the plugin declares features.template'), () => {
    it('refuses createBase with NOT_SUPPORTED', async () => {
      const volid = await kit.alloc();
      await expectCode(kit.manager.createBase(volid), 'NOT_SUPPORTED', 'createBase');
      expect((await kit.manager.listImages(kit.storeId, { volids: [volid] })).length, 'the volume is still there').toBe(1);
    });
  });
}
