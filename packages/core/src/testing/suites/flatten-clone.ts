/**
 * Flatten a linked clone off its template (`flattenImage`): same bytes, no parent, and the
 * template can go.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import { hasFeature, type VolumeFormat } from '../../capabilities.js';
import { expectCode } from '../assert.js';
import { allOf, gate, type KitCapabilities } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { expectBytes, needsHook, writes, written } from './data.js';
import { describeGated, itGated } from './gated.js';
import { everyStepFailed } from './step-faults.js';

/** A tested format that can be a template, be cloned and be flattened. */
export function flattenCloneFormat(caps: KitCapabilities): VolumeFormat | undefined {
  const formats = caps.flatten?.clone ?? [];
  const ok = (f: VolumeFormat): boolean =>
    formats.includes(f) && hasFeature(caps.features, { feature: 'template', format: f, isBase: false }) && hasFeature(caps.features, { feature: 'clone', format: f, isBase: true });
  return [caps.defaultFormat, ...caps.formats].find((f) => caps.formats.includes(f) && ok(f));
}

/**
 * Checks `flattenImage` where `capabilities.flatten.clone` lists a tested format that can be a
 * template and be cloned: the flattened clone reads the same bytes (with a `volumeData` hook),
 * is listed without a `parent`, its template can then be freed and it still reads the same; its
 * snapshots are kept (`cloneKeepsSnapshots`) or the flatten is refused with `INVALID_STATE`; a
 * volume that is no linked clone is `INVALID_STATE`; failing each step of a flatten in turn
 * leaves the clone as it was (listing and bytes).
 *
 * @param kit - the kit of the suite
 */
export function flattenCloneSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = flattenCloneFormat(caps);
  const g = allOf(
    gate(format !== undefined, 'capabilities.flatten.clone lists no tested format that can be a template and be cloned'),
    gate(caps.independentClones !== true, 'clones do not depend on their template (capabilities.independentClones)'),
  );
  const cloneOf = async (): Promise<{ base: string; clone: string }> => {
    const base = await kit.manager.createBase(await kit.alloc({ format }));
    return { base, clone: await kit.manager.cloneImage(base, { vmid: kit.newVmid() }) };
  };
  const bytesOf = async (volid: string): Promise<string> => createHash('sha256').update(await kit.volumeBytes(volid)).digest('hex').slice(0, 16);
  const listed = async (volid: string): Promise<boolean> => (await kit.images()).some((i) => i.volid === volid);

  describeGated('flatten a linked clone', g, () => {
    itGated('the clone keeps its bytes and loses its parent; its template can be freed, and it still reads the same', gate(true, ''), async (ctx) => {
      needsHook(kit, ctx);
      const volid = await kit.alloc({ format });
      const a = await written(kit, volid, writes(kit.unit, 0xa1));
      const base = await kit.manager.createBase(volid);
      const clone = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
      const b = await written(kit, clone, writes(kit.unit, 0xb1, 1), a);
      const flat = await kit.manager.flattenImage(clone);
      const [image] = await kit.manager.listImages(kit.storeId, { volids: [flat] });
      expect(image, `${flat} is listed after flattening ${clone}`).toBeDefined();
      expect(image?.parent, `parent of ${flat}`).toBeUndefined();
      expectBytes(await kit.volumeBytes(flat), b, `bytes of ${flat} after flattening`);
      await kit.manager.freeImage(base);
      expectBytes(await kit.volumeBytes(flat), b, `bytes of ${flat} after its template was freed`);
      await written(kit, flat, writes(kit.unit, 0xc1, 2), b);
    });

    itGated('the template can be freed after flattening its clone (without data)', gate(true, ''), async () => {
      const { base, clone } = await cloneOf();
      await expectCode(kit.manager.freeImage(base), 'IN_USE', 'freeing the template before the flatten');
      const flat = await kit.manager.flattenImage(clone);
      await kit.manager.freeImage(base);
      expect(await listed(flat), `${flat} listed after its template was freed`).toBe(true);
    });

    itGated(
      caps.flatten?.cloneKeepsSnapshots === true ? "the clone's snapshots are kept" : 'a clone with snapshots is INVALID_STATE (cloneKeepsSnapshots is false)',
      snapshotsGate(caps, format),
      async () => {
        const { clone } = await cloneOf();
        await kit.manager.volumeSnapshot(clone, 'kit1');
        if (caps.flatten?.cloneKeepsSnapshots === true) {
          const flat = await kit.manager.flattenImage(clone);
          expect((await kit.manager.volumeSnapshotInfo(flat)).map((s) => s.name), `snapshots of ${flat}`).toEqual(['kit1']);
        } else {
          const before = await kit.imageSummary();
          const e = await expectCode(kit.manager.flattenImage(clone), 'INVALID_STATE', 'flatten of a clone with a snapshot');
          expect(e.details['snapshots']).toEqual(['kit1']);
          expect(await kit.imageSummary()).toEqual(before);
        }
      },
    );

    itGated('a volume that is no linked clone is INVALID_STATE', gate(true, ''), async () => {
      const volid = await kit.alloc({ format });
      await expectCode(kit.manager.flattenImage(volid), 'INVALID_STATE', 'flatten of a plain volume');
    });

    itGated('failing any one of its steps leaves the clone as it was', gate(caps.faults, 'features.faults is false'), (ctx) =>
      everyStepFailed(kit, ctx, {
        name: 'flattenImage',
        prepare: async () => {
          const { clone } = await cloneOf();
          if (kit.target.volumeData) await kit.fill(clone, writes(kit.unit, 0xb1));
          return clone;
        },
        run: (clone) => kit.manager.flattenImage(clone),
        observe: async (clone) => `${(await kit.imageSummary()).join(' | ')} || bytes ${(await listed(clone)) ? await bytesOf(clone) : 'gone'}`,
        succeeded: async (clone) => ((await listed(clone)) && (await kit.images()).find((i) => i.volid === clone)?.parent !== undefined ? 'the clone still has its parent' : undefined),
      }),
    );
  });
}

function snapshotsGate(caps: KitCapabilities, format: VolumeFormat | undefined): ReturnType<typeof gate> {
  const ok = format !== undefined && hasFeature(caps.features, { feature: 'snapshot', format, isBase: false });
  return gate(ok, 'the flattened format has no snapshots');
}
