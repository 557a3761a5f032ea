package docs

import (
	"fmt"

	"github.com/sockerhpc/socker/internal/manual"
)

// mrunSynopsis and mrunAbout open mrun's usage message, its --help and
// mrun(1).
var mrunSynopsis = []string{
	"mrun -N NODES -n PROCS [-c CPUS] [-m MB] [--image IMAGE] --master URL|local[:N] [options] PROGRAM [ARGS...]",
	"mrun --setup-local USER",
}

const mrunAbout = "Runs PROGRAM as an MPI job of PROCS ranks on NODES distinct Mesos agents (all or nothing), one socker container per node, as you. --master local:N runs the job on an embedded local Mesos of N agents on this machine (default 2), whose tasks run in cgroups that root delegated to you with `mrun --setup-local USER` (once per boot)."

// MrunUsage is printed after a usage error, and first by --help.
var MrunUsage = manual.Usage(mrunSynopsis...) + "\n\n" + manual.Fill(mrunAbout)

// MrunOptions are mrun's flags, the one-letter ones first, then by name:
// the flag and its argument, what it does, and its default. They are the
// OPTIONS of --help and of mrun(1), and the usage strings of mrun's flag set
// (cmd/mrun), whose test fails when a flag has no item here, an item no
// flag, or a default here is not the flag's.
var MrunOptions = []manual.Item{
	{Term: "-c CPUS", Text: "CPUS per process (default `1`)."},
	{Term: "-m MB", Text: "Memory per process, in MB (default `256`)."},
	{Term: "-N NODES", Text: "Run on NODES distinct agents (default `1`)."},
	{Term: "-n PROCS", Text: "Run PROCS MPI processes (ranks) in all (default `1`)."},
	{Term: "--end-grace DURATION", Text: "When a node's task ends while mpiexec still runs (a rank that exited without MPI_Finalize leaves mpiexec and the other ranks waiting forever), end the job after this DURATION unless mpiexec ends first: mpiexec and the other tasks are killed and mrun exits with the task's status, or 1. Lengthen it for a program whose ranks keep running after MPI_Finalize once another node's have exited (default `3s`)."},
	{Term: "--image IMAGE", Text: "The IMAGE the ranks run in; the agents' socker policy must allow it (default `socker/mpich:4`)."},
	{Term: "--kill-grace DURATION", Text: "When a task is killed, give its socker this DURATION from the agent's SIGTERM to its SIGKILL (the tasks' kill policy; more than 0, at most 1h): the default is socker's default `container.stop_grace_seconds` (10 s) plus time for socker to remove the container and write its exit record (default `15s`)."},
	{Term: "--master URL", Text: "The Mesos master's URL: `host:port` (a bare host means port 5050) or `http[s]://host:port` (with a path, for a master behind a reverse proxy), `unix:PATH` for a local Mesos' socket, or `local[:N]` for an embedded local Mesos of N agents (default 2) on this machine, which only you can use."},
	{Term: "--mount SRC:DST[:ro]", Text: "Bind SRC:DST[:ro] in every rank's container (`socker run --mount`); repeatable."},
	{Term: "--mpiexec PATH", Text: "The PATH of mpiexec.hydra on this machine (default `/usr/bin/mpiexec.hydra`)."},
	{Term: "--offer-hold DURATION", Text: "Decline offers held this DURATION while the job does not fit, so that two gang jobs never hoard each other's resources (default `10s`)."},
	{Term: "--principal PRINCIPAL", Text: "The framework's PRINCIPAL (HTTP basic authentication)."},
	{Term: "--secret-file FILE", Text: "The FILE holding the principal's secret."},
	{Term: "--setup-local USER", Text: "As root: delegate the local Mesos' cgroups to USER until the next boot, then exit."},
	{Term: "--socker PATH", Text: "The PATH of socker on the agents (default `/usr/bin/socker`; with a local master, the socker on PATH)."},
	{Term: "--strategy STRATEGY", Text: "Placement STRATEGY: `first-fit` or `best-fit` (default `first-fit`)."},
	{Term: "--time LIMIT", Text: "The job's wall-clock LIMIT from its launch, as Slurm's `--time` takes it (`MINUTES`, `MINUTES:SECONDS`, `HOURS:MINUTES:SECONDS`, `DAYS-HOURS`, `DAYS-HOURS:MINUTES`, `DAYS-HOURS:MINUTES:SECONDS`) or as a duration (`90m`, `1h30m`): when it expires every task and mpiexec are killed and mrun exits 124; 0, the default, is no limit."},
	{Term: "--timeout DURATION", Text: "Give up if the job cannot be placed within this DURATION (default `1m0s`)."},
	{Term: "--timings", Text: "At the end, print on standard error when the job reached each phase, in milliseconds since mrun started and since the previous phase: local Mesos started (with --master local), subscribed, first offers, mpiexec started (its proxy launch lines read), tasks launched (ACCEPT sent), tasks running (every task TASK_RUNNING: its socker has started, its container not yet: creating and starting the containers falls before the first output), first output (of mpiexec), mpiexec exited, tasks ended, framework torn down (TEARDOWN sent), local Mesos stopped, done."},
}

