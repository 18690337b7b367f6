/**
 * Lazy free: `freeImage(template, { whenUnused: true })` hides a template that clones still use
 * (the `hidden` attribute, kept on the storage), and the template goes with its last clone.
 *
 * @module
 */
import { expect } from 'vitest';
import { expectCode } from '../assert.js';
import { allOf, featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { flattenCloneFormat } from './flatten-clone.js';
import { describeGated, itGated } from './gated.js';

/**
 * Checks lazy free where the plugin keeps `hidden` (`capabilities.attributes`) and makes
 * templates and linked clones: a template with clones freed with `whenUnused` is hidden (not in
 * `listImages`, listed with `hidden: true` with `includeHidden` and in `listVolumes`' image facts
 * where the plugin gives them), cannot be cloned
 * (`INVALID_STATE`, also by a manager that listed and cloned it before another manager hid it;
 * where the plugin declares `cloneRefusesHidden` the manager leaves that refusal to the plugin's
 * clone), is still hidden for a new manager (a restart), and is freed when its last
 * clone is freed, also when two managers free the clones, or flattened (where the plugin
 * flattens); without clones it is freed at once. A plugin that does not keep `hidden` must
 * refuse `whenUnused` on a template with clones with `NOT_SUPPORTED` and change nothing.
 *
 * @param kit - the kit of the suite
 */
export function lazyFreeSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = formatWith(caps, 'template', 'current');
  const clones = allOf(featureGate(caps, 'template', 'current'), featureGate(caps, 'clone', 'base'), gate(caps.independentClones !== true, 'clones do not depend on their template'));
  const keeps = caps.attributes.includes('hidden');
  const template = async (): Promise<string> => kit.manager.createBase(await kit.alloc({ format }));
  const hiddenOf = async (volid: string): Promise<boolean | undefined> => (await kit.images()).find((i) => i.volid === volid)?.hidden;
  const present = async (volid: string): Promise<boolean> => (await kit.images()).some((i) => i.volid === volid);
  const visible = async (volid: string): Promise<boolean> => (await kit.manager.listImages(kit.storeId)).some((i) => i.volid === volid);

  describeGated('lazy free (whenUnused)', allOf(clones, gate(keeps, "capabilities.attributes lacks 'hidden'")), () => {
    itGated('a template with clones is hidden: not listed, listed with includeHidden, not cloned again', gate(true, ''), async () => {
      const base = await template();
      const clone = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      expect(await kit.manager.freeImage(base, { whenUnused: true })).toEqual({ volid: base, outcome: 'hidden', alsoFreed: [] });
      expect(await visible(base), `${base} in listImages`).toBe(false);
      expect(await hiddenOf(base), `${base} with includeHidden: hidden`).toBe(true);
      const entry = (await kit.manager.listVolumes(kit.storeId, { content: ['images'] })).find((v) => v.volid === base);
      if (entry?.image !== undefined) expect(entry.image.hidden, `listVolumes' image facts of ${base}: hidden`).toBe(true);
      expect(await visible(clone), `${clone} in listImages`).toBe(true);
      const before = (await kit.images()).map((i) => i.volid);
      const refusedVmid = kit.newVmid();
      await expectCode(kit.manager.cloneImage(base, { vmid: refusedVmid }), 'INVALID_STATE', 'cloneImage of a hidden template');
      expect((await kit.images()).map((i) => i.volid), `the volumes after the refused clone for guest ${refusedVmid} (nothing made, or made and freed)`).toEqual(before);
      await expectCode(kit.manager.freeImage(base), 'IN_USE', 'plain freeImage of the hidden template');
    });

    itGated('a clone of a template that another manager hid is refused, and nothing is made', gate(true, ''), async () => {
      const base = await template();
      await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      const m = await kit.openManager({});
      try {
        expect((await m.freeImage(base, { whenUnused: true })).outcome, 'freed with whenUnused by another manager').toBe('hidden');
      } finally {
        await m.close();
      }
      const before = (await kit.images()).map((i) => i.volid);
      const refusedVmid = kit.newVmid();
      const e = await expectCode(kit.manager.cloneImage(base, { vmid: refusedVmid }), 'INVALID_STATE', `cloneImage of ${base}, hidden by another manager${caps.cloneRefusesHidden === true ? ' (refused by the plugin: cloneRefusesHidden)' : ''}`);
      expect(e.details['hidden'], 'details.hidden').toBe(true);
      expect((await kit.images()).map((i) => i.volid), `the volumes after the refused clone for guest ${refusedVmid}`).toEqual(before);
    });

    itGated('the hidden state survives a restart (a new manager)', gate(true, ''), async () => {
      const base = await template();
      await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      await kit.manager.freeImage(base, { whenUnused: true });
      const m = await kit.openManager({});
      try {
        expect((await m.listImages(kit.storeId)).some((i) => i.volid === base), `${base} listed by a new manager`).toBe(false);
        expect((await m.listImages(kit.storeId, { includeHidden: true })).find((i) => i.volid === base)?.hidden, 'hidden for a new manager').toBe(true);
        await expectCode(m.cloneImage(base, { vmid: kit.newVmid() }), 'INVALID_STATE', 'cloneImage of the hidden template by a new manager');
      } finally {
        await m.close();
      }
    });

    itGated('the template is freed with its last clone, also when two managers free the clones', gate(true, ''), async () => {
      const base = await template();
      const first = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      const last = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      await kit.manager.freeImage(base, { whenUnused: true });
      const m = await kit.openManager({});
      try {
        expect((await m.freeImage(first, {})).alsoFreed, 'freed with the first clone').toEqual([]);
        expect(await hiddenOf(base), 'hidden while a clone is left').toBe(true);
      } finally {
        await m.close();
      }
      expect((await kit.manager.freeImage(last, {})).alsoFreed, 'freed with the last clone').toEqual([base]);
      expect(await present(base), `${base} after its last clone was freed`).toBe(false);
    });

    itGated('the template is freed when its last clone is flattened', gate(flattenCloneFormat(caps) === format && format !== undefined, 'the template format cannot be flattened'), async () => {
      const base = await template();
      const clone = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      await kit.manager.freeImage(base, { whenUnused: true });
      const flat = await kit.manager.flattenImage(clone);
      expect(await present(base), `${base} after its last clone was flattened`).toBe(false);
      expect(await visible(flat), `${flat} listed`).toBe(true);
    });

    itGated('a template without clones is freed at once', gate(true, ''), async () => {
      const base = await template();
      expect((await kit.manager.freeImage(base, { whenUnused: true })).outcome).toBe('freed');
      expect(await present(base)).toBe(false);
    });
  });

  describeGated('lazy free is refused without a hidden attribute', allOf(clones, gate(!keeps, "capabilities.attributes has 'hidden'")), () => {
    itGated('whenUnused on a template with clones is NOT_SUPPORTED, and nothing changes', gate(true, ''), async () => {
      const base = await template();
      const clone = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      const before = await kit.imageSummary();
      const e = await expectCode(kit.manager.freeImage(base, { whenUnused: true }), 'NOT_SUPPORTED', 'whenUnused without hidden');
      expect(e.details['clones']).toEqual([clone]);
      expect(await kit.imageSummary()).toEqual(before);
    });
  });
}
