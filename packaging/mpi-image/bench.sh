#!/bin/sh
# MPI benchmark, as root, natively and through socker side by side with
# ratios: (a) 2 ranks in one container (with the packaged and with Docker's
# built-in seccomp profile), (b) 2 ranks in two containers vs native TCP,
# (c) a trivial job through mrun with mrun's own timings of its parts, and
# hello world's bootstrap paths. Needs the image (make mpi-image) and Go.
# What is measured and how: test/bench/mpi/doc.go. Arguments go to the
# benchmark:
#   bench.sh [-n RUNS] [-pn RUNS] [-time SECONDS] [-only a,b,c,hello] [-image IMAGE]
set -eu
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 1; }
cd "$(dirname "$0")/../.."
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
exec go run ./test/bench/mpi "$@"
