/**
 * Flatten to a snapshot (`volumeSnapshotFlatten`, OpenNebula's `snap_flatten`): the volume takes
 * the snapshot's bytes and size, and no snapshot remains.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { expect } from 'vitest';
import type { VolumeFormat } from '../../capabilities.js';
import { expectCode } from '../assert.js';
import { allOf, featureGate, gate, type KitCapabilities } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { expectBytes, needsHook, writes, written } from './data.js';
import { describeGated, itGated } from './gated.js';
import { everyStepFailed } from './step-faults.js';

function flattenFormat(caps: KitCapabilities): VolumeFormat | undefined {
  const formats = caps.flatten?.toSnapshot ?? [];
  return [caps.defaultFormat, ...caps.formats].find((f) => formats.includes(f) && (caps.features.snapshot?.current ?? []).includes(f));
}

/**
 * Checks `volumeSnapshotFlatten` where `capabilities.flatten.toSnapshot` lists a tested format
 * with snapshots: flattening to the older of two snapshots leaves the volume with exactly that
 * snapshot's bytes (with a `volumeData` hook) and size and no snapshots; a snapshot that does not
 * exist is `NOT_FOUND`; a volume one of whose snapshots a clone uses is `IN_USE` with the clone
 * in `details.clones`, unchanged (where snapshots can be cloned); failing each step of a flatten
 * in turn leaves the volume's listing, snapshots and bytes as they were.
 *
 * @param kit - the kit of the suite
 */
export function flattenSnapshotSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = flattenFormat(caps);
  const g = gate(format !== undefined, 'capabilities.flatten.toSnapshot lists no tested format that has snapshots');

  const state = async (volid: string): Promise<string> => {
    const snaps = (await kit.manager.volumeSnapshotInfo(volid)).map((s) => s.name).join(',');
    const bytes = createHash('sha256').update(await kit.volumeBytes(volid)).digest('hex').slice(0, 16);
    return `${(await kit.imageSummary()).join(' | ')} || snapshots ${snaps} || bytes ${bytes}`;
  };

  describeGated('flatten to a snapshot', g, () => {
    itGated('the volume takes the bytes and size of an older snapshot, and no snapshot remains', gate(true, ''), async (ctx) => {
      needsHook(kit, ctx);
      const volid = await kit.alloc({ format, units: 2 });
      const a = await written(kit, volid, writes(kit.unit, 0xa1));
      await kit.manager.volumeSnapshot(volid, 'kit1');
      const b = await written(kit, volid, writes(kit.unit, 0xb1, 1), a);
      await kit.manager.volumeSnapshot(volid, 'kit2');
      await written(kit, volid, writes(kit.unit, 0xc1, 2), b);
      await kit.manager.volumeSnapshotFlatten(volid, 'kit1');
      expectBytes(await kit.volumeBytes(volid), a, 'bytes after flattening to kit1');
      expect((await kit.manager.listImages(kit.storeId, { volids: [volid] }))[0]?.size, 'size after flattening').toBe(2 * kit.unit);
      expect(await kit.manager.volumeSnapshotInfo(volid), 'snapshots after flattening').toEqual([]);
      await kit.manager.volumeSnapshot(volid, 'kit1');
    });

    itGated('a snapshot that does not exist is NOT_FOUND, and nothing changes', gate(true, ''), async () => {
      const volid = await kit.alloc({ format });
      await kit.manager.volumeSnapshot(volid, 'kit1');
      const before = await kit.imageSummary();
      await expectCode(kit.manager.volumeSnapshotFlatten(volid, 'kitnone'), 'NOT_FOUND', 'flatten to a missing snapshot');
      expect((await kit.manager.volumeSnapshotInfo(volid)).map((s) => s.name)).toEqual(['kit1']);
      expect(await kit.imageSummary()).toEqual(before);
    });

    itGated(
      'a volume whose snapshot a clone uses is IN_USE, naming the clone, and nothing changes',
      allOf(gate(caps.cloneFromSnapshot, 'capabilities.cloneFromSnapshot is false'), featureGate(caps, 'clone', 'snap')),
      async () => {
        const volid = await kit.alloc({ format });
        await kit.manager.volumeSnapshot(volid, 'kit1');
        await kit.manager.volumeSnapshot(volid, 'kit2');
        const clone = await kit.manager.cloneImage(volid, { vmid: kit.newVmid(), snapshot: 'kit1' });
        const before = await kit.imageSummary();
        const e = await expectCode(kit.manager.volumeSnapshotFlatten(volid, 'kit2'), 'IN_USE', 'flatten while a clone uses kit1');
        expect(e.details['clones'], 'details.clones').toEqual([clone]);
        expect((await kit.manager.volumeSnapshotInfo(volid)).map((s) => s.name)).toEqual(['kit1', 'kit2']);
        expect(await kit.imageSummary()).toEqual(before);
      },
    );

    itGated('failing any one of its steps leaves the volume as it was', gate(caps.faults, 'features.faults is false'), (ctx) =>
      everyStepFailed(kit, ctx, {
        name: 'volumeSnapshotFlatten',
        prepare: async () => {
          const volid = await kit.alloc({ format });
          if (kit.target.volumeData) await kit.fill(volid, writes(kit.unit, 0xa1));
          await kit.manager.volumeSnapshot(volid, 'kit1');
          if (kit.target.volumeData) await kit.fill(volid, writes(kit.unit, 0xb1, 1));
          await kit.manager.volumeSnapshot(volid, 'kit2');
          return volid;
        },
        run: (volid) => kit.manager.volumeSnapshotFlatten(volid, 'kit1'),
        observe: state,
        succeeded: async (volid) => ((await kit.manager.volumeSnapshotInfo(volid)).length === 0 ? undefined : 'snapshots remain'),
      }),
    );
  });
}
