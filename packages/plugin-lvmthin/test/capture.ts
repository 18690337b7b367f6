/**
 * Captures the fixtures of the unit tests on real LVM in the testbed guest: runs every scenario
 * of `support/scenarios.ts` through a recording runner and writes, per scenario,
 * `fixtures/<name>.json` (every command with its exact output, the core's fixture format) and
 * `fixtures/<name>.outcomes.json` (what each plugin call returned or threw).
 *
 * The scenarios run in a volume group of their own (`stowcap`, extent size 64 KiB, thin pool
 * `pool`) on a loop device in the guest, so they neither see nor touch the testbed's pools.
 *
 * Run: `pnpm testbed up`, then `npx tsx packages/plugin-lvmthin/test/capture.ts [scenario...]`
 * (or through the testbed's `pnpm testbed capture`, which imports {@link captureLvmThinFixtures}).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isStorageError } from '@stowage/core';
import { RecordingRunner } from '@stowage/core/testing';
import { type CommandRunner } from '@stowage/core/plugin';
import { LvmThinPlugin } from '../src/lvmthin-plugin.js';
import { captureContext } from './support/context.js';
import { dropLoopVg, loopVg, outcomeOf, SCENARIOS, type Outcome } from './support/scenarios.js';

/** Where the fixtures go. */
export const FIXTURES_DIR = fileURLToPath(new URL('./fixtures/', import.meta.url));

const PREPARE = `set -e
modprobe loop 2>/dev/null || true
${loopVg('stowcap', '/var/tmp/stowcap.img', '8G')}
lvcreate -q -y --type thin-pool -L 256M --chunksize 64k -n pool stowcap >/dev/null
udevadm settle --timeout=30`;

const TEARDOWN = `${dropLoopVg('stowcap', '/var/tmp/stowcap.img')}
${dropLoopVg('stowmeta', '/var/tmp/stowmeta.img')}
rm -f /run/stowcap-hold.pid`;

/** Options of {@link captureLvmThinFixtures}. */
export interface CaptureOptions {
  /** A runner into the guest. */
  readonly runner: CommandRunner;
  /** Where to write (default {@link FIXTURES_DIR}). */
  readonly dir?: string;
  /** Only these scenarios (default: all). */
  readonly only?: readonly string[];
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/**
 * Runs the scenarios on real LVM and writes their fixtures.
 *
 * @param options - runner, directory, scenario filter
 * @returns the names of the scenarios written
 */
export async function captureLvmThinFixtures(options: CaptureOptions): Promise<string[]> {
  const { runner, dir = FIXTURES_DIR, log = () => {} } = options;
  const plugin = new LvmThinPlugin();
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  await runner.run(['sh', '-c', PREPARE], { timeoutMs: 300_000 });
  try {
    for (const scenario of SCENARIOS) {
      if (options.only?.length && !options.only.includes(scenario.name)) continue;
      const recorder = new RecordingRunner(runner);
      const outcomes: Array<{ step: string; outcome: Outcome }> = [];
      for (const step of scenario.steps) {
        if ('guest' in step) {
          await step.guest(runner);
          continue;
        }
        const outcome = await outcomeOf(
          step.call(plugin, captureContext(recorder, scenario.config)).catch((e: unknown) => {
            if (isStorageError(e, 'UNAVAILABLE')) log(`${scenario.name}: ${step.name}: ${e.message} ${JSON.stringify(e.details)}`);
            throw e;
          }),
        );
        // A lost ssh connection says nothing about LVM: such a capture is not kept.
        if ('code' in outcome && outcome.code === 'UNAVAILABLE') throw new Error(`${scenario.name}: ${step.name}: the ssh connection to the guest failed; capture again`);
        log(`${scenario.name}: ${step.name}: ${JSON.stringify(outcome).slice(0, 160)}`);
        outcomes.push({ step: step.name, outcome });
      }
      await recorder.save(join(dir, `${scenario.name}.json`));
      await writeFile(join(dir, `${scenario.name}.outcomes.json`), `${JSON.stringify(outcomes, null, 2)}\n`);
      written.push(scenario.name);
    }
  } finally {
    await runner.run(['sh', '-c', TEARDOWN], { timeoutMs: 300_000 });
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { testbedRunner } = await import('../../testbed/src/ssh.js');
  const names = await captureLvmThinFixtures({ runner: testbedRunner(), only: process.argv.slice(2), log: (l) => console.log(l) });
  console.log(`wrote ${names.length} scenario(s) to ${FIXTURES_DIR}`);
}
