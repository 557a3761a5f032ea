// Command mpi is the MPI benchmark of socker and mrun: the same MPI jobs run
// natively and through socker (and mrun), side by side on this machine,
// with ratios. Run it as root: packaging/mpi-image/bench.sh (go run
// ./test/bench/mpi [-n RUNS] [-pn RUNS] [-time SECONDS] [-only
// a,b,c,hello] [-image IMAGE]). It is a measurement, not a test: it fails
// only if a job fails, a prerequisite is missing or a container is left
// behind. Each part prints its table as soon as it is done; with the
// defaults the whole takes a few minutes.
//
// Every job runs as the test user. In each part the variants alternate run
// by run, after one warm-up round that is not counted; every number printed
// is the median over the runs (-pn for (a) and (b), default 5; -n for (c)
// and hello, default 10).
//
// mpi-perf (packaging/mpi-image/mpi-perf.c) measures as the Intel MPI
// Benchmarks do: PingPong between ranks 0 and 1 (latency: half a round
// trip, in us, at 0 B, 8 B and 1 KiB; bandwidth: bytes per half round trip,
// in MB/s of 10^6 bytes, at 64 KiB, 1 MiB and 4 MiB) and MPI_Allreduce
// (MPI_SUM of MPI_INTs, us per call averaged over the ranks, at 8 B and 64
// KiB), each size after a warm-up with an iteration count calibrated so
// that its timed run takes about -time seconds (default 0.2), from
// page-aligned buffers written before any timing.
//
// Parts:
//
//   - (a) 2 ranks in ONE socker container against 2 native ranks: `socker
//     run socker/mpich:4 -- mpiexec.hydra -n 2 mpi-perf` (the container run
//     as the user in a task cgroup of its own, host network) against
//     `mpiexec.hydra -n 2 mpi-perf` on the host, three variants: native;
//     socker whose config sets container.seccomp_profile to the packaged
//     profile (packaging/seccomp: Moby's current default, what sites
//     install); socker without that key, so with Docker's built-in profile
//     (Debian 12's Docker 20.10 denies process_vm_readv/writev, which UCX's
//     cma transport uses for single-copy large messages: the cause of
//     issue 18). Two socker installs, one config each. Ratio = container /
//     native (latency and Allreduce: time, lower is better; bandwidth:
//     higher is better); targets, marked ok or MISS: latency <= 1.1x,
//     bandwidth >= 0.9x native (Allreduce has none).
//   - (b) 2 ranks in TWO containers on one host against native ranks over
//     TCP: mpiexec.hydra's manual launcher with two loopback "hosts"
//     (localhost and a second name of this machine) and one rank each, so
//     that MPICH talks through UCX between them; the two proxies natively
//     with UCX_TLS=tcp,self (the base), each through `socker run
//     socker/mpich:4 -- hydra_pmi_proxy ...` in a task cgroup of its own
//     (other IPC and PID namespaces: UCX cannot share memory and uses TCP
//     over lo), the job submitted with `mrun -N 2 -n 2 --master local:2`,
//     and, for reference, native proxies with UCX's own choice (shared
//     memory). Target: >= 0.95x native TCP (bandwidth ratio >= 0.95,
//     latency ratio <= 1.05); the line "(b)" gives the 8 B latency and 1
//     MiB bandwidth ratios. On a cluster, with one container per node,
//     ranks on different nodes use the network either way, so this ratio
//     is the containers' own cost.
//   - (c) a trivial job's wall time, from exec to exit: `mrun -N 1 -n 2
//     --master local:2 --timings mpi-hello` against `mpiexec.hydra -n 2
//     mpi-hello`, and mrun's parts from its own --timings report (docs:
//     mrun(1)): for each phase (local Mesos started, subscribed, first
//     offers, mpiexec started, tasks launched, tasks running, first
//     output, mpiexec exited, tasks ended, framework torn down, local
//     Mesos stopped) the median time since the previous phase, plus the
//     time outside mrun's clock (setpriv, exec and Go start-up, exit: the
//     wall time less mrun's last mark), each as a share of the median
//     wall time, and the largest part named. TASK_RUNNING comes as soon as
//     the agent has started the task's socker, before socker creates its
//     container (as a Mesos command executor reports it): creating and
//     starting the container, the proxy connecting back and MPI_Init fall
//     in "tasks running -> first output"; removing the container in
//     "-> tasks ended".
//   - hello: `mpi-hello` with 4 ranks, wall time from starting mpiexec
//     until mpiexec and every proxy have exited: native `mpiexec.hydra -n
//     4` (one proxy, forked by mpiexec); the manual launcher with the two
//     hosts and native proxies; the same with each proxy run by socker in
//     a task cgroup of its own, as mrun launches them (the cgroups are
//     created before the clock starts: Mesos' work, not socker's); and
//     `mrun -N 2 -n 4 -c 1 --master local:2 mpi-hello` from mrun's start
//     to its exit (the local Mesos, subscribing, placing, mpiexec, two
//     tasks in the cgroups delegated to the user, socker, the containers,
//     teardown). socker path / native manual launcher is the cost of
//     socker and the containers alone; mrun / native mpiexec what a user
//     pays for submitting through mrun instead of running mpiexec by hand.
//
// Every run sets UCX_NET_DEVICES=lo (the image's ucx.conf does too): TCP
// goes over loopback only, never to the machine's other addresses.
//
// The native side runs the programs compiled from packaging/mpi-image with
// the host's mpicc (the image's are compiled the same way from the same
// source and linked against the same libraries). socker is built and
// installed setuid root in temporary directories with its own configs
// (socker/mpich:4 allowed, network "host", cgroups.allow_delegated for the
// local Mesos' task cgroups; the packaged seccomp profile or none), as
// test/bench does; mrun is built from this checkout; the test user
// sockb-user is created if missing and left in place.
package main
