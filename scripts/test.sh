#!/bin/sh
# The README's test command, as root: set the machine up, then run every tier
# (format, vet, shellcheck, dependency fences and the list of packages socker
# links, unit tests, a bounded run of every fuzz target, and the root
# integration tests — the attack suite among them — against the real dockerd
# with socker installed setuid root).
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/setup.sh
make check
make fuzz FUZZTIME="${FUZZTIME:-15s}"
make integration
