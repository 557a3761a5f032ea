#!/bin/bash
# down.sh [--wipe] — power off every guest started by up.sh, then delete the
# taps, the bridge and the netns.  Only PIDs from up.sh's pidfiles are
# signalled, and only when that PID's command line names socker-vmI.
# --wipe also deletes the per-guest overlays (the base image is kept).
set -uo pipefail
# shellcheck disable=SC1091  # common.sh, beside this script
. "$(dirname "$0")/common.sh"
ours() { [ -n "$1" ] && grep -qa "socker-vm$2" "/proc/$1/cmdline" 2>/dev/null; }
qmp() { printf '{"execute":"qmp_capabilities"}\n{"execute":"%s"}\n' "$2" |
        timeout 5 socat - "UNIX-CONNECT:$RUN/vm$1.qmp" >/dev/null 2>&1; }
pids=()
for pf in "$RUN"/vm*.pid; do
  [ -f "$pf" ] || continue
  i=${pf##*/vm}; i=${i%.pid}; p=$(cat "$pf")
  if ours "$p" "$i"; then qmp "$i" system_powerdown; pids+=("$i:$p"); else rm -f "$pf"; fi
done
for ip in "${pids[@]}"; do            # ACPI power button -> systemd poweroff
  i=${ip%%:*}; p=${ip#*:}
  for _ in $(seq 60); do ours "$p" "$i" || break; sleep 1; done
  if ours "$p" "$i"; then qmp "$i" quit; sleep 2; fi
  if ours "$p" "$i"; then kill "$p"; sleep 1; fi
  ours "$p" "$i" && echo "vm$i (pid $p) still running!" >&2 || echo "vm$i stopped"
  rm -f "$RUN/vm$i.pid" "$RUN/vm$i.qmp" "$RUN/vm$i.serial"
done
if ip netns list | grep -qw "^$NETNS"; then
  for l in $(ip -n "$NETNS" -o link show | awk -F': ' '{print $2}' | cut -d@ -f1); do
    case $l in svtap*|"$BRIDGE") ip -n "$NETNS" link del "$l" ;; esac
  done
  ip netns del "$NETNS" && echo "netns $NETNS deleted"
fi
[ "${1:-}" = --wipe ] && rm -f "$RUN"/vm*.qcow2 && echo "overlays wiped"
exit 0
