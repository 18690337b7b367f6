/**
 * The shape of a fixture capture case: commands run in the guest whose exact output is kept.
 *
 * @module
 */

/** One capture case: written to `<fixtures dir>/<file>` as a list of command fixtures. */
export interface CaptureCase {
  /** The fixture file name, e.g. `lvcreate-exists.json`. */
  readonly file: string;
  /** One sentence: what the case shows (listed in the generated `captured.md`). */
  readonly about: string;
  /** Commands run before, not recorded; each must succeed. */
  readonly setup?: readonly (readonly string[])[];
  /** The recorded commands, in order; any exit code is kept as it is. */
  readonly commands: readonly (readonly string[])[];
  /** Commands run after, not recorded; failures are ignored. */
  readonly cleanup?: readonly (readonly string[])[];
}

/**
 * A shell command line for setup steps that need one (backgrounding a holder of a device).
 * Only ever used with constant text written in this package.
 *
 * @param script - the shell script
 * @returns argv running it with `sh -c`
 */
export function sh(script: string): string[] {
  return ['sh', '-c', script];
}

/**
 * A setup step that keeps a block device open in the background (so that removing it fails as
 * busy), recording the holder's pid in `/run/<tag>.pid` for {@link releaseDevice}.
 *
 * @param device - the device path
 * @param tag - a file name for the pid
 * @returns argv
 */
export function holdDevice(device: string, tag: string): string[] {
  return sh(`sleep 600 < ${device} > /dev/null 2>&1 & echo $! > /run/${tag}.pid`);
}

/**
 * The cleanup step matching {@link holdDevice}.
 *
 * @param tag - the file name used when holding
 * @returns argv
 */
export function releaseDevice(tag: string): string[] {
  return sh(`kill $(cat /run/${tag}.pid) 2>/dev/null; rm -f /run/${tag}.pid; sleep 1`);
}
