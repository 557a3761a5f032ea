#!/bin/sh
# The README's test command, as root: set the machine up, then run every tier
# (format, vet, shellcheck, dependency fences and the list of packages socker
# links, unit tests, a bounded run of every fuzz target, and the root
# integration tests — the real-agent tier through a real Mesos master and
# agent first, then the main suite, the attack suite among it — against the
# real dockerd with socker installed setuid root), then the cgroup v2 tier
# (the .deb in a Debian 12 guest with systemd on cgroup v2, under qemu).
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/setup.sh
make check
make fuzz FUZZTIME="${FUZZTIME:-200000x}"
# First and on its own: a starting Mesos agent destroys every cgroup under
# mesos/ it does not know, the integration suite's task cgroups among them.
make test-mesos
make integration
# Last: it builds the package and boots a guest (about 2.5 min, 5 min the
# first time on a machine: the guest image).
make test-v2
