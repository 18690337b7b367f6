/**
 * Children that die with this process. A command started through util-linux `setpriv
 * --pdeathsig KILL -- <argv>` has the kernel's parent-death signal set before it runs
 * (`prctl(PR_SET_PDEATHSIG)`), so it is killed when the process that started it ends, even by
 * SIGKILL, when nothing in Node gets a chance to stop it. Whether `setpriv` is there (and knows
 * `--pdeathsig`, util-linux 2.33 and later) is checked once per process.
 *
 * @module
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, isAbsolute, join } from 'node:path';

const found = new Map<string, Promise<string | undefined>>();

function onPath(name: string): string | undefined {
  if (isAbsolute(name)) return name;
  for (const dir of (process.env['PATH'] ?? '').split(delimiter)) {
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Finds a `setpriv` that supports `--pdeathsig`: looked up on `PATH` (or taken as given when
 * absolute), then tried once with `true`. The answer is cached per name for the process.
 *
 * @param name - `setpriv`, or an absolute path to it
 * @returns its path, or `undefined` when there is none that works
 */
export function findSetpriv(name = 'setpriv'): Promise<string | undefined> {
  let answer = found.get(name);
  if (!answer) {
    answer = new Promise((resolve) => {
      const path = onPath(name);
      if (path === undefined) return resolve(undefined);
      // node:child_process is imported here, on the first command: importing the core runs none
      void import('node:child_process').then(({ execFile }) =>
        execFile(path, parentDeathArgv(path, ['true']).slice(1), { timeout: 10_000 }, (error) => resolve(error ? undefined : path)),
      );
    });
    found.set(name, answer);
  }
  return answer;
}

/**
 * The argv that runs `argv` with the parent-death signal KILL set. Pure.
 *
 * @param setpriv - the path of `setpriv`
 * @param argv - the command (program first)
 * @returns `[setpriv, '--pdeathsig', 'KILL', '--', ...argv]`
 * @example
 * ```ts
 * parentDeathArgv('/usr/bin/setpriv', ['qemu-img', 'info', 'a.qcow2']);
 * // ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', 'qemu-img', 'info', 'a.qcow2']
 * ```
 */
export function parentDeathArgv(setpriv: string, argv: readonly string[]): string[] {
  return [setpriv, '--pdeathsig', 'KILL', '--', ...argv];
}

const EXEC_FAILED_RE = /^setpriv: failed to execute [^\n]*?: ([^\n]+)$/m;

/**
 * Tells whether a command started through `setpriv` never ran because `setpriv` could not
 * execute it (exit 127: not found, 126: not executable), and why. Pure.
 *
 * @param exitCode - setpriv's exit code
 * @param stderr - its standard error
 * @returns `ENOENT` or `EACCES` (or the message text for other reasons), or `undefined` when the command ran
 */
export function setprivExecFailure(exitCode: number | undefined, stderr: string): string | undefined {
  if (exitCode !== 126 && exitCode !== 127) return undefined;
  const m = EXEC_FAILED_RE.exec(stderr);
  if (!m) return undefined;
  const why = m[1] ?? '';
  if (/No such file or directory/.test(why)) return 'ENOENT';
  if (/Permission denied/.test(why)) return 'EACCES';
  return why;
}