// mrunExit is mrun's EXIT STATUS, in --help and in mrun(1).
var mrunExit = []manual.Block{
	manual.P("mrun exits with the job's status, which is mpiexec's, and otherwise:"),
	manual.List(
		manual.Item{Term: "1", Text: "The job could not be placed within `--timeout`, a task failed or ended while mpiexec still ran (after `--end-grace`), or the local Mesos could not start."},
		manual.Item{Term: "2", Text: "Usage error: an unknown option, or a value no cluster could run (the line says which); nothing was started."},
		manual.Item{Term: "124", Text: "The job reached its `--time` limit: every task and mpiexec were killed."},
		manual.Item{Term: "128+N", Text: "Interrupted by signal N (130 for SIGINT, 143 for SIGTERM): the tasks were killed and the framework torn down."},
	),
}

// MrunHelp is what `mrun --help` prints: the usage, then every option and
// the exit status.
func MrunHelp() string {
	return fmt.Sprintf("%s\n\n%s\n%s", MrunUsage,
		manual.Section{Title: "OPTIONS", Blocks: []manual.Block{manual.List(MrunOptions...)}}.Text(),
		manual.Section{Title: "EXIT STATUS", Blocks: mrunExit}.Text())
}

// Mrun is mrun(1). internal/mangen writes its roff.
func Mrun() manual.Page {
	return manual.Page{
		Name:     "mrun",
		Section:  "1",
		Summary:  "run an MPI job on a Mesos cluster, each node's ranks in a socker container",
		Synopsis: mrunSynopsis,
		Sections: []manual.Section{
			{Title: "DESCRIPTION", Blocks: []manual.Block{manual.P(mrunAbout)}},
			{Title: "OPTIONS", Blocks: []manual.Block{manual.List(MrunOptions...)}},
			{Title: "EXIT STATUS", Blocks: mrunExit},
			{Title: "EXAMPLES", Blocks: []manual.Block{
				manual.P("Four ranks of `mpi-hello` on two agents of an embedded local Mesos on this machine, one cpu each:"),
				manual.Code("mrun -N 2 -n 4 -c 1 --image socker/mpich:4 --master local:2 \\", "    mpi-hello"),
				manual.P("The same job on a cluster, with 256 MB per rank:"),
				manual.Code("mrun -N 2 -n 4 -c 1 -m 256 --image socker/mpich:4 \\", "    --master http://master:5050 mpi-hello"),
				manual.P("As root, once per boot, let the user alice run jobs on the local Mesos:"),
				manual.Code("mrun --setup-local alice"),
			}},
			{Title: "SEE ALSO", Blocks: []manual.Block{manual.P("`socker`(8), `socker.toml`(5)")}},
		},
	}
}
