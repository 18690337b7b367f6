#!/bin/sh
# Builds the stowage testbed guest from Debian packages: a root filesystem image with LVM-thin
# and ZFS (modules built by DKMS for the guest's own kernel), that kernel and its initrd, and a
# testbed-only ssh key.
#
# usage: build-image.sh OUT WORK DOWNLOADS
#   OUT        empty directory that receives root.img, vmlinuz, initrd.img, id_ed25519(.pub),
#              kernel-version
#   WORK       scratch directory (the root filesystem is assembled in WORK/rootfs)
#   DOWNLOADS  directory kept between builds for downloaded .deb files
# Environment: STOWAGE_TESTBED_MIRROR, STOWAGE_TESTBED_SECURITY_MIRROR (Debian mirrors).
set -eu

out=$1
work=$2
downloads=$3
here=$(cd "$(dirname "$0")" && pwd)
suite=bookworm
mirror=${STOWAGE_TESTBED_MIRROR:-http://deb.debian.org/debian}
security=${STOWAGE_TESTBED_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
root=$work/rootfs

step() { printf '[testbed build] %s\n' "$*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "testbed: building the guest image needs root (debootstrap, chroot, mknod)" >&2; exit 1; }
for tool in debootstrap mkfs.ext4 ssh-keygen chroot; do
  command -v "$tool" >/dev/null || { echo "testbed: $tool is missing (apt-get install debootstrap e2fsprogs openssh-client)" >&2; exit 1; }
done

# Everything mounted inside the root is unmounted on every exit path, deepest first.
cleanup() {
  for m in dev/pts dev sys proc; do
    if mountpoint -q "$root/$m" 2>/dev/null; then umount -l "$root/$m" || true; fi
  done
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

packages() { grep -v '^[[:space:]]*#' "$1" | grep -v '^[[:space:]]*$' | tr '\n' ' '; }

mkdir -p "$out" "$root" "$downloads/debootstrap" "$downloads/apt"

step "debootstrap $suite (minbase)"
include=$(packages "$here/base-packages.txt" | tr ' ' ',' | sed 's/,*$//')
debootstrap --variant=minbase --components=main,contrib --cache-dir="$downloads/debootstrap" \
  --include="$include" "$suite" "$root" "$mirror" >"$work/debootstrap.log" 2>&1 || {
  tail -n 30 "$work/debootstrap.log" >&2
  exit 1
}

step "apt sources: main contrib, with updates and security"
rm -f "$root/etc/apt/sources.list"
cat >"$root/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"

# A private /dev (tmpfs with the few nodes apt and dpkg use), so that nothing in the host's /dev
# is reachable from the build tree.
mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount -t tmpfs -o mode=755,size=16m devtmpfs "$root/dev"
mknod -m 666 "$root/dev/null" c 1 3
mknod -m 666 "$root/dev/zero" c 1 5
mknod -m 666 "$root/dev/full" c 1 7
mknod -m 666 "$root/dev/random" c 1 8
mknod -m 666 "$root/dev/urandom" c 1 9
mknod -m 666 "$root/dev/tty" c 5 0
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=666 devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C DEBIAN_FRONTEND=noninteractive HOME=/root "$@"; }

step "apt-get update"
in_root apt-get update -qq >"$work/apt-update.log" 2>&1 || { tail -n 30 "$work/apt-update.log" >&2; exit 1; }

kernel_pkg=$(in_root apt-cache depends linux-image-amd64 | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*\)$/\1/p' | head -n 1)
[ -n "$kernel_pkg" ] || { echo "cannot find the kernel package linux-image-amd64 depends on" >&2; exit 1; }
kver=${kernel_pkg#linux-image-}
step "kernel $kver"

# Reuse .deb files downloaded by earlier builds.
find "$downloads/apt" -maxdepth 1 -name '*.deb' -exec cp -t "$root/var/cache/apt/archives/" {} +

step "install kernel, headers, ZFS (DKMS builds the modules; this takes minutes)"
status=0
# shellcheck disable=SC2046
in_root apt-get install -y -q --no-install-recommends "linux-image-$kver" "linux-headers-$kver" \
  $(packages "$here/chroot-packages.txt") >"$work/apt-install.log" 2>&1 || status=$?
find "$root/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -n -t "$downloads/apt/" {} +
if [ "$status" -ne 0 ]; then
  tail -n 40 "$work/apt-install.log" >&2
  exit 1
fi

has_zfs() { find "$root/lib/modules/$kver" -name 'zfs.ko*' | grep -q .; }
if ! has_zfs; then
  step "zfs module missing for $kver: dkms autoinstall"
  in_root dkms autoinstall -k "$kver" >>"$work/apt-install.log" 2>&1 || true
fi
has_zfs || { echo "no zfs module built for kernel $kver" >&2; tail -n 40 "$work/apt-install.log" >&2; exit 1; }
[ -f "$root/boot/initrd.img-$kver" ] || { echo "no initrd for kernel $kver" >&2; exit 1; }

step "guest configuration"
echo stowage-testbed >"$root/etc/hostname"
printf '127.0.0.1 localhost\n127.0.1.1 stowage-testbed\n' >"$root/etc/hosts"
: >"$root/etc/fstab"
in_root zgenhostid -f 5709a0e0 >/dev/null
cat >"$root/etc/ssh/sshd_config.d/stowage-testbed.conf" <<'SSHD'
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UseDNS no
MaxSessions 100
MaxStartups 100
SSHD
ssh-keygen -q -t ed25519 -N '' -C stowage-testbed -f "$out/id_ed25519"
install -d -m 700 "$root/root/.ssh"
install -m 600 "$out/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
install -m 755 "$here/init" "$root/init"
rm -f "$root/usr/sbin/policy-rc.d"
rm -rf "$root/var/cache/apt/archives/"*.deb "$root/var/lib/apt/lists/"* "$root"/var/lib/dkms/*/*/build

cleanup
cp "$root/boot/vmlinuz-$kver" "$out/vmlinuz"
cp "$root/boot/initrd.img-$kver" "$out/initrd.img"
echo "$kver" >"$out/kernel-version"

step "root image"
size_mb=$(( $(du -sm "$root" | cut -f1) + 1024 ))
mkfs.ext4 -q -F -d "$root" -L stowage-root "$out/root.img" "${size_mb}M" >/dev/null
step "done: $out"
