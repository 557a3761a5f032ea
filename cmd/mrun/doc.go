// Command mrun submits an MPI job to Mesos: `mrun -N nodes -n procs -c cpus
// [-m MB] --image IMAGE --master URL PROGRAM [ARGS...]`.
//
// What belongs here: mrun's command line: its flags (flags.go, their usage
// strings taken from docs.MrunOptions), --help and the checks that make a
// usage error (exit 2, one line then the usage; run.go), running the job
// until it ends or a signal interrupts it, and mrun's exit status (job.go),
// and what --master local[:N] and --setup-local need before the job starts:
// the embedded local Mesos and the delegation of its cgroups (local.go).
// main.go is only main.
//
// What does not: the framework (package sched: sched.Run), placement
// (sched/placement), the local Mesos itself (sched/localmesos), and the
// text of --help and mrun(1) (package docs).
package main
