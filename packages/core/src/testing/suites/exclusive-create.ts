/**
 * Creates that refuse a taken name themselves (`capabilities.exclusiveCreate`), as the manager
 * relies on when it chooses names from a listing that may be stale.
 *
 * @module
 */
import { expect, it } from 'vitest';
import type { VolumeFormat } from '../../capabilities.js';
import type { StorageManager } from '../../storage-manager.js';
import { expectCode } from '../assert.js';
import { allOf, featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { pluginContext } from '../plugin-context.js';
import { describeGated, itGated } from './gated.js';

type Sized = readonly [volid: string, size: number];

function byVolid(list: readonly Sized[]): Sized[] {
  return [...list].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

/** What a case finds of a guest's volumes: volid and size. */
async function sizes(kit: StorageKit, vmid: number): Promise<Sized[]> {
  return byVolid((await kit.manager.listImages(kit.storeId, { vmid })).map((i): Sized => [i.volid, i.size]));
}

/**
 * Makes a guest's volume through the kit's second manager, whose writes other managers do not
 * hear of: to their cached listings, the volume was made behind their backs.
 */
function behindTheBack(kit: StorageKit, vmid: number, units: number, format: VolumeFormat): Promise<string> {
  return kit.impatient.allocImage(kit.storeId, { vmid, size: units * kit.unit, format });
}

/**
 * Runs a case with a manager of its own that collects garbage only once an hour (its first call
 * does), so that between its calls it lists nothing it need not: what it knows of the storage
 * goes stale as it would in service. The kit's manager collects before every call, which lists.
 */
async function withStaleManager(kit: StorageKit, fn: (m: StorageManager) => Promise<void>): Promise<void> {
  const m = await kit.openManager({ gcIntervalMs: 3_600_000 });
  try {
    await fn(m);
  } finally {
    await m.close();
  }
}

/**
 * Checks what a plugin that declares `capabilities.exclusiveCreate` promises: its
 * `findFreeDiskname` counts `request.taken` as taken, and a name taken behind the manager's back
 * (by another manager, so that the kit's manager chooses from a listing that does not show it)
 * is neither handed out again nor overwritten by an allocation, a clone, a rename or a copy, and
 * makes none of them fail; a clone onto a taken name given by the caller is `ALREADY_EXISTS`
 * with nothing changed. Each case makes three volumes of one guest with different sizes (the
 * kit's, the other manager's, the kit's again) and finds all three, each with its own size.
 *
 * @param kit - the kit of the suite
 */
export function exclusiveCreateSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = caps.defaultFormat;
  const baseFormat = formatWith(caps, 'template', 'current');
  const cloneGate = allOf(featureGate(caps, 'template', 'current'), featureGate(caps, 'clone', 'base'));
  const renameFormat = formatWith(caps, 'rename', 'current');
  const copies = gate(caps.importFormats.includes('raw+size') && caps.exportFormats.includes('raw+size'), "capabilities lack 'raw+size' export and import");

  describeGated('creates refuse taken names (exclusiveCreate)', gate(kit.declared.exclusiveCreate === true, 'capabilities.exclusiveCreate is not declared'), () => {
    it('findFreeDiskname counts the names of request.taken as taken', async () => {
      const ctx = pluginContext({ config: kit.manager.storageConfig(kit.storeId), runner: kit.faulty, node: kit.node });
      const vmid = kit.newVmid();
      const first = await kit.plugin.findFreeDiskname(ctx, { vmid, format });
      const second = await kit.plugin.findFreeDiskname(ctx, { vmid, format, taken: [first] });
      const third = await kit.plugin.findFreeDiskname(ctx, { vmid, format, taken: [first, second] });
      expect(new Set([first, second, third]).size, `names with taken: ${first}, ${second}, ${third}`).toBe(3);
    });

    it("an allocation neither reuses nor overwrites a volume made behind the manager's back", () =>
      withStaleManager(kit, async (m) => {
        const vmid = kit.newVmid();
        const alloc = (units: number): Promise<string> => m.allocImage(kit.storeId, { vmid, size: units * kit.unit, format });
        const ours = await alloc(1);
        const theirs = await behindTheBack(kit, vmid, 2, format);
        const again = await alloc(3);
        const expected = byVolid([[ours, kit.unit], [theirs, 2 * kit.unit], [again, 3 * kit.unit]]);
        expect(await sizes(kit, vmid), 'the volumes of the guest, each with its own size').toEqual(expected);
      }));

    itGated("a clone neither reuses nor overwrites a volume made behind the manager's back; a taken name given is ALREADY_EXISTS", cloneGate, () =>
      withStaleManager(kit, async (m) => {
        const base = await kit.manager.createBase(await kit.alloc({ format: baseFormat, units: 3 }));
        const vmid = kit.newVmid();
        const ours = await m.cloneImage(base, { vmid });
        const theirs = await behindTheBack(kit, vmid, 2, format);
        const again = await m.cloneImage(base, { vmid });
        const expected = byVolid([[ours, 3 * kit.unit], [theirs, 2 * kit.unit], [again, 3 * kit.unit]]);
        expect(await sizes(kit, vmid), 'the volumes of the guest, each with its own size').toEqual(expected);
        const before = await kit.imageSummary();
        await expectCode(m.cloneImage(base, { vmid, name: kit.parse(ours).name }), 'ALREADY_EXISTS', 'cloneImage onto a taken name');
        expect(await kit.imageSummary(), 'images after the refused clone').toEqual(before);
      }));

    itGated("a rename neither reuses nor overwrites a volume made behind the manager's back", featureGate(caps, 'rename', 'current'), () =>
      withStaleManager(kit, async (m) => {
        const moved = await kit.alloc({ format: renameFormat, units: 3 });
        const vmid = kit.newVmid();
        const ours = await m.allocImage(kit.storeId, { vmid, size: kit.unit, format: renameFormat });
        const theirs = await behindTheBack(kit, vmid, 2, format);
        const renamed = await m.renameVolume(moved, vmid);
        const expected = byVolid([[ours, kit.unit], [theirs, 2 * kit.unit], [renamed, 3 * kit.unit]]);
        expect(await sizes(kit, vmid), 'the volumes of the guest, each with its own size').toEqual(expected);
      }));

    itGated("a copy neither reuses nor overwrites a volume made behind the manager's back", copies, () =>
      withStaleManager(kit, async (m) => {
        const source = await kit.alloc({ format, units: 3 });
        const vmid = kit.newVmid();
        const ours = await m.allocImage(kit.storeId, { vmid, size: kit.unit, format });
        const theirs = await behindTheBack(kit, vmid, 2, format);
        const copy = await m.copyVolume(source, kit.storeId, { vmid, format });
        const expected = byVolid([[ours, kit.unit], [theirs, 2 * kit.unit], [copy, 3 * kit.unit]]);
        expect(await sizes(kit, vmid), 'the volumes of the guest, each with its own size').toEqual(expected);
      }));
  });
}
