#!/bin/sh
# Prepares a Debian 12 machine for socker, as root: installs what is missing
# (Debian's docker.io, busybox-static, MPICH, python3 for the MPI image, jq, rpm to inspect packages,
# the shellcheck that make check runs, the Mesos build's libraries, ...), starts dockerd with the cgroupfs
# driver if it is not running, builds the local test image and the MPI image
# (socker/mpich:4), and creates the demo user. Idempotent: run it as often as
# you like.
set -eu
[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }
cd "$(dirname "$0")/.."

say() { echo "setup: $*"; }

# The packages missing, as the positional parameters.
set --
# The second line: the runtime libraries of the Mesos 1.12 build the
# real-agent tier runs (make test-mesos; ../shared/mesos/README.md).
for pkg in docker.io busybox-static make git util-linux passwd procps ca-certificates mpich libmpich-dev jq rpm logrotate shellcheck python3 gcc libc6-dev \
	zstd libprotobuf32 libgrpc++1.51 libgrpc29 libzookeeper-mt2 libarchive13 libsasl2-2 libsasl2-modules libcurl4 libapr1 libsvn1 zlib1g libssl3; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || set -- "$@" "$pkg"
done
if [ $# -gt 0 ]; then
	say "installing $*"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "$@" >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
	[ -x /usr/local/go/bin/go ] || { echo "setup.sh: Go is not installed (need the version in go.mod, at /usr/local/go)" >&2; exit 1; }
	export PATH="/usr/local/go/bin:$PATH"
fi

if ! docker info >/dev/null 2>&1; then
	say "starting dockerd"
	mkdir -p /var/log
	nohup dockerd --exec-opt native.cgroupdriver=cgroupfs >>/var/log/dockerd.log 2>&1 &
	i=0
	until docker info >/dev/null 2>&1; do
		i=$((i + 1))
		[ $i -le 120 ] || { echo "setup.sh: dockerd did not come up; see /var/log/dockerd.log" >&2; tail -20 /var/log/dockerd.log >&2; exit 1; }
		sleep 0.5
	done
fi
driver=$(docker info --format '{{.CgroupDriver}}')
[ "$driver" = cgroupfs ] || { echo "setup.sh: dockerd uses the $driver cgroup driver; socker needs cgroupfs (dockerd --exec-opt native.cgroupdriver=cgroupfs)" >&2; exit 1; }
say "dockerd $(docker version --format '{{.Server.Version}}') running, cgroup driver $driver"

scripts/build-test-image.sh socker-test/tiny:1
packaging/mpi-image/build.sh socker/mpich:4

if ! id socker-demo >/dev/null 2>&1; then
	say "creating the demo user socker-demo"
	useradd -m -U -s /bin/sh socker-demo
fi
say "done"
