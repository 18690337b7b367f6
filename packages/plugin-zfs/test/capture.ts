/**
 * Captures the fixtures of the unit tests on real ZFS in the testbed guest: runs every scenario
 * of `support/scenarios.ts` through a recording runner and writes, per scenario,
 * `fixtures/scenarios/<name>.json` (every command with its exact output, the core's fixture
 * format) and `fixtures/scenarios/<name>.outcomes.json` (what each plugin call returned or threw).
 *
 * The scenarios run in a pool of their own (`stowzcap`, on a sparse file in the guest), so they
 * neither see nor touch the testbed's pools.
 *
 * Run: `pnpm testbed up`, then `npx tsx packages/plugin-zfs/test/capture.ts [scenario...]`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { RecordingRunner } from '@stowage/core/testing';
import { type CommandRunner } from '@stowage/core/plugin';
import { ZfsPoolPlugin } from '../src/zfs-plugin.js';
import { CAPTURE_POOL, captureContext } from './support/context.js';
import { outcomeOf, SCENARIOS, type Outcome } from './support/scenarios.js';

/** Where the scenario fixtures go. */
export const SCENARIO_DIR = fileURLToPath(new URL('./fixtures/scenarios/', import.meta.url));

const IMAGE = `/var/tmp/${CAPTURE_POOL}.img`;

const PREPARE = `set -e
if zpool list -H -o name ${CAPTURE_POOL} >/dev/null 2>&1; then zpool destroy -f ${CAPTURE_POOL}; fi
rm -f ${IMAGE}
truncate -s 512M ${IMAGE}
zpool create -f -O mountpoint=/${CAPTURE_POOL} ${CAPTURE_POOL} ${IMAGE}
zfs create ${CAPTURE_POOL}/cap
udevadm settle --timeout=30`;

const TEARDOWN = `if [ -f /run/stowzcap-hold.pid ]; then kill $(cat /run/stowzcap-hold.pid) 2>/dev/null; rm -f /run/stowzcap-hold.pid; sleep 1; fi
if zpool list -H -o name ${CAPTURE_POOL} >/dev/null 2>&1; then zpool destroy -f ${CAPTURE_POOL}; fi
rm -f ${IMAGE}`;

/** Every exit code: the tool-error capture keeps failures as they are. */
const ANY_EXIT = Array.from({ length: 256 }, (_, code) => code);

const D = `${CAPTURE_POOL}/errs`;

/**
 * Failures of the ZFS tools that the plugin's own checks keep it from running into (it refuses
 * first), captured anyway so that `errors.test.ts` classifies what the tools really print:
 * prepared by a shell script, then each command recorded with whatever it exits with.
 */
export const TOOL_ERRORS = {
  setup: `set -e
zfs create ${D}
zfs create -s -V 1M ${D}/vm-1-disk-0
zfs snapshot ${D}/vm-1-disk-0@a
zfs snapshot ${D}/vm-1-disk-0@b
zfs clone ${D}/vm-1-disk-0@b ${D}/vm-2-disk-0
zfs create -o refquota=1M ${D}/subvol-3-disk-0
head -c 300000 /dev/zero > /${D}/subvol-3-disk-0/fill
zfs unmount ${D}/subvol-3-disk-0 || true
sync`,
  commands: [
    ['zfs', 'rollback', `${D}/vm-1-disk-0@a`],
    ['zfs', 'rollback', '-r', `${D}/vm-1-disk-0@a`],
    ['zfs', 'destroy', '-r', `${D}/vm-1-disk-0`],
    ['zfs', 'set', 'volsize=1k', `${D}/vm-1-disk-0`],
    ['zfs', 'unmount', `${D}/subvol-3-disk-0`],
    ['zfs', 'mount', `${D}/subvol-3-disk-0`],
    ['zfs', 'mount', `${D}/subvol-3-disk-0`],
    ['zfs', 'set', 'refquota=64k', `${D}/subvol-3-disk-0`],
    ['zfs', 'get', '-Hp', '-o', 'value', 'mounted,refquota,pve-storage:refquota', `${D}/subvol-3-disk-0`],
    ['zfs', 'create', '-V', '1M', `${D}/vm-1-disk-0/child`],
    // freeImage looks the volume up first now; what zfs destroy says of a missing one stays captured
    ['zfs', 'destroy', '-r', `${D}/vm-404-disk-0`],
  ],
} as const;

