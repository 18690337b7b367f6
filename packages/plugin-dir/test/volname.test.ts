import { describe, expect, it } from 'vitest';
import { isStorageError } from '@stowage/core';
import { DirPlugin, parseDirVolname } from '@stowage/plugin-dir';

type Fields = [vtype: string, name: string, vmid: number | undefined, baseName: string | undefined, baseVmid: number | undefined, isBase: boolean, format: string | undefined];

/** Proxmox's seven fields for each accepted name (our own cases, in the spirit of pve-storage's parse_volname_test). */
const accepted: [volname: string, expected: Fields][] = [
  ['100/vm-100-disk-0.qcow2', ['images', 'vm-100-disk-0.qcow2', 100, undefined, undefined, false, 'qcow2']],
  ['100/vm-100-disk-12.raw', ['images', 'vm-100-disk-12.raw', 100, undefined, undefined, false, 'raw']],
  ['100/vm-100-disk-1.vmdk', ['images', 'vm-100-disk-1.vmdk', 100, undefined, undefined, false, 'vmdk']],
  ['100/base-100-disk-0.qcow2', ['images', 'base-100-disk-0.qcow2', 100, undefined, undefined, true, 'qcow2']],
  ['100/subvol-100-disk-0.subvol', ['images', 'subvol-100-disk-0.subvol', 100, undefined, undefined, false, 'subvol']],
  ['100/vm-100-cloudinit.qcow2', ['images', 'vm-100-cloudinit.qcow2', 100, undefined, undefined, false, 'qcow2']],
  ['100/vm-100-state-snap1.raw', ['images', 'vm-100-state-snap1.raw', 100, undefined, undefined, false, 'raw']],
  // the owner directory is not checked against the digits in the name, as in Proxmox
  ['101/vm-100-disk-0.raw', ['images', 'vm-100-disk-0.raw', 101, undefined, undefined, false, 'raw']],
  [
    '100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2',
    ['images', 'vm-101-disk-0.qcow2', 101, 'base-100-disk-0.qcow2', 100, false, 'qcow2'],
  ],
  [
    '100/base-100-disk-0.raw/101/base-101-disk-3.qcow2',
    ['images', 'base-101-disk-3.qcow2', 101, 'base-100-disk-0.raw', 100, true, 'qcow2'],
  ],
  ['iso/debian-13.0.0-amd64-netinst.iso', ['iso', 'debian-13.0.0-amd64-netinst.iso', undefined, undefined, undefined, false, 'raw']],
  ['iso/virtio-win.ISO', ['iso', 'virtio-win.ISO', undefined, undefined, undefined, false, 'raw']],
  ['iso/floppy.img', ['iso', 'floppy.img', undefined, undefined, undefined, false, 'raw']],
  ['vztmpl/debian-13-standard_13.0-1_amd64.tar.zst', ['vztmpl', 'debian-13-standard_13.0-1_amd64.tar.zst', undefined, undefined, undefined, false, 'raw']],
  ['vztmpl/alpine.tar.xz', ['vztmpl', 'alpine.tar.xz', undefined, undefined, undefined, false, 'raw']],
  ['vztmpl/alpine.tar.gz', ['vztmpl', 'alpine.tar.gz', undefined, undefined, undefined, false, 'raw']],
  ['vztmpl/alpine.tar.bz2', ['vztmpl', 'alpine.tar.bz2', undefined, undefined, undefined, false, 'raw']],
  ['vztmpl/plain.tar', ['vztmpl', 'plain.tar', undefined, undefined, undefined, false, 'raw']],
  ['rootdir/1234', ['rootdir', '1234', 1234, undefined, undefined, false, undefined]],
  ['backup/vzdump-qemu-100-2025_01_31-12_00_00.vma.zst', ['backup', 'vzdump-qemu-100-2025_01_31-12_00_00.vma.zst', 100, undefined, undefined, false, 'raw']],
  ['backup/vzdump-lxc-200-2025_01_31-12_00_00.tar.gz', ['backup', 'vzdump-lxc-200-2025_01_31-12_00_00.tar.gz', 200, undefined, undefined, false, 'raw']],
  ['backup/vzdump-openvz-300-2025_01_31-12_00_00.tgz', ['backup', 'vzdump-openvz-300-2025_01_31-12_00_00.tgz', 300, undefined, undefined, false, 'raw']],
  ['backup/vzdump-qemu-100-2025_01_31-12_00_00.vma.lzo', ['backup', 'vzdump-qemu-100-2025_01_31-12_00_00.vma.lzo', 100, undefined, undefined, false, 'raw']],
  ['backup/vzdump-qemu-100-2025_01_31-12_00_00.vma', ['backup', 'vzdump-qemu-100-2025_01_31-12_00_00.vma', 100, undefined, undefined, false, 'raw']],
  ['backup/my-own-archive.tar.bz2', ['backup', 'my-own-archive.tar.bz2', undefined, undefined, undefined, false, 'raw']],
  ['snippets/userconfig.yaml', ['snippets', 'userconfig.yaml', undefined, undefined, undefined, false, 'raw']],
  ['snippets/hook-script.pl', ['snippets', 'hook-script.pl', undefined, undefined, undefined, false, 'raw']],
  ['import/appliance.ova', ['import', 'appliance.ova', undefined, undefined, undefined, false, 'ova']],
  ['import/appliance.ovf', ['import', 'appliance.ovf', undefined, undefined, undefined, false, 'ovf']],
  ['import/disk.qcow2', ['import', 'disk.qcow2', undefined, undefined, undefined, false, 'qcow2']],
  ['import/disk.raw', ['import', 'disk.raw', undefined, undefined, undefined, false, 'raw']],
  ['import/w2k-v+1_x.vmdk', ['import', 'w2k-v+1_x.vmdk', undefined, undefined, undefined, false, 'vmdk']],
  ['import/appliance.ova/disk1.vmdk', ['import', 'appliance.ova/disk1.vmdk', undefined, undefined, undefined, false, 'ova+vmdk']],
  ['import/appliance.ova/disk2.qcow2', ['import', 'appliance.ova/disk2.qcow2', undefined, undefined, undefined, false, 'ova+qcow2']],
  // Proxmox's SAFE_CHAR_CLASS_RE has '=', and since PVE 8.3 the disk inside an OVA may hold spaces
  ['import/w2k=v1.vmdk', ['import', 'w2k=v1.vmdk', undefined, undefined, undefined, false, 'vmdk']],
  ['import/a=b.ova', ['import', 'a=b.ova', undefined, undefined, undefined, false, 'ova']],
  ['import/GNS3.VM.ova/GNS3 VM-disk1.vmdk', ['import', 'GNS3.VM.ova/GNS3 VM-disk1.vmdk', undefined, undefined, undefined, false, 'ova+vmdk']],
  ['import/x=1.ova/OS disk=2.qcow2', ['import', 'x=1.ova/OS disk=2.qcow2', undefined, undefined, undefined, false, 'ova+qcow2']],
];

