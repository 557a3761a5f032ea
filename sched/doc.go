// Package sched is mrun's Mesos framework: the code that turns an MPI job
// (`mrun -N nodes -n procs -c cpus [-m MB]`) into one Mesos command task per
// node, each running `socker run IMAGE -- hydra_pmi_proxy ...`.
//
// What belongs here:
//   - placement: Place, a pure function from a job and the offers in hand to
//     a gang plan (all nodes or nothing), first fit or best fit, with no I/O,
//     no clock and no randomness, so it is table- and property-tested;
//   - the hydra bootstrap: running `mpiexec.hydra -launcher manual` for a
//     plan and reading its HYDRA_LAUNCH lines into per-host proxy arguments;
//   - the scheduler loop on the Mesos v1 HTTP scheduler API (subscribe,
//     offers, accept/decline, status updates and acknowledgements, kill,
//     teardown, timeouts);
//   - in subpackages, the embedded local Mesos (`mrun --master local[:N]`) and
//     other scheduler-side helpers.
//
// What does not belong here:
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
