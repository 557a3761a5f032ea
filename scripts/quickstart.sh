#!/bin/sh
# The README's main job on a fresh Debian 12 machine, as root: set the machine
# up, install socker setuid root with the example config, and run a container
# as the non-root demo user inside a Mesos-like task cgroup.
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/setup.sh
make install
scripts/demo.sh
