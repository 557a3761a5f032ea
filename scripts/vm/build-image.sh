#!/bin/bash
# Build the Debian 12 guest image: debootstrap rootfs -> ext4 -> qcow2 base,
# plus the kernel/initrd for direct boot.  Idempotent: each stage is skipped
# when its output exists; pass --force to redo everything.
#   Outputs: $VMDIR/images/{base.qcow2,vmlinux,vmlinuz,initrd.img}
set -euo pipefail
# shellcheck disable=SC1091  # common.sh, beside this script
. "$(dirname "$0")/common.sh"

[ "${1:-}" = --force ] && rm -rf "$VMDIR/build/rootfs" "$VMDIR/build/.stage-"* "$IMG"

SUITE=bookworm
# same mirror the host's apt uses
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
MIRROR=${MIRROR:-http://deb.debian.org/debian}
ROOT=$VMDIR/build/rootfs
DISK_SIZE=${SOCKER_VM_DISK:-8G}
mkdir -p "$VMDIR/build" "$VMDIR/cache" "$IMG" "$(dirname "$KEY")"
t0=$SECONDS
stamp() { echo "[build-image] $1 done at +$((SECONDS - t0))s"; }

need() { command -v "$1" >/dev/null || missing="$missing $2"; }
missing=
need qemu-system-x86_64 qemu-system-x86; need qemu-img qemu-utils
need debootstrap debootstrap; need mkfs.ext4 e2fsprogs; need busybox busybox-static
need socat socat; need ssh openssh-client; need python3 python3-minimal
if [ -n "$missing" ]; then
  apt-get update -q
  # shellcheck disable=SC2086  # a list of package names
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $missing
fi

[ -f "$KEY" ] || ssh-keygen -q -t ed25519 -N '' -C socker-vm -f "$KEY"

# ---- 1. debootstrap the base system ----------------------------------------
BASE_PKGS=systemd,systemd-sysv,dbus,udev,kmod,iproute2,iputils-ping,openssh-server,procps,e2fsprogs
if [ ! -f "$VMDIR/build/.stage-debootstrap" ]; then
  rm -rf "$ROOT"
  debootstrap --variant=minbase --include=$BASE_PKGS --cache-dir="$VMDIR/cache" \
    $SUITE "$ROOT" "$MIRROR"
  touch "$VMDIR/build/.stage-debootstrap"
  stamp debootstrap
fi

# ---- 2. packages inside the chroot ------------------------------------------
# Mesos 1.12 runtime libraries + docker.io + mpich + busybox-static + kernel.
EXTRA_PKGS="linux-image-amd64 initramfs-tools zstd docker.io apparmor
  libprotobuf32 libgrpc++1.51 libzookeeper-mt2 libarchive13 libsasl2-2
  libsasl2-modules libcurl4 libapr1 libsvn1 zlib1g libssl3 mpich busybox-static"
mounted=
cleanup() {
  for m in $mounted; do umount -l "$ROOT/$m" 2>/dev/null || true; done
  mounted=
  rm -f "$ROOT/usr/sbin/policy-rc.d"
}
trap cleanup EXIT
if [ ! -f "$VMDIR/build/.stage-packages" ]; then
  for m in proc sys dev dev/pts; do mount --bind /$m "$ROOT/$m"; mounted="$m $mounted"; done
  printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"; chmod +x "$ROOT/usr/sbin/policy-rc.d"
  rm -f "$ROOT/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/debian.sources "$ROOT/etc/apt/sources.list.d/debian.sources"
  # small initramfs: only what a virtio disk boot needs
  mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
  echo 'MODULES=list' > "$ROOT/etc/initramfs-tools/conf.d/socker.conf"
  echo 'COMPRESS=zstd' >> "$ROOT/etc/initramfs-tools/conf.d/socker.conf"
  printf '%s\n' virtio_pci virtio_blk virtio_net ext4 > "$ROOT/etc/initramfs-tools/modules"
  chroot "$ROOT" apt-get update -q
  # shellcheck disable=SC2086  # a list of package names
  DEBIAN_FRONTEND=noninteractive chroot "$ROOT" apt-get install -y -q --no-install-recommends $EXTRA_PKGS
  chroot "$ROOT" apt-get clean
  cleanup
  touch "$VMDIR/build/.stage-packages"
  stamp packages
fi

# ---- 3. guest configuration (re-applied every run; cheap) -------------------
if [ ! -x "$ROOT/bin/sh" ] || [ "$ROOT" = / ]; then echo "no rootfs at $ROOT" >&2; exit 1; fi
install -d -m 700 "$ROOT/root/.ssh"
install -m 600 "$KEY.pub" "$ROOT/root/.ssh/authorized_keys"
echo socker-vm > "$ROOT/etc/hostname"
printf '127.0.0.1 localhost\n::1 localhost ip6-localhost\n' > "$ROOT/etc/hosts"
for i in 1 2 3 4 5 6 7 8 9; do echo "$SUBNET.$((10+i)) vm$i" >> "$ROOT/etc/hosts"; done
echo 'LABEL=socker-root / ext4 defaults,noatime 0 0' > "$ROOT/etc/fstab"
# every overlay gets its own machine-id on first boot
: > "$ROOT/etc/machine-id"; rm -f "$ROOT/var/lib/dbus/machine-id"
ln -sf /etc/machine-id "$ROOT/var/lib/dbus/machine-id"
# guest-side helpers from ./guest: eth0 address from the kernel command line,
# 9p share at /host, root autologin on the serial console
G=$HERE/guest
install -m 755 "$G/socker-guest-net" "$G/socker-guest-share" "$ROOT/usr/local/sbin/"
install -m 644 "$G/socker-guest-net.service" "$G/socker-guest-share.service" "$ROOT/etc/systemd/system/"
install -d "$ROOT/etc/systemd/system/serial-getty@ttyS0.service.d" "$ROOT/etc/systemd/system/sysinit.target.wants"
install -m 644 "$G/serial-autologin.conf" "$ROOT/etc/systemd/system/serial-getty@ttyS0.service.d/autologin.conf"
ln -sf /etc/systemd/system/socker-guest-net.service "$ROOT/etc/systemd/system/sysinit.target.wants/"
ln -sf /etc/systemd/system/socker-guest-share.service "$ROOT/etc/systemd/system/multi-user.target.wants/"
rm -f "$ROOT/usr/local/sbin/socker-guest-setup" "$ROOT/etc/systemd/system/socker-guest-setup.service" \
  "$ROOT/etc/systemd/system/multi-user.target.wants/socker-guest-setup.service"  # older layout
# nothing periodic, nothing that waits for a network the guests do not have
# (and no module loads for hardware the guests lack: each costs seconds under TCG)
for u in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service \
         fstrim.timer systemd-timesyncd.service systemd-firstboot.service \
         modprobe@drm.service modprobe@efi_pstore.service modprobe@dm_mod.service \
         modprobe@fuse.service; do
  ln -sf /dev/null "$ROOT/etc/systemd/system/$u"
done
ln -sf /lib/systemd/system/multi-user.target "$ROOT/etc/systemd/system/default.target"
# tiny image for `docker import`: a busybox-static root
rm -rf "$ROOT/usr/local/share/socker/tiny" && mkdir -p "$ROOT/usr/local/share/socker/tiny/bin"
cp "$ROOT/bin/busybox" "$ROOT/usr/local/share/socker/tiny/bin/busybox"
for a in sh ls cat echo nc sleep hostname id uname wc; do ln -s busybox "$ROOT/usr/local/share/socker/tiny/bin/$a"; done
tar -C "$ROOT/usr/local/share/socker/tiny" -cf "$ROOT/usr/local/share/socker/tiny.tar" .
rm -rf "$ROOT/usr/local/share/socker/tiny"
stamp configure

# ---- 4. kernel + initrd for direct boot ---------------------------------------
# shellcheck disable=SC2012  # kernel version directories: plain names
KVER=$(ls "$ROOT/lib/modules" | sort -V | tail -1)
install -m 644 "$ROOT/boot/vmlinuz-$KVER" "$IMG/vmlinuz"
install -m 644 "$ROOT/boot/initrd.img-$KVER" "$IMG/initrd.img"
# uncompressed ELF vmlinux (PVH entry): skips the in-guest xz decompression,
# which is slow without hardware acceleration.
python3 - "$IMG/vmlinuz" "$IMG/vmlinux" <<'EOF'
import lzma, sys
d = open(sys.argv[1], 'rb').read()
i = d.find(b'\xfd7zXZ\x00')
open(sys.argv[2], 'wb').write(lzma.LZMADecompressor().decompress(d[i:]))
EOF
echo "$KVER" > "$IMG/kernel-version"
stamp kernel

# ---- 5. ext4 -> qcow2 base ---------------------------------------------------
cleanup
for d in proc sys dev/pts; do  # nothing may still be mounted inside the tree
  mountpoint -q "$ROOT/$d" && { echo "$ROOT/$d still mounted" >&2; exit 1; }
done
for pf in "$RUN"/vm*.pid; do   # overlays of running guests depend on the base
  [ -f "$pf" ] && grep -qa socker-vm "/proc/$(cat "$pf")/cmdline" 2>/dev/null &&
    { echo "guests are running (down.sh first)" >&2; exit 1; }
done
rm -f "$IMG/root.raw" "$IMG/base.qcow2.tmp"
truncate -s "$DISK_SIZE" "$IMG/root.raw"
mkfs.ext4 -q -L socker-root -d "$ROOT" "$IMG/root.raw"
qemu-img convert -O qcow2 "$IMG/root.raw" "$IMG/base.qcow2.tmp"
rm -f "$IMG/root.raw"
mv "$IMG/base.qcow2.tmp" "$IMG/base.qcow2"
stamp "base.qcow2 ($(du -h "$IMG/base.qcow2" | cut -f1) on disk)"
