/**
 * The QEMU command line of the testbed guest, as a pure argv builder.
 *
 * @module
 */

/** Serial numbers of the two data disks; the guest sees them as `/dev/disk/by-id/virtio-<serial>`. */
export const DISK_SERIALS = { lvm: 'stowage-lvm', zfs: 'stowage-zfs' } as const;

/** What {@link qemuArgv} needs. */
export interface QemuArgvOptions {
  /** The guest kernel. */
  readonly kernel: string;
  /** Its initrd. */
  readonly initrd: string;
  /** The root disk (a qcow2 overlay over the cached raw image). */
  readonly rootDisk: string;
  /** The data disk for LVM (raw, sparse). */
  readonly lvmDisk: string;
  /** The data disk for ZFS (raw, sparse). */
  readonly zfsDisk: string;
  /** Host port on 127.0.0.1 forwarded to the guest's ssh. */
  readonly sshPort: number;
  /** QEMU's pid file. */
  readonly pidFile: string;
  /** Where the serial console goes. */
  readonly consoleLog: string;
  /** Guest memory in MiB (default 2048). */
  readonly memoryMiB?: number;
  /** Guest CPUs (default 2). */
  readonly cpus?: number;
}

/**
 * Builds the QEMU argv (program first). Software emulation only (`-accel tcg`): the hosts this
 * runs on cannot boot a standard guest kernel under KVM. The network is QEMU's user network with
 * `restrict=on`, so the guest reaches nothing; only its ssh port is forwarded, on 127.0.0.1.
 * QEMU daemonizes and writes its pid file once the guest is started. Pure.
 *
 * @param options - files, port, sizes
 * @returns the argv
 * @throws TypeError on a port outside 1..65535 or a path containing a comma (QEMU's option separator)
 */
export function qemuArgv(options: QemuArgvOptions): string[] {
  if (!Number.isInteger(options.sshPort) || options.sshPort < 1 || options.sshPort > 65535) {
    throw new TypeError(`bad ssh port ${options.sshPort}`);
  }
  for (const path of [options.rootDisk, options.lvmDisk, options.zfsDisk, options.consoleLog]) {
    if (path.includes(',')) throw new TypeError(`QEMU paths cannot contain a comma: ${path}`);
  }
  return [
    'qemu-system-x86_64',
    '-nodefaults',
    '-no-user-config',
    '-accel', 'tcg,thread=multi',
    '-cpu', 'max',
    '-m', String(options.memoryMiB ?? 2048),
    '-smp', String(options.cpus ?? 2),
    '-display', 'none',
    '-monitor', 'none',
    '-serial', `file:${options.consoleLog}`,
    '-no-reboot',
    '-kernel', options.kernel,
    '-initrd', options.initrd,
    '-append', 'console=ttyS0 root=LABEL=stowage-root rw init=/init net.ifnames=0 panic=-1 quiet',
    '-drive', `file=${options.rootDisk},format=qcow2,if=virtio,cache=unsafe`,
    '-drive', `file=${options.lvmDisk},format=raw,if=none,id=lvm,cache=unsafe,discard=unmap`,
    '-device', `virtio-blk-pci,drive=lvm,serial=${DISK_SERIALS.lvm}`,
    '-drive', `file=${options.zfsDisk},format=raw,if=none,id=zfs,cache=unsafe,discard=unmap`,
    '-device', `virtio-blk-pci,drive=zfs,serial=${DISK_SERIALS.zfs}`,
    '-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${options.sshPort}-:22`,
    '-device', 'virtio-net-pci,netdev=n0',
    '-pidfile', options.pidFile,
    '-daemonize',
  ];
}
