/**
 * Concurrency: operations that overlap never share a name, never free each other's volumes, and
 * never see each other's unfinished work as a finished volume.
 *
 * @module
 */
import { PassThrough } from 'node:stream';
import { expect } from 'vitest';
import { isStorageError } from '../../errors.js';
import { encodeSizeHeader } from '../../transfer.js';
import { expectCode } from '../assert.js';
import { firstDifference, patternBytes } from '../bytes.js';
import { allOf, featureGate, formatWith, gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

/** An import fed by the case: the header and the first part at once, the rest when the case says. */
interface HeldImport {
  /** The import's promise. */
  readonly done: Promise<string>;
  /** Resolves once the plugin has read data (the import is under way). */
  readonly flowing: Promise<void>;
  /** Sends the rest and ends the stream. */
  finish(): void;
  /** Breaks the stream, as a sender that died. */
  breakOff(): void;
}

function heldImport(kit: StorageKit, volid: string, data: Buffer): HeldImport {
  const input = new PassThrough();
  let started: () => void = () => undefined;
  const flowing = new Promise<void>((resolve) => {
    started = resolve;
  });
  const half = Math.floor(data.length / 2);
  input.write(encodeSizeHeader(data.length));
  input.write(data.subarray(0, half));
  const done = kit.manager.volumeImport(volid, { format: 'raw+size', input, onProgress: () => started() });
  done.catch(() => undefined);
  // a plugin that fails before reading anything would leave `flowing` pending: settle it then too
  done.then(started, started);
  return {
    done,
    flowing,
    finish: () => input.end(data.subarray(half)),
    breakOff: () => input.destroy(new Error('the sender died')),
  };
}

async function listed(kit: StorageKit, volid: string): Promise<boolean> {
  return (await kit.manager.listImages(kit.storeId, { volids: [volid] })).some((i) => i.volid === volid);
}

/**
 * Checks that overlapping operations stay apart: an allocation while an import (or a copy) runs
 * gets its own name and survives the import's failure or the copy's abort (a clean-up that
 * frees by name would free it); a volume being imported is neither listed nor freeable until the
 * import completes; concurrent snapshots with one name give one snapshot and `ALREADY_EXISTS`
 * for the others.
 *
 * @param kit - the kit of the suite
 */
export function concurrencySuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = caps.formats.includes('raw') ? 'raw' : caps.defaultFormat;
  const imports = gate(caps.importFormats.includes('raw+size'), "capabilities.importFormats lacks 'raw+size'");
  const copies = allOf(imports, gate(caps.exportFormats.includes('raw+size'), "capabilities.exportFormats lacks 'raw+size'"));
  const snapshots = featureGate(caps, 'snapshot', 'current');

  describeGated('overlapping operations', gate(true, ''), () => {
    itGated('an allocation during an import gets another name; both volumes end whole', imports, async () => {
      const vmid = kit.newVmid();
      const target = await kit.vacantVolid(vmid, format);
      const data = patternBytes(2 * kit.unit);
      const held = heldImport(kit, target, data);
      await held.flowing;
      const allocating = kit.alloc({ vmid, format });
      held.finish();
      const [imported, allocated] = await Promise.all([held.done, allocating]);
      expect(imported, 'the import keeps its name').toBe(target);
      expect(allocated, 'the allocation during the import').not.toBe(imported);
      expect(await listed(kit, allocated), `${allocated} is listed`).toBe(true);
      expect(firstDifference(await kit.volumeBytes(imported), data), 'bytes of the import').toBeUndefined();
    });

    itGated("an allocation during an import survives the import's failure", imports, async () => {
      const vmid = kit.newVmid();
      const target = await kit.vacantVolid(vmid, format);
      const before = await kit.imageSummary();
      const held = heldImport(kit, target, patternBytes(2 * kit.unit));
      await held.flowing;
      const allocating = kit.alloc({ vmid, format });
      held.breakOff();
      const error = await held.done.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isStorageError(error), `the broken import fails with a StorageError (got ${String(error)})`).toBe(true);
      const allocated = await allocating;
      const after = await kit.imageSummary();
      expect(after.some((line) => line.startsWith(`${allocated} `)), `the allocation ${allocated} is still there: ${after.join(' | ')}`).toBe(true);
      expect(after.filter((line) => !line.startsWith(`${allocated} `)), 'nothing else is left').toEqual(before);
    });

    itGated("an allocation during a copy gets another name and survives the copy's abort", copies, async () => {
      const vmid = kit.newVmid();
      const source = await kit.importBytes(await kit.vacantVolid(vmid, format), patternBytes(3 * kit.unit));
      const before = await kit.imageSummary();
      const stop = new AbortController();
      let started: () => void = () => undefined;
      const flowing = new Promise<void>((resolve) => {
        started = resolve;
      });
      let allocating: Promise<string> | undefined;
      const copying = kit.manager.copyVolume(source, kit.storeId, {
        signal: stop.signal,
        onProgress: () => {
          if (allocating) return;
          allocating = kit.alloc({ vmid, format });
          started();
        },
      });
      const outcome = copying.then(
        (volid) => ({ volid }),
        (error: unknown) => ({ error }),
      );
      await Promise.race([flowing, outcome]);
      stop.abort();
      const ended = await outcome;
      const allocated = await (allocating ?? kit.alloc({ vmid, format }));
      const after = await kit.imageSummary();
      expect(after.some((line) => line.startsWith(`${allocated} `)), `the allocation ${allocated} is still there: ${after.join(' | ')}`).toBe(true);
      if ('volid' in ended) {
        // the copy finished before the abort reached it: then it must be whole and apart
        expect(ended.volid, 'the copy and the allocation').not.toBe(allocated);
        expect(firstDifference(await kit.volumeBytes(ended.volid), await kit.volumeBytes(source)), 'bytes of the copy').toBeUndefined();
      } else {
        expect(isStorageError(ended.error, 'ABORTED'), `the aborted copy fails with ABORTED (got ${String(ended.error)})`).toBe(true);
        expect(after.filter((line) => !line.startsWith(`${allocated} `)), 'nothing else is left').toEqual(before);
      }
    });

    itGated('a volume being imported is not listed and cannot be freed until the import completes', imports, async () => {
      const vmid = kit.newVmid();
      const target = await kit.vacantVolid(vmid, format);
      const before = await kit.imageSummary();
      const data = patternBytes(2 * kit.unit);
      const held = heldImport(kit, target, data);
      await held.flowing;
      expect(await kit.imageSummary(), 'the listing while the import runs').toEqual(before);
      const freeing = kit.impatient.freeImage(target).then(
        () => 'freed',
        (e: unknown) => (isStorageError(e) ? e.code : String(e)),
      );
      // a plugin that keeps the storage lock for the whole import makes the free wait for it
      // (LOCK_TIMEOUT after 2 s); one that gave the lock back must refuse the unfinished volume itself
      const freed = await freeing;
      expect(freed, 'freeImage of a volume being imported').not.toBe('freed');
      held.finish();
      expect(await held.done, 'the import completes after the refused free').toBe(target);
      expect(await listed(kit, target), 'the finished import is listed').toBe(true);
      expect(firstDifference(await kit.volumeBytes(target), data), 'bytes of the finished import').toBeUndefined();
    });

    itGated('concurrent snapshots with one name: one is taken, the others are ALREADY_EXISTS', snapshots, async () => {
      const volid = await kit.alloc({ format: formatWith(caps, 'snapshot', 'current') });
      const outcomes = await Promise.all(
        [0, 1, 2, 3].map((i) =>
          kit.manager.volumeSnapshot(volid, 'kitdup').then(
            () => 'ok',
            (e: unknown) => (isStorageError(e) ? e.code : `${i}: ${String(e)}`),
          ),
        ),
      );
      expect([...outcomes].sort(), 'outcomes of four concurrent snapshots named kitdup').toEqual(['ALREADY_EXISTS', 'ALREADY_EXISTS', 'ALREADY_EXISTS', 'ok']);
      const names = (await kit.manager.volumeSnapshotInfo(volid)).map((s) => s.name);
      expect(names.filter((n) => n === 'kitdup'), 'snapshots named kitdup').toEqual(['kitdup']);
      await expectCode(kit.manager.volumeSnapshot(volid, 'kitdup'), 'ALREADY_EXISTS', 'a fifth snapshot named kitdup');
    });
  });
}
