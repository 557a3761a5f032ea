#!/bin/sh
# socker postinstall (deb postinst: "configure" ...; rpm %post: 1 on install,
# 2 on upgrade). Never touches /etc/socker/socker.toml: that is the site's.
set -e

case "$1" in
	abort-remove | abort-deconfigure) exit 0 ;; # deb: nothing was undone
esac

# preinstall created the group; make sure of it (it may have been removed
# since, and the deb "abort-upgrade" path skips preinstall).
if ! getent group socker >/dev/null; then
	if command -v groupadd >/dev/null 2>&1; then
		groupadd --system socker
	else
		addgroup --system socker
	fi
fi

# /usr/bin/socker: setuid root, runnable by root and group socker only. The
# package already ships it so, but the group may have been unknown when the
# file was unpacked. chown first: chown clears the setuid bit. On Debian, an
# admin's dpkg-statoverride for the file wins: leave it alone then.
if command -v dpkg-statoverride >/dev/null 2>&1 && dpkg-statoverride --list /usr/bin/socker >/dev/null 2>&1; then
	echo "socker: /usr/bin/socker has a dpkg-statoverride; leaving its owner and mode as set there"
else
	chown root:socker /usr/bin/socker
	chmod 4750 /usr/bin/socker
fi

# The audit log's directory (socker refuses to run without it). Created only
# if missing: an existing one is the site's, with its log.
if [ ! -d /var/log/socker ]; then
	install -d -o root -g root -m 0700 /var/log/socker
fi

# socker-gc.timer removes containers and cgroups left behind (every minute).
if [ -d /run/systemd/system ]; then
	systemctl daemon-reload
	systemctl enable --now socker-gc.timer
elif command -v systemctl >/dev/null 2>&1; then
	# systemd is not running (a chroot or image build, a container): only
	# create the enablement links, so that the timer runs once the node
	# boots with systemd. Harmless where systemd is never PID 1.
	systemctl enable socker-gc.timer >/dev/null 2>&1 || true
fi
exit 0
