#!/bin/sh
# The README's test command, as root: set the machine up, then run every tier
# (format, vet, dependency fences, unit tests, and the root integration tests
# against the real dockerd with socker installed setuid root).
set -eu
cd "$(dirname "$0")/.."
export PATH="/usr/local/go/bin:$PATH"
scripts/setup.sh
make check
make integration
