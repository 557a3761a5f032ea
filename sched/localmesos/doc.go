// Package localmesos is an embedded local Mesos: a master and N agents in
// one process, on one machine, speaking the Mesos v1 scheduler HTTP API on a
// unix socket (access.go: who may connect, and the limits). It is what
// `mesos-local` is to Mesos and `local[N]` to Spark: the engine of `mrun
// --master local[:N]` and the stand-in for a Mesos cluster in tests. On a real cluster, schedulers talk to a real master.
//
// What it reproduces, checked against byte-exact captures of a Mesos 1.12
// master and agent (testdata/, see its README):
//   - the HTTP layer of POST /api/v1/scheduler: status lines, header order,
//     error texts, Accept/Content-Type negotiation, the order of request
//     checks, keep-alive connections (http.go);
//   - the SUBSCRIBE stream: one HTTP chunk per RecordIO record, JSON as the
//     master writes it or protobuf, heartbeats, the zero chunk on TEARDOWN
//     and failover (stream.go, codec.go);
//   - offers, DECLINE filters, REVIVE/SUPPRESS, ACCEPT validation with the
//     master's TASK_LOST/TASK_DROPPED/TASK_ERROR updates, KILL,
//     reconciliation (cluster.go, calls.go);
//   - the agent and command executor: STARTING/RUNNING/terminal updates
//     with uuids, sent one at a time, each after the previous one was
//     acknowledged, re-sent unchanged when it is not; SIGTERM then SIGKILL
//     after the grace period (cluster.go);
//   - --switch_user and the cgroups isolator: each task runs as
//     CommandInfo.user (else the framework's user) with that user's groups,
//     in its own process group and sandbox, inside a fresh cgroup
//     mesos/<container-id> with the task's cpu and memory limits, made by
//     root, its directory (not its control files) chowned to the task's
//     user in every hierarchy it isolates (cpu, cpuacct, memory, freezer:
//     package cgroup's MesosManagedV1, the list socker's gc reads too),
//     removed when the task ends (launcher.go, cgroups.go). Launchers are
//     swappable, so the master logic is tested without root;
//   - filesystem/linux and namespaces/pid, run as root (Config.HostNamespaces
//     turns them off): each task has its own mount namespace (the host's
//     mounts as slaves) and, on Linux >= 6.11 (where socker can run in
//     one), pid namespace with its own /proc; its first
//     process is the task init, as the task's user (the executor pid), which
//     runs the command, takes the agent's signals and reports the command's
//     status (taskinit.go).
//
// Where it differs from a real agent on the node: run by a user (mrun
// --master local), it cannot make cgroups under the root-owned mesos
// directory, so its tasks go to DelegatedParent(uid)/mesos/<container-id>,
// beneath a directory root gave that user (delegate.go): a layout no real
// agent makes, which socker accepts only with cgroups.allow_delegated, and
// its tasks share its namespaces (making them needs root). It
// isolates no pids, devices or other hierarchy (an agent's cgroups/pids
// would). On cgroup v2 it makes mesos/<id> with the limits and the task in
// mesos/<id>/leaf, as the cgroups v2 isolator of ../shared/mesos's build
// (later than the 1.12.0 tag; apache/mesos docs/cgroups2-support.md) does.
//
// What it is not: a production master. Its only authentication is the
// kernel's peer credentials on its socket, its only authorization that a
// framework and its tasks are the connecting uid's (access.go); there is no
// persistence or recovery (a restart forgets everything),
// no master failover or agent failure, no roles, quota, reservations,
// volumes, custom executors, task groups, container images or fetcher
// URIs, and no operator API or web UI. Tasks run as other users only when
// the process runs as root; a non-root process runs its own tasks, in cgroups
// only where root delegated them (delegate.go).
package localmesos
