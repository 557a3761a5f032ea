#!/bin/bash
# make test-v2: the cgroup v2 tier (test/v2), as root. Builds the .deb and the
# v2 test binary on this host, boots one Debian 12 guest (systemd, cgroup v2,
# Debian's docker.io) under qemu with both shared read-only at /host,
# installs the package there and runs the tests as root in the guest. The
# guest image is built once per machine (build-image.sh, about 3-4 min;
# reruns about 10 s); the guest boots in 1-2.5 min under TCG (README of
# ../shared/vm: /dev/kvm here cannot run Debian's kernel). The guest is
# powered off at the end, pass or fail; its console log stays in
# $SOCKER_VM_DIR/run. SOCKER_V2_RUN (a go test -run pattern) picks tests.
set -euo pipefail
cd "$(dirname "$0")/../.."
VM=scripts/vm
command -v go >/dev/null 2>&1 || PATH="/usr/local/go/bin:$PATH"
[ "$(id -u)" = 0 ] || { echo "test-v2.sh: run as root" >&2; exit 1; }
t0=$SECONDS
say() { echo "test-v2: $* (+$((SECONDS - t0)) s)"; }

make -s package
# shellcheck disable=SC2012  # package file names: plain
deb=$(ls -t bin/pkg/*.deb | head -1)
share=$(mktemp -d /tmp/socker-v2-share.XXXXXX)
chmod 755 "$share"
# shellcheck disable=SC2317  # run by the trap
cleanup() { "$VM/down.sh" >/dev/null 2>&1 || true; rm -rf "$share"; }
trap cleanup EXIT
cp "$deb" "$share/socker.deb"
CGO_ENABLED=0 go test -c -tags v2 -o "$share/v2.test" ./test/v2
docker save -o "$share/mpich.tar" socker/mpich:4 # the main job's image (scripts/setup.sh built it)
chmod 644 "$share/mpich.tar"
say "built $(basename "$deb"), the v2 test binary and the MPI image's tarball"

"$VM/build-image.sh" | sed 's/^/  /'
say "guest image ready"
"$VM/down.sh" >/dev/null 2>&1 || true # a guest still up may lack the share
SOCKER_VM_SHARE=$share "$VM/up.sh" 1 | sed 's/^/  /'
say "guest vm1 answers ssh"

# shellcheck disable=SC2016  # expanded in the guest
"$VM/ssh.sh" 1 'set -e
	systemctl is-system-running --wait >/dev/null || true
	mountpoint -q /host
	DEBIAN_FRONTEND=noninteractive dpkg -i /host/socker.deb >/dev/null
	echo "  installed: $(dpkg-query -W -f "\${Package} \${Version}" socker); $(uname -r); $(stat -fc %T /sys/fs/cgroup); docker $(docker version -f "{{.Server.Version}}")"'
say "package installed in the guest"

status=0
"$VM/ssh.sh" 1 /host/v2.test -test.v -test.count=1 -test.timeout 30m -test.run "'${SOCKER_V2_RUN:-.}'" || status=$?
say "v2 tests ended with status $status"
exit "$status"
