// Command mpi is the MPI benchmark of socker's hydra bootstrap: the same MPI
// jobs run natively and with every hydra proxy in a socker container, side by
// side on this machine. Run it as root: packaging/mpi-image/bench.sh
// (go run ./test/bench/mpi [-n RUNS] [-pn RUNS] [-lat-iters N] [-bw-iters N]).
// It is a measurement, not a test: it fails only if a job fails, a
// prerequisite is missing or a container is left behind.
//
// Jobs, all run as a test user with mpiexec.hydra outside any container:
//
//   - hello: `mpi-hello` with 4 ranks; wall time from starting mpiexec until
//     mpiexec and every proxy have exited, (a) native `mpiexec.hydra -n 4`
//     (one proxy, forked by mpiexec), (b) the manual launcher with two
//     "hosts" (localhost:2 and a second loopback name) and native proxies,
//     (c) the same with each proxy run by `socker run socker/mpich:4 --
//     hydra_pmi_proxy ...` in a task cgroup of its own (host network), as
//     mrun launches them. (c)/(a) is the cost of the whole bootstrap path,
//     (c)/(b) the cost of socker and the containers alone. The task cgroups
//     are created before the clock starts (Mesos' work, not socker's).
//     (d) the whole path: `mrun -N 2 -n 4 -c 1 --master local:2 mpi-hello`
//     as the user, from mrun's start to its exit: starting the embedded
//     local Mesos, subscribing, placing, mpiexec, two tasks in the cgroups
//     delegated to the user, socker, the containers, teardown. (d)/(a) is
//     what a user pays for submitting through mrun instead of running
//     mpiexec by hand.
//   - ping-pong: `mpi-pingpong` ranks 0 and 1 on the two hosts, one proxy
//     each (so MPICH sees two nodes and talks through UCX, not its own
//     shared memory), latency (8 B) and bandwidth (1 MiB): native proxies
//     (UCX picks sysv/cma shared memory), native proxies with
//     UCX_TLS=tcp,self (TCP over loopback), and proxies in socker
//     containers (UCX sees other IPC and PID namespaces, cannot share
//     memory and uses TCP over lo); plus, for reference, both ranks under
//     one native proxy (`mpiexec.hydra -n 2`, MPICH's own shared memory),
//     and the job submitted with `mrun -N 2 -n 2 --master local:2`.
//     Containers on one host pay for TCP where native ranks share memory;
//     on a cluster, with one container per node, ranks on different nodes
//     use the network either way, so the both-TCP ratio is the containers'
//     own cost.
//
// Every run sets UCX_NET_DEVICES=lo (the image's ucx.conf does too): TCP
// goes over loopback only, never to the machine's other addresses.
//
// The native side runs the programs compiled from packaging/mpi-image with
// the host's mpicc (the image's are compiled the same way from the same
// source and linked against the same libraries). socker is built and
// installed setuid root in a temporary directory with its own config
// (socker/mpich:4 allowed, network "host"), as test/bench does; the test
// user sockb-user is created if missing and left in place. Runs alternate
// between the variants after one warm-up round; medians are reported.
package main
