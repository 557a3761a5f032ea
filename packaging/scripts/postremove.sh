#!/bin/sh
# socker postremove (deb postrm: "remove"/"purge"/"upgrade"/...; rpm %postun:
# 0 on erase, 1 on upgrade).
set -e

if [ -d /run/systemd/system ]; then
	systemctl daemon-reload || true
fi

# Deliberately left behind, even on purge:
#  - /var/log/socker and its audit log: the record of who ran which
#    container is security evidence; deleting it is the admin's decision
#    (and dpkg/rpm remove the directory themselves only when it is empty);
#  - the group "socker": files elsewhere (home directories, shared storage,
#    a site's own wrappers) may be owned by its gid, and a later group that
#    reused the gid would inherit them.
if [ "$1" = purge ]; then
	if [ -d /var/log/socker ]; then
		echo "socker: leaving /var/log/socker (audit evidence); remove it yourself when no longer needed"
	fi
	if getent group socker >/dev/null; then
		echo "socker: leaving the group socker (files elsewhere may be owned by it); groupdel socker to remove it"
	fi
fi
exit 0
