/**
 * Confinement: hostile files placed in the storage (images that point outside it, named pipes,
 * symbolic links) make no verb read or write outside the storage, and none block.
 *
 * @module
 */
import { createHash } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect } from 'vitest';
import { isStorageError } from '../../errors.js';
import { byteSink, patternBytes } from '../bytes.js';
import { gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import type { HostileKind } from '../options.js';
import { describeGated, itGated } from './gated.js';

const KINDS: readonly HostileKind[] = ['backing-outside', 'backing-protocol', 'data-file-outside', 'extent-outside', 'fifo', 'symlink-outside', 'symlink-to-fifo'];

/** How long a verb may take before the kit calls it blocked: far beyond any honest refusal. */
const BLOCKED_MS = 20_000;

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown } | { blocked: true };

async function settle(promise: Promise<unknown>): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const blocked = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve({ blocked: true }), BLOCKED_MS);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      blocked,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function describeOutcome(o: Outcome): string {
  if ('blocked' in o) return `did not settle within ${BLOCKED_MS} ms`;
  if (o.ok) return `succeeded (${JSON.stringify(o.value)?.slice(0, 120)})`;
  return isStorageError(o.error) ? `${o.error.code}: ${o.error.message}` : `non-StorageError ${String(o.error)}`;
}

/**
 * For each kind of hostile file that `setup`'s {@link KitTarget.hostile} can place: every verb
 * settles (none blocks on a named pipe), every verb that would hand the image to a tool or a
 * guest (path, activation, snapshots, resize, export, copy, template, clone) refuses with a
 * {@link @stowage/core!index.StorageError | StorageError}, the export carries none of the outside
 * file's bytes, and the outside file is unchanged afterwards (not grown, not written). Listing
 * and freeing must settle; freeing may remove the hostile entry itself, never its target.
 *
 * @param kit - the kit of the suite
 */
export function hostileSuite(kit: StorageKit): void {
  describeGated('hostile files in the storage', gate(true, ''), () => {
    for (const kind of KINDS) {
      itGated(`${kind}: no verb reads or writes outside the storage, and none blocks`, gate(true, ''), async (ctx) => {
        const hostile = kit.target.hostile;
        if (!hostile) ctx.skip('setup returned no hostile (KitTarget.hostile): the kit cannot place hostile files');
        const secret = patternBytes(kit.unit);
        const outside = join(kit.tmp, `outside-${kind}.img`);
        await writeFile(outside, secret);
        const digest = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
        const volid = await hostile!.place({ kind, vmid: kit.newVmid(), outside });
        if (volid === undefined) ctx.skip(`the storage cannot hold a '${kind}' file`);
        const v = volid!;
        const m = kit.manager;
        const sink = byteSink();
        const problems: string[] = [];
        const mustSettle: [string, () => Promise<unknown>][] = [
          ['listImages', () => m.listImages(kit.storeId)],
          ['listVolumes', () => m.listVolumes(kit.storeId)],
          ['volumeSizeInfo', () => m.volumeSizeInfo(v)],
        ];
        const mustRefuse: [string, () => Promise<unknown>][] = [
          ['path', () => m.path(v)],
          ['activateVolume', () => m.activateVolume(v)],
          ['volumeSnapshotInfo', () => m.volumeSnapshotInfo(v)],
          ['volumeSnapshot', () => m.volumeSnapshot(v, 'kithostile')],
          ['volumeSnapshotRollback', () => m.volumeSnapshotRollback(v, 'kithostile')],
          ['volumeResize', () => m.volumeResize(v, 4 * kit.unit)],
          ['volumeExport', () => m.volumeExport(v, { format: 'raw+size', output: sink.stream })],
          ['copyVolume', () => m.copyVolume(v, kit.storeId)],
          ['createBase', () => m.createBase(v)],
          ['cloneImage', () => m.cloneImage(v, { vmid: kit.newVmid() })],
        ];
        for (const [name, run] of mustSettle) {
          const o = await settle(run());
          if ('blocked' in o) problems.push(`${name}: ${describeOutcome(o)}`);
          else if (!o.ok && !isStorageError(o.error)) problems.push(`${name}: ${describeOutcome(o)}`);
        }
        for (const [name, run] of mustRefuse) {
          const o = await settle(run());
          if ('blocked' in o || o.ok || !isStorageError(o.error)) problems.push(`${name}: ${describeOutcome(o)}`);
        }
        const exported = sink.bytes();
        if (secret.length > 0 && exported.includes(secret.subarray(0, Math.min(4096, secret.length)))) {
          problems.push('volumeExport: the stream carries the outside file\'s bytes');
        }
        const freed = await settle(m.freeImage(v));
        if ('blocked' in freed) problems.push(`freeImage: ${describeOutcome(freed)}`);
        const after = await readFile(outside);
        if (after.length !== secret.length || digest(after) !== digest(secret)) problems.push(`the outside file changed (${secret.length} -> ${after.length} bytes)`);
        expect((await stat(outside)).isFile(), 'the outside file still exists').toBe(true);
        expect(problems, `verbs on a '${kind}' file at ${v}`).toEqual([]);
      });
    }
  });
}
