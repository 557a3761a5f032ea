#!/bin/bash
# up.sh [N]  — boot guests 1..N (default 3) on a bridge inside netns $NETNS.
# Idempotent: a guest already running is left alone; the netns, bridge and
# taps are created only when missing.  Waits until every guest answers ssh.
# Env: SOCKER_VM_MEM (MiB, 2048)  SOCKER_VM_CPUS (1)
#      SOCKER_VM_ACCEL (tcg | kvm; default tcg, see README: /dev/kvm here is PVM)
#      SOCKER_VM_SHARE (host folder shared read-only over 9p at /host in the
#                       guest; default: none)
#      SOCKER_VM_WAIT (seconds to wait for ssh, 900)
#      SOCKER_VM_TB_MB (TCG translation cache per guest, MiB, 1024)
set -euo pipefail
# shellcheck disable=SC1091  # common.sh, beside this script
. "$(dirname "$0")/common.sh"
N=${1:-3}
MEM=${SOCKER_VM_MEM:-2048}
CPUS=${SOCKER_VM_CPUS:-1}
ACCEL=${SOCKER_VM_ACCEL:-tcg}
WAIT=${SOCKER_VM_WAIT:-900}
SHARE=${SOCKER_VM_SHARE:-}
[ "$SHARE" = none ] && SHARE=
[ -f "$IMG/base.qcow2" ] || { echo "no $IMG/base.qcow2: run build-image.sh first" >&2; exit 1; }
mkdir -p "$RUN"

# ---- network: everything inside the netns; no uplink, no NAT, no route out ----
ip netns list | grep -qw "^$NETNS" || ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
if ! ip -n "$NETNS" link show "$BRIDGE" >/dev/null 2>&1; then
  ip -n "$NETNS" link add "$BRIDGE" type bridge
  ip -n "$NETNS" addr add "$SUBNET.1/24" dev "$BRIDGE"
fi
ip -n "$NETNS" link set "$BRIDGE" up

case $ACCEL in
  tcg) ACCEL_ARGS=(-accel "tcg,thread=multi,tb-size=${SOCKER_VM_TB_MB:-1024}" -cpu max) ;;
  kvm) ACCEL_ARGS=(-accel kvm -cpu host) ;;
  *) echo "SOCKER_VM_ACCEL must be tcg or kvm" >&2; exit 1 ;;
esac

alive() { # guest $1's qemu still running (and really ours)?
  local p
  p=$(cat "$RUN/vm$1.pid" 2>/dev/null) || return 1
  [ -n "$p" ] && grep -qa "socker-vm$1" "/proc/$p/cmdline" 2>/dev/null
}

declare -A T0
for i in $(seq 1 "$N"); do
  if alive "$i"; then echo "vm$i already running (pid $(cat "$RUN/vm$i.pid"))"; continue; fi
  tap=svtap$i
  ip -n "$NETNS" link show "$tap" >/dev/null 2>&1 || ip -n "$NETNS" tuntap add dev "$tap" mode tap
  ip -n "$NETNS" link set "$tap" master "$BRIDGE" up
  ov=$RUN/vm$i.qcow2
  if [ ! -f "$ov" ] || [ "$IMG/base.qcow2" -nt "$ov" ]; then
    rm -f "$ov"; qemu-img create -q -f qcow2 -F qcow2 -b "$IMG/base.qcow2" "$ov"
  fi
  share_args=()
  [ -n "$SHARE" ] && share_args=(-virtfs "local,path=$SHARE,mount_tag=host,security_model=none,readonly=on")
  rm -f "$RUN/vm$i.console.log"
  T0[$i]=$(date +%s%3N)
  ip netns exec "$NETNS" qemu-system-x86_64 -name "socker-vm$i" \
    "${ACCEL_ARGS[@]}" -m "$MEM" -smp "$CPUS" \
    -nodefaults -no-user-config -display none \
    -kernel "$IMG/vmlinux" -initrd "$IMG/initrd.img" \
    -append "root=/dev/vda rw console=ttyS0 net.ifnames=0 apparmor=0 quiet systemd.hostname=vm$i socker.ip=$(guest_ip "$i")/24" \
    -drive "file=$ov,if=virtio,format=qcow2,cache=unsafe,discard=unmap" \
    -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no" \
    -device "virtio-net-pci,netdev=n0,mac=52:54:00:77:00:$(printf %02x $((10 + i))),romfile=" \
    -device virtio-rng-pci \
    "${share_args[@]}" \
    -chardev "socket,id=ser0,path=$RUN/vm$i.serial,server=on,wait=off,logfile=$RUN/vm$i.console.log" \
    -serial chardev:ser0 \
    -qmp "unix:$RUN/vm$i.qmp,server=on,wait=off" \
    -pidfile "$RUN/vm$i.pid" -daemonize
  echo "vm$i started: pid $(cat "$RUN/vm$i.pid"), $(guest_ip "$i"), serial $RUN/vm$i.serial"
done

# ---- wait for ssh ----
for i in $(seq 1 "$N"); do
  t=${T0[$i]:-}
  until ip netns exec "$NETNS" ssh "${SSH_OPTS[@]}" "root@$(guest_ip "$i")" true 2>/dev/null; do
    alive "$i" || { echo "vm$i died; see $RUN/vm$i.console.log" >&2; exit 1; }
    if [ -n "$t" ] && [ $(( $(date +%s%3N) - t )) -gt $((WAIT * 1000)) ]; then
      echo "vm$i: no ssh after ${WAIT}s; see $RUN/vm$i.console.log" >&2; exit 1
    fi
    sleep 2
  done
  if [ -n "$t" ]; then
    ms=$(( $(date +%s%3N) - t ))
    printf 'vm%s: ssh answers %d.%ds after qemu start\n' "$i" $((ms / 1000)) $((ms % 1000 / 100))
  else
    echo "vm$i: ssh answers"
  fi
done
