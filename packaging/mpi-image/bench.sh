#!/bin/sh
# MPI benchmark, as root: hello world (4 ranks) and ping-pong (2 ranks on two
# loopback "hosts") natively and with every hydra proxy in a socker container,
# side by side with ratios. Needs the image (make mpi-image) and Go. What is
# measured and how: test/bench/mpi/doc.go. Arguments go to the benchmark:
#   bench.sh [-n RUNS] [-pn RUNS] [-lat-iters N] [-bw-iters N] [-image IMAGE]
set -eu
[ "$(id -u)" = 0 ] || { echo "bench.sh: run as root" >&2; exit 1; }
cd "$(dirname "$0")/../.."
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
exec go run ./test/bench/mpi "$@"
