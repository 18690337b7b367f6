/**
 * Fault injection: failing any one step (a command, or a call of `ctx.fs`) of a multi-step
 * operation leaves the storage as it was, with a clear error.
 *
 * @module
 */
import { it } from 'vitest';
import { allOf, featureGate, formatWith, gate, type Gate } from '../gates.js';
import { patternBytes } from '../bytes.js';
import type { StorageKit } from '../kit.js';
import type { KitTarget } from '../options.js';
import { describeGated } from './gated.js';
import { everyStepFailed } from './step-faults.js';

/** One operation the fault cases break step by step. */
interface FaultOperation {
  /** Its name in titles. */
  readonly name: string;
  /** When it runs. */
  readonly gate: Gate;
  /** Makes what the operation needs; called before an attempt, unless a failed one left the storage as it was. */
  prepare(kit: StorageKit): Promise<string | undefined>;
  /** Runs it on what `prepare` made; returns the volid it made or changed. */
  run(kit: StorageKit, prepared: string | undefined): Promise<string>;
}

function operations(kit: StorageKit): FaultOperation[] {
  const caps = kit.caps;
  const template = featureGate(caps, 'template', 'current');
  const cloneFormat = formatWith(caps, 'clone', 'base');
  const importFormat = caps.formats.includes('raw') ? 'raw' : caps.defaultFormat;
  let base: string | undefined;
  return [
    { name: 'allocImage', gate: gate(true, ''), prepare: async () => undefined, run: (k) => k.alloc() },
    {
      name: 'createBase',
      gate: template,
      prepare: (k) => k.alloc({ format: formatWith(caps, 'template', 'current') }),
      run: (k, volid) => k.manager.createBase(volid!),
    },
    {
      name: 'cloneImage',
      gate: allOf(template, featureGate(caps, 'clone', 'base')),
      prepare: async (k) => (base ??= await k.manager.createBase(await k.alloc({ format: cloneFormat }))),
      run: (k, b) => k.manager.cloneImage(b!, { vmid: k.newVmid() }),
    },
    {
      name: 'volumeImport',
      gate: gate(caps.importFormats.includes('raw+size'), "capabilities.importFormats lacks 'raw+size'"),
      prepare: (k) => k.vacantVolid(k.newVmid(), importFormat),
      run: (k, target) => k.importBytes(target!, patternBytes(k.unit)),
    },
  ];
}

/**
 * For each multi-step operation (`allocImage`, `createBase`, `cloneImage`, `volumeImport`, as
 * declared): counts the steps it takes (the commands it runs and the calls it makes through
 * `ctx.fs`), then for k = 1..n fails the k-th step through the `FaultInjectingRunner` (or the
 * target's own {@link KitTarget.faults} injector) and checks that the call throws a
 * {@link @stowage/core!index.StorageError | StorageError} and that the storage's listing is
 * exactly what it was before. (When the failed step was one the plugin may tolerate, the call may
 * succeed instead: then its result must be listed.) An operation that took no steps is skipped
 * with that reason. A failed attempt that left the storage as it was is followed by the next one
 * on the same preparation; a fresh one is made after an attempt that succeeded or changed
 * something.
 *
 * @param kit - the kit of the suite
 */
export function faultSuite(kit: StorageKit): void {
  describeGated('failures leave nothing behind', gate(kit.caps.faults, 'features.faults is false'), () => {
    for (const { name, gate: g } of operations(kit)) {
      if (!g.ok) {
        it(`${name} (skipped: ${g.reason})`, (ctx) => ctx.skip(g.reason));
        continue;
      }
      it(`${name}: failing any one of its commands leaves the storage as it was`, async (ctx) => {
        const op = operations(kit).find((o) => o.name === name)!;
        await everyStepFailed(kit, ctx, {
          name: op.name,
          prepare: () => op.prepare(kit),
          run: (prepared) => op.run(kit, prepared),
          observe: async () => (await kit.imageSummary()).join(' | '),
          succeeded: async (_prepared, made) => ((await kit.imageSummary()).some((line) => line.startsWith(`${made} `)) ? undefined : `it made ${made}, which is not listed`),
        });
      });
    }
  });
}
