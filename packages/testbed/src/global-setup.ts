/**
 * The vitest global setup of `pnpm test:real`: makes sure the image is built, the guest is up
 * and the pools are fresh before any real-storage test runs, and stops the guest afterwards
 * (when this run started it).
 *
 * @module
 */
import { ensureImage } from './build.js';
import { freshPools } from './pools.js';
import { runProgram } from './proc.js';
import { testbedRunner } from './ssh.js';
import { adoptOrphan, down, up } from './vm.js';

/** Timings of one {@link prepareTestbed}, in seconds. */
export interface TestbedTimings {
  /** The image build (0 when it was cached). */
  readonly buildSeconds: number;
  /** Starting QEMU until ssh answered (0 when the guest was already up). */
  readonly bootSeconds: number;
  /** Recreating the pools. */
  readonly poolsSeconds: number;
}

/** What {@link prepareTestbed} did. */
export interface PreparedTestbed {
  /** Whether this call started the guest. */
  readonly started: boolean;
  /**
   * Whether the caller should stop the guest when done: it started it, or took over the guest
   * of an earlier run of the same owner that was killed before it could stop it.
   */
  readonly owned: boolean;
  /** How long each step took. */
  readonly timings: TestbedTimings;
}

/**
 * The one-line reason the testbed cannot run here, or `undefined` when it can: QEMU and
 * `qemu-img` must be installed.
 *
 * @returns the reason, or undefined
 */
export async function missingTools(): Promise<string | undefined> {
  const missing: string[] = [];
  for (const [tool, pkg] of [
    ['qemu-system-x86_64', 'qemu-system-x86'],
    ['qemu-img', 'qemu-utils'],
    ['ssh', 'openssh-client'],
  ] as const) {
    const found = await runProgram('sh', ['-c', `command -v ${tool}`]).then((r) => r.code === 0);
    if (!found) missing.push(pkg);
  }
  if (missing.length === 0) return undefined;
  const how = process.getuid?.() === 0 ? 'install them with' : 'not root, so cannot install them; ask for';
  return `testbed: ${missing.join(', ')} missing; ${how} \`apt-get install ${missing.join(' ')}\` (or run ./scripts/dev test:real as root)`;
}

/**
 * Builds the image if needed, boots the guest if it is not up, and recreates the pools.
 *
 * @param owner - record this process as the guest's owner under this label (default
 *   `test:real`); a guest left by a killed run of the same owner is taken over
 * @returns whether the guest was started or taken over, and timings
 * @throws Error when a step fails
 * @example
 * ```ts
 * const { owned } = await prepareTestbed();
 * // ... run tests with testbedRunner() ...
 * if (owned) await down();
 * ```
 */
export async function prepareTestbed(owner = 'test:real'): Promise<PreparedTestbed> {
  const image = await ensureImage();
  const { state, started } = await up({ image, owner });
  const owned = started || (await adoptOrphan(owner));
  const pools = await freshPools(testbedRunner());
  return {
    started,
    owned,
    timings: { buildSeconds: image.built ? image.buildSeconds : 0, bootSeconds: started ? state.bootSeconds : 0, poolsSeconds: pools.seconds },
  };
}

/**
 * vitest `globalSetup`: prepares the testbed and returns the teardown, which stops the guest
 * if this run started it, or took it over from a killed run (a guest brought up by hand with
 * `pnpm testbed up` is left running).
 * Without QEMU it prints one line and exits non-zero.
 *
 * @returns the teardown
 */
export async function setup(): Promise<() => Promise<void>> {
  const missing = await missingTools();
  if (missing) {
    console.error(missing);
    process.exit(1);
  }
  const { started, owned, timings } = await prepareTestbed();
  const guest = started ? `booted in ${timings.bootSeconds} s` : owned ? 'taken over from a killed run' : 'already up (left running)';
  console.log(
    `testbed: image ${timings.buildSeconds ? `built in ${timings.buildSeconds} s` : 'cached'}, guest ${guest}, fresh pools in ${timings.poolsSeconds} s`,
  );
  return async () => {
    await testbedRunner().close().catch(() => undefined);
    if (owned) await down();
  };
}