/** Names Proxmox refuses too, and names the core refuses for safety (marked). */
const refused: [volname: string, why: string][] = [
  ['', 'empty'],
  ['100', 'no file'],
  ['100/', 'empty file name'],
  ['100/disk.qcow2', 'no vm-/base- prefix (refused since PVE 9)'],
  ['100/vm-100-disk-0', 'no extension'],
  ['100/vm-100-disk-0.qed', 'unknown extension'],
  ['100/vm-100-disk-0.QCOW2', 'extension is case-sensitive'],
  ['100/vm-disk-0.raw', 'no owner digits in the name'],
  ['100/base-100-disk-0.qcow2/101', 'clone without a name'],
  ['100/foo.qcow2/101/vm-101-disk-0.qcow2', 'base name not an image name'],
  ['100/base-100-disk-0.qcow2/101/x/vm-101-disk-0.qcow2', 'too many segments'],
  ['abc/vm-100-disk-0.raw', 'owner not digits'],
  ['0100/vm-100-disk-0.raw', 'leading zero (stowage: canonical vmids only)'],
  ['0/vm-0-disk-0.raw', 'vmid 0 (stowage: canonical vmids only)'],
  ['1000000000/vm-1000000000-disk-0.raw', 'vmid past the range (stowage)'],
  ['../100/vm-100-disk-0.raw', 'dot-dot'],
  ['100/../vm-100-disk-0.raw', 'dot-dot'],
  ['100/./vm-100-disk-0.raw', 'dot segment'],
  ['/100/vm-100-disk-0.raw', 'absolute'],
  ['100//vm-100-disk-0.raw', 'doubled slash'],
  ['100/vm-100-disk-0.raw;rm -rf', 'shell metacharacters (core)'],
  ['100/vm-100 disk-0.raw', 'space (core)'],
  ['iso/x.iso/y.iso', 'iso in a subdirectory'],
  ['iso/x.txt', 'iso without iso/img extension'],
  ['iso/../../etc/passwd.iso', 'dot-dot'],
  ['vztmpl/x.tar.lz4', 'unknown template compression'],
  ['vztmpl/x.zip', 'not a tar'],
  ['rootdir/abc', 'rootdir without a vmid'],
  ['backup/vzdump-qemu-100.vma.7z', 'unknown backup compression'],
  ['backup/x.VMA', 'backup extension is case-sensitive'],
  ['snippets/a/b', 'snippet in a subdirectory'],
  ['import/x.iso', 'import of an unknown kind'],
  ['import/x.ova/y.iso', 'ova member of an unknown kind'],
  ['import/x.QCOW2', 'import extension is case-sensitive'],
  ['import/x.ova/OS\tdisk.vmdk', 'a tab in an OVA disk name (only a space is accepted)'],
  ['import/x.ova/OS\ndisk.vmdk', 'a newline in an OVA disk name'],
  ['import/x.ova/OS disk.vmdk\n', 'a trailing newline'],
  ['import/x.ova/a/b.vmdk', 'an OVA disk in a subdirectory'],
  ['import/x.ova/../y.vmdk', 'dot-dot out of an OVA'],
  ['import/x.ova/$(reboot).vmdk', 'shell metacharacters in an OVA disk name'],
  ['import/x.ova/a,b=c.vmdk', 'a comma (a qemu option separator)'],
  ['import/my appliance.ova', 'a space in an import file name (Proxmox parses it but never lists it; the core refuses it)'],
  ['import/my appliance.ova/disk.vmdk', 'a space in an OVA name (core)'],
  ['import/x y.qcow2', 'a space in an import image name (core)'],
  ['100/vm-100-disk-0=x.raw', "'=' in an image name (core: image names reach qemu-img options)"],
  ['iso/a=b.iso', "'=' outside import (core)"],
  ['other/x.raw', 'unknown content directory'],
];

