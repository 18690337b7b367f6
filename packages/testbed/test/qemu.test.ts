import { describe, expect, it } from 'vitest';
import { DISK_SERIALS, qemuArgv } from '@stowage/testbed';

const options = {
  kernel: '/img/vmlinuz',
  initrd: '/img/initrd.img',
  rootDisk: '/run/root.qcow2',
  lvmDisk: '/run/lvm.img',
  zfsDisk: '/run/zfs.img',
  sshPort: 40022,
  pidFile: '/run/qemu.pid',
  consoleLog: '/run/console.log',
};

describe('qemuArgv', () => {
  const argv = qemuArgv(options);
  const after = (flag: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === flag ? [a] : []));

  it('uses software emulation only, never KVM', () => {
    expect(after('-accel')).toEqual(['tcg,thread=multi']);
    expect(after('-cpu')).toEqual(['max']);
    expect(argv.join(' ')).not.toMatch(/kvm/);
  });

  it('keeps the guest off every network and forwards only ssh, on loopback', () => {
    expect(after('-netdev')).toEqual(['user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22']);
  });

  it('attaches the root overlay and two raw data disks with fixed serials', () => {
    const drives = after('-drive');
    expect(drives[0]).toBe('file=/run/root.qcow2,format=qcow2,if=virtio,cache=unsafe');
    expect(drives.slice(1).every((d) => d.includes('format=raw'))).toBe(true);
    expect(after('-device')).toEqual(
      expect.arrayContaining([`virtio-blk-pci,drive=lvm,serial=${DISK_SERIALS.lvm}`, `virtio-blk-pci,drive=zfs,serial=${DISK_SERIALS.zfs}`]),
    );
  });

  it('daemonizes with a pid file and writes the console to a file', () => {
    expect(after('-pidfile')).toEqual(['/run/qemu.pid']);
    expect(argv).toContain('-daemonize');
    expect(after('-serial')).toEqual(['file:/run/console.log']);
    expect(after('-append')[0]).toMatch(/init=\/init/);
  });

  it('refuses a bad port and paths QEMU would split at a comma', () => {
    expect(() => qemuArgv({ ...options, sshPort: 0 })).toThrow(TypeError);
    expect(() => qemuArgv({ ...options, sshPort: 65536 })).toThrow(TypeError);
    expect(() => qemuArgv({ ...options, lvmDisk: '/run/a,b.img' })).toThrow(TypeError);
  });
});
