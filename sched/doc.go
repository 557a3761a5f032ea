// Package sched is mrun's Mesos framework: Run turns an MPI job (Options,
// from `mrun -N nodes -n procs -c cpus [-m MB]`) into one Mesos command task
// per node, each running `socker run IMAGE -- hydra_pmi_proxy ...`, and
// returns mpiexec's exit status.
//
// What belongs here, one file per part of a run:
//   - run.go: Options, Run, and what Run sets up before the first event:
//     the caller of the master's v1 scheduler API, the subscription and
//     the goroutine that reads its events;
//   - master.go: MasterEndpoint, the --master forms and the endpoint URL;
//   - job.go: one job's state and its loop, which hands each thing that
//     happens to its step (an event to its handler, the watchdog's tick,
//     the placement timeout, mpiexec's exit, interruption), then kill,
//     decline and teardown;
//   - handlers.go: one handler per event type of the master (SUBSCRIBED,
//     OFFERS, RESCIND, UPDATE, ERROR, FAILURE, HEARTBEAT), as mesos-go's
//     events.HandlerSet, and acknowledged, the one rule by which every
//     status update is acknowledged;
//   - launch.go: the offers held as placement reads them, and the launch of
//     a plan placement decided: mpiexec.hydra, then one ACCEPT per host;
//   - hydra.go: hydra's manual launcher, its HYDRA_LAUNCH lines read into
//     per-host proxy arguments, and the proxy's socker command line;
//   - timings.go: Timings, when the job reached each phase (mrun
//     --timings), marked by the steps above, and its report.
//
// In subpackages: placement (Place, pure: feasible -> rank -> select) and
// localmesos (the embedded local Mesos of `mrun --master local[:N]`).
//
// What does not belong here:
//   - mrun's command line (flags, --help, usage errors, signals, exit
//     statuses, --setup-local): cmd/mrun; the text of --help and mrun(1):
//     package docs;
//   - placement decisions: package placement; this package only feeds it
//     offers and carries out its Plan;
//   - anything the setuid socker binary links. cmd/socker must never import
//     sched or any of its subpackages (a dependency fence test enforces it):
//     this package uses os/exec, the network and mesos-go, none of which may
//     reach the privileged binary;
//   - policy: who may run which image with which mounts is decided by package
//     security inside socker, on the node, never by the scheduler;
//   - Docker: the scheduler never talks to a Docker daemon; containers are
//     created only by socker on the agent.
//
// Trust: everything that arrives from the Mesos master (offers, agent ids,
// hostnames, resource amounts, status updates) is untrusted input and is
// validated before use; values that have not been checked yet are named
// unsafeX.
package sched
