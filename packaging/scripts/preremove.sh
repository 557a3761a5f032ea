#!/bin/sh
# socker preremove (deb prerm: "remove"/"upgrade"/"deconfigure"/...;
# rpm %preun: 0 on erase, 1 on upgrade). On upgrade the timer stays enabled.
set -e

case "$1" in
	remove | deconfigure | 0) ;;
	*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	systemctl disable --now socker-gc.timer || true
elif command -v systemctl >/dev/null 2>&1; then
	# Remove the links postinstall made without a running systemd.
	systemctl disable socker-gc.timer >/dev/null 2>&1 || true
fi
exit 0
