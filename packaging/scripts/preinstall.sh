#!/bin/sh
# socker preinstall (deb preinst: "install"/"upgrade" ...; rpm %pre: 1 on
# install, 2 on upgrade). Runs before the files are unpacked, so that
# /usr/bin/socker (root:socker 4750) is unpacked with its group already known.
set -e

# The group whose members may run socker. A system group: no user is put in
# it here; the site adds its users (usermod -aG socker USER, or its directory
# service).
if ! getent group socker >/dev/null; then
	if command -v groupadd >/dev/null 2>&1; then
		groupadd --system socker
	else
		addgroup --system socker
	fi
fi
exit 0
