// Package v2 is the cgroup v2 tier (`make test-v2`, scripts/vm/test-v2.sh):
// tests that run inside a Debian 12 guest booted with systemd on the
// unified cgroup hierarchy, against the socker .deb installed there
// (/usr/bin/socker, /etc/socker, socker-gc.timer), as real users, with the
// guest's Docker. The host builds the package and this test binary
// (`go test -c -tags v2`), shares both read-only over 9p, and runs the
// binary as root in the guest.
//
// What belongs here: what only a v2 node with systemd can show (the
// package under systemd, Mesos' v2 task cgroup layout, Docker's cgroup
// drivers on v2). What does not: anything the host tiers cover (they run on
// this project's cgroup v1 machines), and builds (the guest runs under TCG,
// ~10x slower than the host).
package v2