/** Options of {@link captureZfsFixtures}. */
export interface CaptureOptions {
  /** A runner into the guest. */
  readonly runner: CommandRunner;
  /** Where to write (default {@link SCENARIO_DIR}). */
  readonly dir?: string;
  /** Only these scenarios (default: all). */
  readonly only?: readonly string[];
  /** Progress lines. */
  readonly log?: (line: string) => void;
}

/**
 * Runs the scenarios on real ZFS and writes their fixtures.
 *
 * @param options - runner, directory, scenario filter
 * @returns the names of the scenarios written
 */
export async function captureZfsFixtures(options: CaptureOptions): Promise<string[]> {
  const { runner, dir = SCENARIO_DIR, log = () => {} } = options;
  await mkdir(dir, { recursive: true });
  const written: string[] = [];
  await runner.run(['sh', '-c', PREPARE], { timeoutMs: 300_000 });
  try {
    for (const scenario of SCENARIOS) {
      if (options.only?.length && !options.only.includes(scenario.name)) continue;
      const plugin = new ZfsPoolPlugin();
      plugin.tuning = { ...plugin.tuning, ...scenario.tuning };
      const recorder = new RecordingRunner(runner);
      const state = new Map<string, Buffer>();
      const outcomes: Array<{ step: string; outcome: Outcome }> = [];
      for (const step of scenario.steps) {
        if ('guest' in step) {
          await step.guest(runner);
          continue;
        }
        const outcome = await outcomeOf(step.call(plugin, captureContext(recorder, scenario.config), state));
        log(`${scenario.name}: ${step.name}: ${JSON.stringify(outcome).slice(0, 200)}`);
        outcomes.push({ step: step.name, outcome });
      }
      await recorder.save(join(dir, `${scenario.name}.json`));
      await writeFile(join(dir, `${scenario.name}.outcomes.json`), `${JSON.stringify(outcomes, null, 2)}\n`);
      written.push(scenario.name);
    }
    const version = (await runner.run(['sh', '-c', 'uname -r; zfs version'])).stdout.trim().split('\n').join(', ');
    await writeFile(
      join(dir, 'captured.md'),
      `# Captured ZFS runs\n\nWritten by \`packages/plugin-zfs/test/capture.ts\` in the testbed guest (${version}): per scenario of\n\`test/support/scenarios.ts\`, \`<name>.json\` holds every command the plugin ran with its exact output\n(the core's fixture format) and \`<name>.outcomes.json\` what each call returned or threw;\n\`tool-errors.json\` holds failures of the tools the plugin's own checks keep it from meeting.\nDo not edit by hand; capture again.\n`,
    );
    if (!options.only?.length || options.only.includes('tool-errors')) {
      await runner.run(['sh', '-c', TOOL_ERRORS.setup], { timeoutMs: 300_000 });
      const recorder = new RecordingRunner(runner);
      for (const argv of TOOL_ERRORS.commands) await recorder.run(argv, { okExitCodes: ANY_EXIT });
      await recorder.save(join(dir, 'tool-errors.json'));
      written.push('tool-errors');
    }
  } finally {
    await runner.run(['sh', '-c', TEARDOWN], { timeoutMs: 300_000 });
  }
  return written;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const { testbedRunner } = await import('../../testbed/src/ssh.js');
  const runner = testbedRunner();
  const names = await captureZfsFixtures({ runner, only: process.argv.slice(2), log: (l) => console.log(l) });
  console.log(`wrote ${names.length} scenario(s) to ${SCENARIO_DIR}`);
  await runner.close();
}
