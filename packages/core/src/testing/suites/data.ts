/**
 * Data: what rollback, bases, linked clones and resize do to a volume's bytes, written through
 * `setup`'s `volumeData` hook and read back with `raw+size` exports.
 *
 * @module
 */
import type { TestContext } from 'vitest';
import { expect } from 'vitest';
import { hasFeature, type Feature, type VolumeFormat, type VolumeState } from '../../capabilities.js';
import { firstDifference } from '../bytes.js';
import { allOf, featureGate, gate, type KitCapabilities } from '../gates.js';
import type { KitFill, StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

/** The first tested format (the default first) that has every one of the features. */
function formatWithAll(caps: KitCapabilities, wanted: readonly [Feature, VolumeState][]): VolumeFormat | undefined {
  const has = (format: VolumeFormat): boolean =>
    wanted.every(([feature, state]) => hasFeature(caps.features, { feature, format, isBase: state === 'base', snapshot: state === 'snap' ? 's' : undefined }));
  return [caps.defaultFormat, ...caps.formats].find((f) => caps.formats.includes(f) && has(f));
}

/**
 * Three writes of distinct bytes (`first`, `first + 1`, `first + 2`) into the first size unit: at
 * its start, its middle and its very end, moved by `step` blocks of half their length so that
 * later writes partly overlap earlier ones. Offsets and lengths are multiples of 512.
 */
export function writes(unit: number, first: number, step = 0): KitFill[] {
  const length = Math.max(512, Math.min(64 * 1024, Math.floor(unit / 8 / 512) * 512));
  const shift = step * Math.floor(length / 2 / 512) * 512;
  const middle = Math.floor(unit / 2 / 512) * 512;
  return [
    { offset: shift, length, byte: first },
    { offset: middle + shift, length, byte: first + 1 },
    { offset: unit - length - shift, length, byte: first + 2 },
  ];
}

function applied(before: Buffer, fills: readonly KitFill[]): Buffer {
  const out = Buffer.from(before);
  for (const f of fills) out.fill(f.byte, f.offset, f.offset + f.length);
  return out;
}

/** Fails with the first differing offset unless the bytes are equal. */
export function expectBytes(actual: Buffer, expected: Buffer, what: string): void {
  expect(firstDifference(actual, expected), what).toBeUndefined();
}

/** Skips the case when `setup` returned no `volumeData` hook. */
export function needsHook(kit: StorageKit, ctx: TestContext): void {
  if (!kit.target.volumeData) ctx.skip('setup returned no volumeData: the kit cannot write into volumes');
}

/**
 * Writes into a volume and checks that its export shows exactly the writes on top of what was
 * there (so a hook that writes nothing, or elsewhere, fails here and not later).
 *
 * @returns the volume's bytes now
 */
export async function written(kit: StorageKit, volid: string, fills: readonly KitFill[], before?: Buffer): Promise<Buffer> {
  const expected = applied(before ?? (await kit.volumeBytes(volid)), fills);
  await kit.fill(volid, fills);
  expectBytes(await kit.volumeBytes(volid), expected, `bytes of ${volid} after writing into it through volumeData`);
  return expected;
}

/**
 * Checks the data, not only the listings, where `setup` returns a
 * {@link KitTarget.volumeData | volumeData} hook (cases are skipped without it): a rollback
 * brings back the snapshot's bytes (to the newest snapshot; to an older one with
 * `destroyBlockers` where only the newest can be rolled back to, and back to a newer one where
 * any can); `createBase` keeps the bytes, a linked clone shows its base's, and writes into one
 * clone change neither the base nor another clone; a clone of a snapshot shows the snapshot's
 * bytes, not the volume's current ones; growing keeps the bytes, the new space reads as zeros
 * (where `sparseinit` is declared) and takes writes. Bytes are read with `raw+size` exports.
 *
 * @param kit - the kit of the suite
 */
export function volumeDataSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const unit = (): number => kit.unit;
  const snapFormat = formatWithAll(caps, [['snapshot', 'current']]);
  const cloneFormat = formatWithAll(caps, [['template', 'current'], ['clone', 'base']]);
  const snapCloneFormat = formatWithAll(caps, [['snapshot', 'current'], ['clone', 'snap']]);
  const snapshots = featureGate(caps, 'snapshot', 'current');

  describeGated('data (through volumeData)', gate(caps.exportFormats.includes('raw+size'), "capabilities.exportFormats lacks 'raw+size'"), () => {
    itGated('rolling back to the newest snapshot brings back its bytes', snapshots, async (ctx) => {
      needsHook(kit, ctx);
      const volid = await kit.alloc({ format: snapFormat });
      const a = await written(kit, volid, writes(unit(), 0xa1));
      await kit.manager.volumeSnapshot(volid, 'kit1');
      await written(kit, volid, writes(unit(), 0xb1, 1), a);
      await kit.manager.volumeSnapshotRollback(volid, 'kit1');
      expectBytes(await kit.volumeBytes(volid), a, 'bytes after rolling back to kit1');
    });

    itGated('rolling back to an older snapshot brings back its bytes', snapshots, async (ctx) => {
      needsHook(kit, ctx);
      const volid = await kit.alloc({ format: snapFormat });
      const a = await written(kit, volid, writes(unit(), 0xa1));
      await kit.manager.volumeSnapshot(volid, 'kit1');
      const b = await written(kit, volid, writes(unit(), 0xb1, 1), a);
      await kit.manager.volumeSnapshot(volid, 'kit2');
      await written(kit, volid, writes(unit(), 0xc1, 2), b);
      await kit.manager.volumeSnapshotRollback(volid, 'kit1', { destroyBlockers: !kit.declared.rollbackAnySnapshot });
      expectBytes(await kit.volumeBytes(volid), a, 'bytes after rolling back past kit2 to kit1');
      if (caps.rollbackAnySnapshot) {
        await kit.manager.volumeSnapshotRollback(volid, 'kit2');
        expectBytes(await kit.volumeBytes(volid), b, 'bytes after rolling back to kit2, the newer snapshot, from kit1');
      }
    });

    itGated(
      'a base keeps its bytes, a linked clone shows them, and writes into a clone change nothing else',
      allOf(featureGate(caps, 'template', 'current'), gate(cloneFormat !== undefined, 'no tested format has both template.current and clone.base')),
      async (ctx) => {
        needsHook(kit, ctx);
        const volid = await kit.alloc({ format: cloneFormat });
        const a = await written(kit, volid, writes(unit(), 0xa1));
        const base = await kit.manager.createBase(volid);
        expectBytes(await kit.volumeBytes(base), a, `bytes of the base ${base}`);
        const vmid = kit.newVmid();
        const clone = await kit.manager.cloneImage(base, { vmid });
        const other = await kit.manager.cloneImage(base, { vmid });
        expectBytes(await kit.volumeBytes(clone), a, `bytes of the new linked clone ${clone}`);
        await written(kit, clone, writes(unit(), 0xb1, 1), a);
        expectBytes(await kit.volumeBytes(base), a, 'bytes of the base after writing into its clone');
        expectBytes(await kit.volumeBytes(other), a, 'bytes of a second clone after writing into the first');
      },
    );

    itGated(
      'an independent clone keeps its bytes when its template is freed',
      allOf(
        featureGate(caps, 'template', 'current'),
        gate(cloneFormat !== undefined, 'no tested format has both template.current and clone.base'),
        gate(caps.independentClones === true, 'clones depend on their template (capabilities.independentClones is not set)'),
      ),
      async (ctx) => {
        needsHook(kit, ctx);
        const volid = await kit.alloc({ format: cloneFormat });
        const a = await written(kit, volid, writes(unit(), 0xa1));
        const base = await kit.manager.createBase(volid);
        const clone = await kit.manager.cloneImage(base, { vmid: kit.newVmid() });
        await kit.manager.freeImage(base);
        expectBytes(await kit.volumeBytes(clone), a, `bytes of ${clone} after its template ${base} was freed`);
      },
    );

    itGated(
      "a clone of a snapshot shows the snapshot's bytes, not the volume's current ones",
      allOf(gate(caps.cloneFromSnapshot, 'capabilities.cloneFromSnapshot is false'), gate(snapCloneFormat !== undefined, 'no tested format has both snapshot.current and clone.snap')),
      async (ctx) => {
        needsHook(kit, ctx);
        const volid = await kit.alloc({ format: snapCloneFormat });
        const a = await written(kit, volid, writes(unit(), 0xa1));
        await kit.manager.volumeSnapshot(volid, 'kit1');
        const b = await written(kit, volid, writes(unit(), 0xb1, 1), a);
        const clone = await kit.manager.cloneImage(volid, { vmid: kit.newVmid(), snapshot: 'kit1' });
        expectBytes(await kit.volumeBytes(clone), a, `bytes of ${clone}, a clone of kit1`);
        await written(kit, clone, writes(unit(), 0xc1, 2), a);
        expectBytes(await kit.volumeBytes(volid), b, 'bytes of the volume after writing into the clone of its snapshot');
      },
    );

    itGated('growing keeps the bytes, and the new space reads as zeros and takes writes', gate(caps.resize, 'features.resize is false'), async (ctx) => {
      needsHook(kit, ctx);
      const format = caps.defaultFormat;
      const volid = await kit.alloc({ format });
      const a = await written(kit, volid, writes(unit(), 0xa1));
      await kit.manager.volumeResize(volid, 2 * unit());
      const grown = await kit.volumeBytes(volid);
      expect(grown.length, 'bytes exported after growing from 1 to 2 units').toBe(2 * unit());
      expectBytes(grown.subarray(0, unit()), a, 'the first unit after growing');
      if (hasFeature(caps.features, { feature: 'sparseinit', format, isBase: false })) {
        expectBytes(grown.subarray(unit()), Buffer.alloc(unit()), 'the new unit after growing (sparseinit is declared)');
      }
      await written(kit, volid, writes(unit(), 0xd1).map((f) => ({ ...f, offset: f.offset + unit() })), grown);
    });
  });
}
