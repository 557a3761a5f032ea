// Package cgroup finds and verifies the Mesos task cgroup a process runs in.
//
// What belongs here: the strict parser of /proc/<pid>/cgroup, the rule that
// decides whether a process sits inside a Mesos task cgroup
// ("/mesos/<container-id>", nested "/mesos/<id>/mesos/<id2>", and on cgroup v2
// also ".../leaf"), and the check that a container's init landed beneath that
// cgroup. The parser is a pure function so it can be table-tested and fuzzed;
// the only I/O is reading /proc and asking github.com/containerd/cgroups/v3
// which hierarchy the host runs.
//
// It also finds, reading only, the task cgroups a Mesos agent has destroyed
// but Docker left in other hierarchies (Leftovers), for socker gc.
//
// What does not belong here: creating, limiting or deleting cgroups (the Mesos
// agent, test fixtures, and for leftovers socker gc, do that), policy about users or images (package
// security), or talking to Docker (package wrapper). This package never writes
// to cgroupfs.
//
// The cgroup comes from the kernel only: never from the environment, flags or
// a path a caller chose. See SECURITY.md, promise P2.
package cgroup
