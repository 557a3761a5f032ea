// Command bench is socker's launch benchmark: `socker run IMAGE true` against
// the equivalent `docker run --rm IMAGE true`, side by side on this machine.
// Run it as root with `make bench` (go run ./test/bench -image IMAGE).
//
// Both sides start the same way a Mesos task would: /bin/sh moves itself into
// one Mesos-like task cgroup and execs the command. socker runs as a real
// test user (through setpriv --init-groups) and is installed setuid root in a
// temporary directory; docker runs as root with the flags that reproduce the
// container spec socker sends (wrapper.Spec): same user and groups, cgroup
// parent, capabilities, no_new_privs, init, pids limit, network "none",
// private IPC, no logging, working directory, environment and labels.
//
// The runs alternate (socker, docker, socker, ...) after two warm-up runs of
// each, and each is timed from the start to the end of the whole command. The
// report gives the median and p90 wall time of each side, their ratio, and
// socker's peak RSS (ru_maxrss). Each command is started from a small sh and
// reaped by the benchmark as child subreaper, so that its ru_maxrss does not
// include the benchmark's own memory (see launcher). There are no pass/fail
// thresholds on time: the benchmark fails only if a command fails, a
// prerequisite is missing, or a container is left behind.
//
// The test user "sockb-user" and its group "sockb-g1" are created if missing
// and left in place (as the integration tests leave theirs); the temporary
// directories (the install directory under $TMPDIR, the config's under /run)
// and the task cgroup are removed at the end.
package main
