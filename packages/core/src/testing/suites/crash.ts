/**
 * Crashes: an operation whose process is killed mid-way (SIGKILL: no clean-up runs) leaves
 * nothing that lists as a volume, and the next operation removes what it left.
 *
 * @module
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isStorageError } from '../../errors.js';
import type { GarbageReport } from '../../plugin-types.js';
import { encodeSizeHeader } from '../../transfer.js';
import type { ChildJob } from '../child/operation-worker.js';
import { firstDifference, patternBytes } from '../bytes.js';
import { gate } from '../gates.js';
import type { StorageKit } from '../kit.js';
import { describeGated, itGated } from './gated.js';

/** The worker script next to this module: `.ts` when the kit runs from its sources (then tsx loads it), else `.js`. */
function workerCommand(): { file: string; execArgv: string[] } {
  const self = import.meta.url;
  const ext = self.endsWith('.ts') ? 'ts' : 'js';
  const file = fileURLToPath(new URL(`../child/operation-worker.${ext}`, self));
  return { file, execArgv: ext === 'ts' ? ['--import', 'tsx'] : [] };
}

interface RunningChild {
  readonly child: ChildProcessWithoutNullStreams;
  /** Resolves when the child printed `line` (or rejects when it exited first, with its stderr). */
  waitFor(line: string): Promise<void>;
  /** Resolves with the exit code or signal. */
  readonly exited: Promise<number | string>;
}

function startChild(kit: StorageKit, op: ChildJob['op']): RunningChild {
  const spec = kit.target.child!;
  const job: ChildJob = {
    coreModule: spec.coreModule ?? '@stowage/core',
    pluginModule: spec.pluginModule,
    pluginExport: spec.pluginExport,
    runner: spec.runner,
    config: kit.target.config,
    lockDir: kit.lockDir,
    sharedLockDir: kit.sharedLockDir,
    node: kit.node,
    op,
  };
  const { file, execArgv } = workerCommand();
  const child = spawn(process.execPath, [...execArgv, file, JSON.stringify(job)], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const waiters: { line: string; resolve: () => void; reject: (e: Error) => void }[] = [];
  let how: number | string | undefined;
  const printed = (line: string): boolean => out.split('\n').some((l) => l === line || l.startsWith(`${line} `));
  const exitedBefore = (line: string): Error => new Error(`the child exited (${how}) before printing '${line}': ${err.trim() || out.trim()}`);
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk;
    for (const w of [...waiters]) {
      if (printed(w.line)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk;
  });
  child.stdin.on('error', () => undefined); // the child may die with our writes in flight
  const exited = new Promise<number | string>((resolve) => child.once('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  void exited.then((code) => {
    how = code;
    for (const w of waiters.splice(0)) w.reject(exitedBefore(w.line));
  });
  return {
    child,
    exited,
    // the line may have come before the case asks for it, or the child may be gone already
    waitFor: (line) =>
      new Promise<void>((resolve, reject) => {
        if (printed(line)) resolve();
        else if (how !== undefined) reject(exitedBefore(line));
        else waiters.push({ line, resolve, reject });
      }),
  };
}

function write(child: ChildProcessWithoutNullStreams, data: Buffer): Promise<void> {
  return new Promise((resolve) => {
    // a child that died never drains: its stdin closes instead
    if (!child.stdin.write(data)) {
      child.stdin.once('drain', resolve);
      child.stdin.once('close', resolve);
    }
    else resolve();
  });
}

async function garbage(kit: StorageKit): Promise<GarbageReport | undefined> {
  try {
    return await kit.manager.collectGarbage(kit.storeId, { dryRun: true });
  } catch (e) {
    if (isStorageError(e, 'NOT_SUPPORTED')) return undefined;
    throw e;
  }
}

/**
 * Kills an import in a child process (see {@link KitTarget.child}) with SIGKILL while its data
 * flows, then checks: nothing new is listed; importing the same name again succeeds (nothing
 * half-made holds the name) and gives back the bytes; and, for a plugin with `collectGarbage`,
 * nothing owned by the killed process is left once the kit's manager (which collects before
 * every operation) has run one operation.
 *
 * @param kit - the kit of the suite
 */
export function crashSuite(kit: StorageKit): void {
  const caps = kit.caps;
  const format = caps.formats.includes('raw') ? 'raw' : caps.defaultFormat;
  const imports = gate(caps.importFormats.includes('raw+size'), "capabilities.importFormats lacks 'raw+size'");
  describeGated('killed operations leave nothing half-made', gate(true, ''), () => {
    itGated('an import killed mid-stream leaves nothing listed, and the next operation clears what it left', imports, async (ctx) => {
      if (!kit.target.child) ctx.skip('setup returned no child (KitTarget.child): the kit cannot run operations in a child process');
      const vmid = kit.newVmid();
      const target = await kit.vacantVolid(vmid, format);
      const before = await kit.imageSummary();
      const data = patternBytes(4 * kit.unit);
      const running = startChild(kit, { kind: 'import', volid: target });
      try {
        await write(running.child, encodeSizeHeader(data.length));
        await write(running.child, data.subarray(0, kit.unit));
        await running.waitFor('started');
        // more data, so that the plugin is writing, not only reading the header
        await write(running.child, data.subarray(kit.unit, 2 * kit.unit));
      } finally {
        running.child.kill('SIGKILL');
      }
      const how = await running.exited;
      expect(how, 'the child was killed').toBe('SIGKILL');
      expect(await kit.imageSummary(), 'what is listed after the kill').toEqual(before);

      const again = await kit.importBytes(target, data);
      expect(again, 'importing the same name again').toBe(target);
      expect(firstDifference(await kit.volumeBytes(again), data), 'bytes of the second import').toBeUndefined();
      const report = await garbage(kit);
      if (report) {
        const mine = [...report.removed, ...report.kept].filter((i) => i.owner?.split(':')[2] === String(running.child.pid));
        expect(mine, 'temporaries of the killed process left after the next operation').toEqual([]);
      }
    });
  });
}