describe('parseDirVolname', () => {
  it.each(accepted)('accepts %s', (volname, expected) => {
    const v = parseDirVolname(volname);
    expect([v.vtype, v.name, v.vmid, v.baseName, v.baseVmid, v.isBase, v.format]).toEqual(expected);
    expect(v.volname).toBe(volname);
  });

  it.each(refused)('refuses %j (%s) with INVALID_VOLUME_ID', (volname) => {
    let error: unknown;
    try {
      parseDirVolname(volname);
    } catch (e) {
      error = e;
    }
    expect(isStorageError(error, 'INVALID_VOLUME_ID')).toBe(true);
  });

  it('is what DirPlugin.parseVolname does', () => {
    const plugin = new DirPlugin();
    expect(plugin.parseVolname('100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2')).toEqual(
      parseDirVolname('100/base-100-disk-0.qcow2/101/vm-101-disk-0.qcow2'),
    );
  });

  it('gives new disk names the format as extension', () => {
    const plugin = new DirPlugin();
    expect(plugin.diskNameExtension('qcow2')).toBe('qcow2');
    expect(plugin.imageVolname({ vmid: 100, name: 'vm-100-disk-0.qcow2' })).toBe('100/vm-100-disk-0.qcow2');
  });
});

describe('image file names', () => {
  it('every format, with and without base-, and names the pattern refuses', async () => {
    const { parseImageFileName } = await import('../src/names.js');
    for (const format of ['raw', 'qcow2', 'vmdk', 'subvol'] as const) {
      expect(parseImageFileName(`vm-100-disk-0.${format}`)).toEqual({ format, isBase: false });
      expect(parseImageFileName(`subvol-100-disk-0.${format}`)).toEqual({ format, isBase: false });
      expect(parseImageFileName(`base-100-disk-0.${format}`)).toEqual({ format, isBase: true });
      expect(parseImageFileName(`vm-100-disk.0.raw.${format}`)).toEqual({ format, isBase: false });
    }
    for (const name of ['vm-100-disk-0.img', 'vm-100-disk-0.qcow2.tmp', 'vm-x-disk-0.raw', 'based-100-disk-0.raw', 'vm-100-a b.raw', 'vm-100-.raw', 'VM-100-disk-0.raw', 'vm-100-disk-0.RAW']) {
      expect(parseImageFileName(name), name).toBeUndefined();
    }
  });
});
