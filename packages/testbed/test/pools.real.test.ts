import { describe, expect, it } from 'vitest';
import { freshPools, TESTBED_POOLS, testbedRunner } from '@stowage/testbed';

const runner = testbedRunner();
const { vgname, thinpool, zpool } = TESTBED_POOLS;

describe('freshPools', () => {
  it('recreates empty pools over whatever a killed run left: volumes, snapshots, clones, open devices', async () => {
    await runner.run(['lvcreate', '-q', '-V', '64M', '-n', 'vm-900-disk-0', '--thinpool', `${vgname}/${thinpool}`]);
    await runner.run(['lvcreate', '-q', '-n', 'snap_vm-900-disk-0_s', '-s', `${vgname}/vm-900-disk-0`]);
    await runner.run(['zfs', 'create', '-V', '64M', `${zpool}/vm-900-disk-0`]);
    await runner.run(['zfs', 'snapshot', `${zpool}/vm-900-disk-0@s`]);
    await runner.run(['zfs', 'clone', `${zpool}/vm-900-disk-0@s`, `${zpool}/vm-901-disk-0`]);
    await runner.run(['udevadm', 'settle']);
    // A process of the "killed run" still holding both volumes open.
    await runner.run(['sh', '-c', `sleep 600 < /dev/${vgname}/vm-900-disk-0 > /dev/null 2>&1 & sleep 600 < /dev/zvol/${zpool}/vm-900-disk-0 > /dev/null 2>&1 &`]);

    const result = await freshPools(runner);
    expect(result).toMatchObject({ vgname, thinpool, zpool });

    const lvs = await runner.run(['lvs', '--noheadings', '-o', 'lv_name', vgname]);
    expect(lvs.stdout.trim().split(/\s+/)).toEqual([thinpool]);
    const datasets = await runner.run(['zfs', 'list', '-H', '-t', 'all', '-o', 'name', '-r', zpool]);
    expect(datasets.stdout).toBe(`${zpool}\n`);
    const health = await runner.run(['zpool', 'list', '-H', '-o', 'health', zpool]);
    expect(health.stdout).toBe('ONLINE\n');
  });

  it('is idempotent: a second run gives the same empty pools', async () => {
    await freshPools(runner);
    const lvs = await runner.run(['lvs', '--noheadings', '-o', 'lv_name,lv_attr', vgname]);
    expect(lvs.stdout.trim()).toMatch(new RegExp(`^${thinpool}\\s+twi-a`));
  });

  it('leaves other volume groups and their users alone', async () => {
    const setup = [
      'set -e',
      'modprobe loop',
      'truncate -s 64M /var/tmp/stowage-other.img',
      'dev=$(losetup -f --show /var/tmp/stowage-other.img)',
      'vgcreate -q -y stowageother "$dev" >/dev/null',
      'lvcreate -q -y -L 8M -n keep stowageother >/dev/null',
      'sleep 600 < /dev/stowageother/keep > /dev/null 2>&1 &',
      'echo $! > /run/stowage-other.pid',
    ].join('\n');
    const cleanup = [
      'kill "$(cat /run/stowage-other.pid)" 2>/dev/null; sleep 1',
      'vgremove -ff -y stowageother >/dev/null 2>&1',
      'for d in $(losetup -n -O NAME -j /var/tmp/stowage-other.img); do pvremove -ff -y "$d" >/dev/null 2>&1; losetup -d "$d"; done',
      'rm -f /var/tmp/stowage-other.img /run/stowage-other.pid',
    ].join('\n');
    await runner.run(['sh', '-c', setup]);
    try {
      await freshPools(runner);
      const alive = await runner.run(['sh', '-c', 'kill -0 "$(cat /run/stowage-other.pid)"'], { okExitCodes: [0, 1] });
      expect(alive.exitCode).toBe(0);
      expect((await runner.run(['lvs', '--noheadings', '-o', 'lv_name', 'stowageother'])).stdout.trim()).toBe('keep');
    } finally {
      await runner.run(['sh', '-c', cleanup], { okExitCodes: [0, 1] });
    }
  });
});
