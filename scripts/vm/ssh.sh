#!/bin/bash
# ssh.sh I [CMD...] — run CMD (or an interactive shell) as root in guest I,
# over the bridge inside the netns (the only place 10.77.0.0/24 exists).
# Also: ssh.sh I --console   attach to the serial console (Ctrl-] ... see README)
set -euo pipefail
# shellcheck disable=SC1091  # common.sh, beside this script
. "$(dirname "$0")/common.sh"
i=${1:?usage: ssh.sh I [CMD...]}; shift
if [ "${1:-}" = --console ]; then
  exec socat -,raw,echo=0,escape=0x1d "UNIX-CONNECT:$RUN/vm$i.serial"
fi
tty=(); [ $# -eq 0 ] && [ -t 0 ] && tty=(-t)
exec ip netns exec "$NETNS" ssh "${SSH_OPTS[@]}" "${tty[@]}" "root@$(guest_ip "$i")" "$@"
