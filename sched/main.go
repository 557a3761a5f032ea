package sched

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/sockerhpc/socker/internal/manual"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// mrunSynopsis and mrunAbout are the source of mrun's usage message, of its
// --help output and of mrun(1) (see Manual); the flags are newFlagSet's.
var mrunSynopsis = []string{
	"mrun -N NODES -n PROCS [-c CPUS] [-m MB] [--image IMAGE] --master URL|local[:N] [options] PROGRAM [ARGS...]",
	"mrun --setup-local USER",
}

const mrunAbout = "Runs PROGRAM as an MPI job of PROCS ranks on NODES distinct Mesos agents (all or nothing), one socker container per node, as you. --master local:N runs the job on an embedded local Mesos of N agents on this machine (default 2), whose tasks run in cgroups that root delegated to you with `mrun --setup-local USER` (once per boot)."

// mrunUsage is printed after a usage error, and first by --help.
var mrunUsage = manual.Usage(mrunSynopsis...) + "\n\n" + manual.Fill(mrunAbout)

// mrunExit is mrun's EXIT STATUS, in --help and in mrun(1).
var mrunExit = []manual.Block{
	manual.P("mrun exits with the job's status, which is mpiexec's, and otherwise:"),
	manual.List(
		manual.Item{Term: "1", Text: "The job could not be placed within `--timeout`, a task failed or ended early, or the local Mesos could not start."},
		manual.Item{Term: "2", Text: "Usage error."},
		manual.Item{Term: "128+N", Text: "Interrupted by signal N (130 for SIGINT, 143 for SIGTERM): the tasks were killed and the framework torn down."},
	),
}

const defaultSocker = "/usr/bin/socker"

// cli is what mrun's command line sets.
type cli struct {
	o                           Options
	strategy, secretFile, setup string
	mounts                      stringList
}

// newFlagSet defines mrun's flags, setting c. Main parses the command line
// with it; --help and mrun(1) list it (flagItems). Each usage names its
// argument in backquotes (flag.UnquoteUsage).
func newFlagSet(c *cli) *flag.FlagSet {
	fs := flag.NewFlagSet("mrun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &c.o
	fs.IntVar(&o.Job.Nodes, "N", 1, "Run on `NODES` distinct agents")
	fs.IntVar(&o.Job.Procs, "n", 1, "Run `PROCS` MPI processes (ranks) in all")
	fs.Float64Var(&o.Job.CPUsPerProc, "c", 1, "`CPUS` per process")
	fs.Float64Var(&o.Job.MemPerProc, "m", 256, "Memory per process, in `MB`")
	fs.StringVar(&o.Image, "image", "socker/mpich:4", "The `IMAGE` the ranks run in; the agents' socker policy must allow it")
	fs.StringVar(&o.Master, "master", "", "The Mesos master's `URL`: `host:port` (a bare host means port 5050) or `http[s]://host:port` (with a path, for a master behind a reverse proxy), or `local[:N]` for an embedded local Mesos of N agents (default 2) on this machine")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "Give up if the job cannot be placed within this `DURATION`")
	fs.DurationVar(&o.OfferHold, "offer-hold", DefaultOfferHold, "Decline offers held this `DURATION` while the job does not fit, so that two gang jobs never hoard each other's resources")
	fs.DurationVar(&o.KillGrace, "kill-grace", DefaultKillGrace, "When a task is killed, give its socker this `DURATION` from the agent's SIGTERM to its SIGKILL (the tasks' kill policy; more than 0, at most 1h): the default is socker's default `container.stop_grace_seconds` (10 s) plus time for socker to remove the container and write its exit record")
	fs.StringVar(&c.strategy, "strategy", "first-fit", "Placement `STRATEGY`: `first-fit` or `best-fit`")
	fs.StringVar(&o.Socker, "socker", "", "The `PATH` of socker on the agents (default `"+defaultSocker+"`; with a local master, the socker on PATH)")
	fs.Var(&c.mounts, "mount", "Bind `SRC:DST[:ro]` in every rank's container (`socker run --mount`); repeatable")
	fs.StringVar(&o.Mpiexec, "mpiexec", "/usr/bin/mpiexec.hydra", "The `PATH` of mpiexec.hydra on this machine")
	fs.StringVar(&o.Principal, "principal", "", "The framework's `PRINCIPAL` (HTTP basic authentication)")
	fs.StringVar(&c.secretFile, "secret-file", "", "The `FILE` holding the principal's secret")
	fs.StringVar(&c.setup, "setup-local", "", "As root: delegate the local Mesos' cgroups to `USER` until the next boot, then exit")
	return fs
}

