/**
 * `pruneImages`: unused templates go; used ones (also through a chain, or named by the caller),
 * protected ones and one cloned meanwhile stay.
 *
 * @module
 */
import { expect } from 'vitest';
import type { ImageInfo } from '../../plugin-types.js';
import type { PruneOptions } from '../../manager/prune.js';
import { allOf, featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

/**
 * Checks `pruneImages` on templates of the case (every other template of the storage is named
 * as in use, so a shared storage loses nothing): a dry run lists the unused template and frees
 * nothing; a template a clone uses is kept (`in-use`, `usedBy` the clone), as is one the
 * caller's `inUse` names; a protected one is kept (`protected`); a hidden template nothing uses
 * is freed (where the plugin keeps `hidden`); a template cloned while prune runs (between its
 * listing and its lock) is kept with its clone.
 *
 * @param kit - the kit of the suite
 */
export function pruneSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = formatWith(caps, 'template', 'current');
  const clones = allOf(featureGate(caps, 'clone', 'base'), gate(caps.independentClones !== true, 'clones do not depend on their template'));
  const template = async (): Promise<string> => kit.manager.createBase(await kit.alloc({ format }));
  /** Only this case's templates may go: the others are in use for this prune. */
  const prune = (mine: readonly string[], options: PruneOptions & { named?: readonly string[]; during?: (image: ImageInfo) => Promise<void> }) =>
    kit.manager.pruneImages(kit.storeId, {
      ...options,
      inUse: async (image) => {
        await options.during?.(image);
        return !mine.includes(image.volid) || (options.named ?? []).includes(image.volid);
      },
    });
  const mineOf = (report: { kept: readonly { volid: string }[] }, mine: readonly string[]) => report.kept.filter((k) => mine.includes(k.volid));

  describeGated('prune unused templates', featureGate(caps, 'template', 'current'), () => {
    itGated('a dry run lists the unused template, keeps used ones with the reason, and frees nothing', clones, async () => {
      const used = await template();
      const clone = await kit.manager.cloneImage(used, { vmid: kit.newVmid() });
      const named = await template();
      const unused = await template();
      const mine = [used, named, unused];
      const before = await kit.imageSummary();
      const report = await prune(mine, { dryRun: true, named: [named] });
      expect(report.dryRun).toBe(true);
      expect(report.freed.filter((v) => mine.includes(v)), 'would free').toEqual([unused]);
      expect(mineOf(report, mine), 'kept').toEqual(
        [
          { volid: used, reason: 'in-use', usedBy: clone },
          { volid: named, reason: 'in-use', usedBy: named },
        ].sort((a, b) => (a.volid < b.volid ? -1 : 1)),
      );
      expect(await kit.imageSummary(), 'images after a dry run').toEqual(before);
      const done = await prune(mine, { named: [named] });
      expect(done.freed.filter((v) => mine.includes(v)), 'freed').toEqual([unused]);
      const left = (await kit.images()).map((i) => i.volid);
      expect([used, clone, named].every((v) => left.includes(v)), `${used}, ${clone} and ${named} still listed`).toBe(true);
      expect(left).not.toContain(unused);
    });

    itGated('a protected template is kept', gate(caps.attributes.includes('protected'), "capabilities.attributes lacks 'protected'"), async () => {
      const guarded = await template();
      await kit.manager.updateVolumeAttribute(guarded, 'protected', true);
      const report = await prune([guarded], {});
      expect(mineOf(report, [guarded])).toEqual([{ volid: guarded, reason: 'protected' }]);
      expect((await kit.images()).map((i) => i.volid)).toContain(guarded);
    });

    itGated('a hidden template nothing uses is freed', gate(caps.attributes.includes('hidden'), "capabilities.attributes lacks 'hidden'"), async () => {
      const hidden = await template();
      await kit.manager.updateVolumeAttribute(hidden, 'hidden', true);
      expect((await prune([hidden], { dryRun: true })).freed, 'dry run').toContain(hidden);
      expect((await prune([hidden], {})).freed, 'freed').toContain(hidden);
      expect((await kit.images()).map((i) => i.volid)).not.toContain(hidden);
    });

    itGated('a template cloned while prune runs is kept, with its clone', clones, async () => {
      const base = await template();
      let clone = '';
      const report = await prune([base], {
        during: async (image) => {
          if (image.volid === base) clone = await kit.impatient.cloneImage(base, { vmid: kit.newVmid() });
        },
      });
      expect(report.freed).not.toContain(base);
      expect(mineOf(report, [base])).toEqual([{ volid: base, reason: 'in-use', usedBy: clone }]);
      const left = (await kit.images()).map((i) => i.volid);
      expect(left).toContain(base);
      expect(left).toContain(clone);
    });
  });
}
