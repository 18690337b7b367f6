import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { down, ensureImage, instancePaths, readState, status, testbedRunner, up } from '@stowage/testbed';
import { processesMentioning } from '../src/proc.js';

// A second, private instance (its own directory, port and disks), so that starting and
// stopping it never disturbs the guest the other real tests use.
const dir = await mkdtemp(join(tmpdir(), 'stowage-testbed-vm-'));
afterAll(async () => {
  await down(dir);
  await rm(dir, { recursive: true, force: true });
});

describe('testbed guest lifecycle', () => {
  it('up boots a guest that answers on ssh; up again returns the same guest', async () => {
    const image = await ensureImage();
    const first = await up({ dir, image, diskGiB: 1 });
    expect(first.started).toBe(true);
    expect((await testbedRunner(dir).run(['cat', '/proc/sys/kernel/hostname'])).stdout).toBe('stowage-testbed\n');

    const second = await up({ dir, image, diskGiB: 1 });
    expect(second.started).toBe(false);
    expect(second.state.pid).toBe(first.state.pid);
    expect(second.state.sshPort).toBe(first.state.sshPort);
    // Exactly one QEMU runs for this instance.
    const qemus = await processesMentioning(instancePaths(dir).pid);
    expect(qemus).toEqual([first.state.pid]);
    expect((await status(dir)).running).toBe(true);
  });

  it('down stops exactly its QEMU and leaves no process and no disks behind', async () => {
    const before = await readState(dir);
    expect(before).toBeDefined();
    await testbedRunner(dir).run(['true']); // a master connection exists now
    const { stoppedPid } = await down(dir);
    expect(stoppedPid).toBe(before!.pid);
    expect(await processesMentioning(dir)).toEqual([]);
    expect(await readState(dir)).toBeUndefined();
    await expect(stat(instancePaths(dir).lvmDisk)).rejects.toThrow();
    expect((await status(dir)).running).toBe(false);
    expect(await down(dir)).toEqual({});
  });

  it('up after a killed run (QEMU gone, state left behind) starts a fresh guest', async () => {
    const image = await ensureImage();
    const { state } = await up({ dir, image, diskGiB: 1 });
    process.kill(state.pid, 'SIGKILL');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await readState(dir)).toBeDefined();
    expect((await status(dir)).running).toBe(false);

    const again = await up({ dir, image, diskGiB: 1 });
    expect(again.started).toBe(true);
    expect(again.state.pid).not.toBe(state.pid);
    expect((await testbedRunner(dir).run(['echo', 'ok'])).stdout).toBe('ok\n');
    await down(dir);
    expect(await processesMentioning(dir)).toEqual([]);
  });

  it('fails with the console tail when the guest is not ready in time, and stops that QEMU', async () => {
    const image = await ensureImage();
    const error = await up({ dir, image, diskGiB: 1, bootTimeoutMs: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/no ssh answer from the guest within[\s\S]*console/);
    expect(await processesMentioning(dir)).toEqual([]);
    expect(await readState(dir)).toBeUndefined();
  });
});
