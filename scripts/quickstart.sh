#!/bin/sh
# The README's main job on a fresh Debian 12 machine, as root: set the machine
# up, install socker (setuid root) and mrun with the single-machine config,
# and run an MPI job through mrun on the embedded local Mesos as the non-root
# demo user (scripts/demo.sh).
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/setup.sh
# One machine: the local Mesos' config (packaging/socker-local.toml), unless
# the admin already changed the config.
conf=/etc/socker/socker.toml
if [ ! -e "$conf" ] || cmp -s packaging/socker.toml "$conf"; then
	install -d -o root -g root -m 0755 "$(dirname "$conf")"
	install -o root -g root -m 0644 packaging/socker-local.toml "$conf"
elif ! cmp -s packaging/socker-local.toml "$conf"; then
	echo "quickstart: keeping your $conf; the demo needs what packaging/socker-local.toml allows" >&2
fi
make install
scripts/demo.sh
