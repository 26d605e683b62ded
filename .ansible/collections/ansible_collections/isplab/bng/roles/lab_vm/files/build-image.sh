#!/usr/bin/env bash
# Builds the lab VM image in steps; the role lab_vm runs one step per task so that a long
# build shows where it is. Every step works in BUILD_DIR; only `finish` makes the result
# visible in IMAGE_DIR (a rename), so an interrupted build never leaves a half image behind.
#
#   build-image.sh STEP BUILD_DIR IMAGE_DIR
#   STEP: rootfs | configure | modules | disk | finish
#
# Settings come from the environment (the role sets them from its variables):
#   LAB_VM_SUITE, LAB_VM_MIRROR, LAB_VM_PACKAGES (comma separated), LAB_VM_DISK_SIZE,
#   LAB_VM_DEB_CACHE (debootstrap's package cache, shared between builds).
set -euo pipefail

step=$1 build=$2 image=$3
rootfs=$build/rootfs

in_chroot() {
  chroot "$rootfs" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 \
    DEBIAN_FRONTEND=noninteractive "$@"
}

# The kernel the image boots: the newest one installed in it (not the build host's).
image_kernel() {
  find "$rootfs/lib/modules" -mindepth 1 -maxdepth 1 -printf '%f\n' | sort -V | tail -n 1
}

mount_api() {
  mount -t proc proc "$rootfs/proc"
  mount -t sysfs sysfs "$rootfs/sys"
  mount --bind /dev "$rootfs/dev"
  trap 'umount -l "$rootfs/dev" "$rootfs/sys" "$rootfs/proc" 2>/dev/null || true' EXIT
}

case $step in
rootfs)
  rm -rf "$build"
  mkdir -p "$build" "$LAB_VM_DEB_CACHE"
  # Jool's DKMS module is compiled here, natively, by jool-dkms's postinst for every kernel
  # whose headers are installed: compiling it inside the emulated VM would take 10+ minutes.
  debootstrap --variant=minbase --cache-dir="$LAB_VM_DEB_CACHE" \
    --include="$LAB_VM_PACKAGES" "$LAB_VM_SUITE" "$rootfs" "$LAB_VM_MIRROR"
  ;;

configure)
  echo isplab-vm > "$rootfs/etc/hostname"
  printf '127.0.0.1\tlocalhost\n127.0.1.1\tisplab-vm\n::1\tlocalhost ip6-localhost\n' > "$rootfs/etc/hosts"
  printf '/dev/vda\t/\text4\terrors=remount-ro\t0\t1\n' > "$rootfs/etc/fstab"
  # QEMU user networking: DHCP on the only NIC, its DNS forwarder at 10.0.2.3.
  mkdir -p "$rootfs/etc/systemd/network"
  printf '[Match]\nName=eth0\n\n[Network]\nDHCP=ipv4\nIPv6AcceptRA=no\n' \
    > "$rootfs/etc/systemd/network/10-eth0.network"
  rm -f "$rootfs/etc/resolv.conf"
  echo 'nameserver 10.0.2.3' > "$rootfs/etc/resolv.conf"
  cat > "$rootfs/etc/apt/sources.list" <<SOURCES
deb $LAB_VM_MIRROR $LAB_VM_SUITE main
deb $LAB_VM_MIRROR $LAB_VM_SUITE-updates main
deb ${LAB_VM_SECURITY_MIRROR} $LAB_VM_SUITE-security main
SOURCES
  install -d -m 0700 "$rootfs/root/.ssh"
  install -m 0600 "$build/id_ed25519.pub" "$rootfs/root/.ssh/authorized_keys"
  # Slow emulated boots: do not let DNS lookups of the client delay SSH logins.
  echo 'UseDNS no' > "$rootfs/etc/ssh/sshd_config.d/isplab.conf"
  # The roles run their own instances of these daemons as template units; the distribution's
  # single default instances would hold the same ports.
  in_chroot systemctl enable systemd-networkd ssh
  in_chroot systemctl disable named keepalived
  # A machine id per boot: each VM (and each snapshot boot) is a new machine.
  : > "$rootfs/etc/machine-id"
  rm -f "$rootfs/var/lib/dbus/machine-id"
  in_chroot apt-get clean
  ;;

modules)
  kver=$(image_kernel)
  mount_api
  # jool-dkms's postinst has normally built it already; this makes sure, and fails loudly.
  in_chroot dkms autoinstall -k "$kver"
  for module in jool jool_siit pppoe; do
    if ! in_chroot modinfo -k "$kver" "$module" > /dev/null; then
      echo "kernel module $module is missing for $kver" >&2
      exit 1
    fi
  done
  in_chroot update-initramfs -u -k "$kver"
  ;;

disk)
  kver=$(image_kernel)
  cp "$rootfs/boot/vmlinuz-$kver" "$build/vmlinuz"
  cp "$rootfs/boot/initrd.img-$kver" "$build/initrd.img"
  rm -f "$build/rootfs.img"
  # mke2fs populates the file system from the directory: no loop device, no mount.
  mkfs.ext4 -q -L isplab-root -d "$rootfs" "$build/rootfs.img" "$LAB_VM_DISK_SIZE"
  ;;

finish)
  rm -rf "$rootfs"
  rm -rf "$image"
  mv "$build" "$image"
  ;;

*)
  echo "unknown step: $step" >&2
  exit 2
  ;;
esac
