#!/bin/sh
# Runs inside the testbed guest (fed to `sh -s` over ssh): wipes both data disks and creates
# fresh pools on them, whatever an earlier (possibly killed) run left behind:
#   LVM: volume group VG on the disk with serial stowage-lvm, thin pool VG/POOL of POOL_SIZE
#   ZFS: zpool ZPOOL on the disk with serial stowage-zfs, mounted at /ZPOOL
# usage: sh -s VG POOL POOL_SIZE ZPOOL < fresh-pools.sh
set -eu
vg=${1:-stowage}
pool=${2:-data}
pool_size=${3:-10G}
zpool=${4:-stowage}
lvm_disk=/dev/disk/by-id/virtio-stowage-lvm
zfs_disk=/dev/disk/by-id/virtio-stowage-zfs

for disk in "$lvm_disk" "$zfs_disk"; do
  [ -b "$disk" ] || { echo "fresh-pools: no disk $disk" >&2; exit 1; }
done

# Processes of an earlier run that still hold one of our volumes open (a dd of an export, say)
# would keep the pools busy: stop them. Only holders of this VG's device-mapper devices and of
# this pool's zvols are touched. (One find, not a readlink per descriptor: forks are slow here.)
targets=
for d in /sys/block/dm-*; do
  [ -r "$d/dm/name" ] || continue
  case $(cat "$d/dm/name") in "$vg"-*) targets="$targets /dev/${d##*/}" ;; esac
done
for link in $(find "/dev/zvol/$zpool" -type l 2>/dev/null); do
  targets="$targets $(readlink -f "$link")"
done
set --
for t in $targets; do set -- "$@" -o -lname "$t" -o -lname "${t}p*"; done
if [ $# -gt 0 ]; then
  shift
  holders=$(find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 \( "$@" \) 2>/dev/null | cut -d/ -f3 | sort -u)
  for pid in $holders; do
    [ "$pid" = "$$" ] || kill -9 "$pid" 2>/dev/null || true
  done
fi

# ZFS: destroy every pool on the disk (ours under any name), then clear its labels.
for name in $(zpool list -H -o name 2>/dev/null); do
  if zpool status -P "$name" 2>/dev/null | grep -q "$(readlink -f "$zfs_disk")\|$zfs_disk"; then
    zpool destroy -f "$name"
  fi
done
if zpool list -H -o name "$zpool" >/dev/null 2>&1; then zpool destroy -f "$zpool"; fi
zpool labelclear -f "$zfs_disk" >/dev/null 2>&1 || true
zpool labelclear -f "${zfs_disk}-part1" >/dev/null 2>&1 || true

# LVM: remove the volume group (all its volumes) and the physical volume.
if vgs "$vg" >/dev/null 2>&1; then
  vgchange -an "$vg" >/dev/null 2>&1 || true
  vgremove -ff -y "$vg" >/dev/null
fi
pvremove -ff -y "$lvm_disk" >/dev/null 2>&1 || true
dmsetup ls 2>/dev/null | while read -r name _; do
  case $name in "$vg"-*) dmsetup remove -f "$name" 2>/dev/null || true ;; esac
done

wipefs -q -a "$lvm_disk" "$zfs_disk"
for disk in "$lvm_disk" "$zfs_disk"; do
  blkdiscard -f "$disk" 2>/dev/null || dd if=/dev/zero of="$disk" bs=1M count=16 conv=fsync status=none
done
udevadm settle --timeout=30

pvcreate -q -y "$lvm_disk" >/dev/null
vgcreate -q -y "$vg" "$lvm_disk" >/dev/null
lvcreate -q -y --type thin-pool -L "$pool_size" -n "$pool" "$vg" >/dev/null
zpool create -f -o ashift=12 -O mountpoint="/$zpool" "$zpool" "$zfs_disk"
udevadm settle --timeout=30
echo "fresh-pools: vg=$vg thinpool=$pool size=$pool_size zpool=$zpool"