// flagItems lists the flags of fs as manual items, the one-letter flags
// first: "-N NODES" or "--image IMAGE" (Go's flag package takes both forms),
// the usage, and the default unless it is the zero value.
func flagItems(fs *flag.FlagSet) []manual.Item {
	var flags []*flag.Flag
	fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
	sort.SliceStable(flags, func(i, j int) bool {
		a, b := flags[i].Name, flags[j].Name
		if (len(a) == 1) != (len(b) == 1) {
			return len(a) == 1
		}
		if la, lb := strings.ToLower(a), strings.ToLower(b); la != lb {
			return la < lb
		}
		return a < b
	})
	var items []manual.Item
	for _, f := range flags {
		arg, usage := flag.UnquoteUsage(f)
		dash := "--"
		if len(f.Name) == 1 {
			dash = "-"
		}
		term := dash + f.Name
		if arg != "" {
			term += " " + arg
		}
		if f.DefValue != "" && f.DefValue != "0" && f.DefValue != "false" {
			usage += " (default `" + f.DefValue + "`)"
		}
		items = append(items, manual.Item{Term: term, Text: usage + "."})
	}
	return items
}

// help is mrun --help: the usage, then every flag and the exit status.
func help(w io.Writer) {
	fs := newFlagSet(&cli{})
	fmt.Fprintf(w, "%s\n\n%s\n%s", mrunUsage,
		manual.Section{Title: "OPTIONS", Blocks: []manual.Block{manual.List(flagItems(fs)...)}}.Text(),
		manual.Section{Title: "EXIT STATUS", Blocks: mrunExit}.Text())
}

// Manual is mrun(1). internal/mangen writes its roff.
func Manual() manual.Page {
	return manual.Page{
		Name:     "mrun",
		Section:  "1",
		Summary:  "run an MPI job on a Mesos cluster, each node's ranks in a socker container",
		Synopsis: mrunSynopsis,
		Sections: []manual.Section{
			{Title: "DESCRIPTION", Blocks: []manual.Block{manual.P(mrunAbout)}},
			{Title: "OPTIONS", Blocks: []manual.Block{manual.List(flagItems(newFlagSet(&cli{}))...)}},
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

// Main is mrun: it parses args, runs the job and returns the exit status.
func Main(args []string) int {
	var c cli
	fs := newFlagSet(&c)
	o := &c.o
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			help(os.Stdout)
			return 0
		}
		fmt.Fprintf(os.Stderr, "mrun: %v\n%s\n", err, mrunUsage)
		return 2
	}
	if c.setup != "" {
		if err := setupLocal(c.setup); err != nil {
			fmt.Fprintf(os.Stderr, "mrun: --setup-local %s: %v\n", c.setup, err)
			return 1
		}
		return 0
	}
	o.Program, o.Mounts = fs.Args(), c.mounts
	o.Stdout, o.Stderr = os.Stdout, os.Stderr
	switch c.strategy {
	case "first-fit":
		o.Job.Strategy = FirstFit
	case "best-fit":
		o.Job.Strategy = BestFit
	default:
		return usageErr("--strategy must be first-fit or best-fit")
	}
	if o.KillGrace <= 0 || o.KillGrace > MaxKillGrace {
		return usageErr(fmt.Sprintf("--kill-grace %v: must be more than 0s and at most 1h", o.KillGrace))
	}
	if len(o.Program) == 0 {
		return usageErr("no program given")
	}
	agents, local, err := parseLocal(o.Master)
	if !local && o.Master != "" {
		_, err = masterEndpoint(o.Master) // Run makes the endpoint again; check before anything starts
	}
	switch {
	case err != nil:
		return usageErr(err.Error())
	case o.Master == "":
		return usageErr("--master is required; accepted forms: " + masterForms)
	case os.Getuid() == 0:
		return usageErr("refusing to run a job as root: ranks run as the submitting user, and socker refuses uid 0")
	}
	if o.Socker == "" {
		o.Socker = defaultSocker
		if local {
			o.Socker = localSocker()
		}
	}
	if c.secretFile != "" {
		data, err := os.ReadFile(c.secretFile)
		if err != nil {
			return usageErr(err.Error())
		}
		o.Secret = strings.TrimSpace(string(data))
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	if local {
		c, err := startLocal(agents)
		if err != nil {
			fmt.Fprintf(os.Stderr, "mrun: starting the local Mesos: %v\n", err)
			return 1
		}
		defer c.Close()
		o.Master = c.URL()
		fmt.Fprintf(os.Stderr, "mrun: local Mesos with %d agents at %s\n", agents, o.Master)
	}
	code, err := Run(ctx, *o)
	if errors.Is(err, ErrInterrupted) {
		select {
		case s := <-sigs:
			return 128 + int(s.(syscall.Signal))
		default:
			return 130
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "mrun: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

func usageErr(msg string) int {
	fmt.Fprintf(os.Stderr, "mrun: %s\n%s\n", msg, mrunUsage)
	return 2
}
