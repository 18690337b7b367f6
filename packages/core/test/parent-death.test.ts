import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { descendantProcesses, waitForProcessesEnded } from '@stowage/core/testing';
import { parentDeathArgv, setprivExecFailure, findSetpriv } from '../src/command/parent-death.js';

const worker = fileURLToPath(new URL('./workers/runner-worker.ts', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
const hasSetpriv = (await findSetpriv()) !== undefined;

const started: number[] = [];
afterEach(() => {
  for (const pid of started.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});

/** Starts the worker running `sleep 300` and waits until the sleep runs; returns the worker and the sleep's pid. */
async function workerWithSleep(dieWithParent: boolean): Promise<{ child: ChildProcess; sleepPid: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', worker, 'run', dieWithParent ? 'yes' : 'no', 'sleep', '300'], { cwd: repoRoot, stdio: 'ignore' });
  started.push(child.pid!);
  for (let i = 0; i < 500; i++) {
    const found = descendantProcesses(child.pid!).find((p) => p.name === 'sleep');
    if (found) {
      started.push(found.pid);
      return { child, sleepPid: found.pid };
    }
    await sleep(20);
  }
  throw new Error('the worker never started sleep');
}

describe('LocalRunner: commands die with the process that started them', () => {
  it.skipIf(!hasSetpriv)('a SIGKILLed Node process takes its running command with it (setpriv --pdeathsig)', async () => {
    const { child, sleepPid } = await workerWithSleep(true);
    child.kill('SIGKILL');
    expect(await waitForProcessesEnded([sleepPid])).toEqual([]);
  });

  it.skipIf(!hasSetpriv)('with dieWithParent: false the command outlives it (what the option prevents)', async () => {
    const { child, sleepPid } = await workerWithSleep(false);
    child.kill('SIGKILL');
    expect(await waitForProcessesEnded([sleepPid], 500)).toEqual([sleepPid]);
  });
});

describe('parent-death helpers', () => {
  it('wraps argv in setpriv --pdeathsig KILL --', () => {
    expect(parentDeathArgv('/usr/bin/setpriv', ['qemu-img', '-x'])).toEqual(['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', 'qemu-img', '-x']);
  });

  it('tells a command setpriv could not start from one that ran and failed (stderr captured from util-linux 2.38)', () => {
    expect(setprivExecFailure(127, 'setpriv: failed to execute nosuchprog-x: No such file or directory\n')).toBe('ENOENT');
    expect(setprivExecFailure(126, 'setpriv: failed to execute /tmp/noexec.sh: Permission denied\n')).toBe('EACCES');
    expect(setprivExecFailure(127, 'sh: 1: foo: not found\n')).toBeUndefined();
    expect(setprivExecFailure(1, 'setpriv: failed to execute x: No such file or directory\n')).toBeUndefined();
  });
});
