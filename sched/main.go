package sched

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

const mrunUsage = `usage: mrun -N NODES -n PROCS [-c CPUS] [-m MB] [--image IMAGE] --master URL|local[:N] [options] PROGRAM [ARGS...]
       mrun --setup-local USER   (as root, once per boot)

Runs PROGRAM as an MPI job of PROCS ranks on NODES distinct Mesos agents (all
or nothing), one socker container per node, as you. --master local:N runs the
job on an embedded local Mesos of N agents on this machine (default 2), whose
tasks run in cgroups root delegated to you with --setup-local. Exit status:
the job's (mpiexec's); 1 if the job could not be placed or a task failed;
2 usage; 130/143 when interrupted.`

const defaultSocker = "/usr/bin/socker"

// Main is mrun: it parses args, runs the job and returns the exit status.
func Main(args []string) int {
	fs := flag.NewFlagSet("mrun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o Options
	var strategy, secretFile, setup string
	var mounts stringList
	fs.IntVar(&o.Job.Nodes, "N", 1, "number of nodes (distinct agents)")
	fs.IntVar(&o.Job.Procs, "n", 1, "number of MPI processes")
	fs.Float64Var(&o.Job.CPUsPerProc, "c", 1, "cpus per process")
	fs.Float64Var(&o.Job.MemPerProc, "m", 256, "memory per process, MB")
	fs.StringVar(&o.Image, "image", "socker/mpich:4", "image the ranks run in")
	fs.StringVar(&o.Master, "master", "", "Mesos master URL (http://master:5050), or local[:N]")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "give up if the job cannot be placed within this time")
	fs.DurationVar(&o.OfferHold, "offer-hold", DefaultOfferHold, "decline offers held this long while the job does not fit")
	fs.StringVar(&strategy, "strategy", "first-fit", "placement: first-fit or best-fit")
	fs.StringVar(&o.Socker, "socker", "", "socker's path on the agents (default "+defaultSocker+"; with local, socker on PATH)")
	fs.Var(&mounts, "mount", "SRC:DST[:ro] passed to socker run (repeatable)")
	fs.StringVar(&o.Mpiexec, "mpiexec", "/usr/bin/mpiexec.hydra", "mpiexec.hydra on this machine")
	fs.StringVar(&o.Principal, "principal", "", "framework principal (HTTP basic authentication)")
	fs.StringVar(&secretFile, "secret-file", "", "file holding the principal's secret")
	fs.StringVar(&setup, "setup-local", "", "as root: delegate the local Mesos' cgroups to this user, then exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println(mrunUsage)
			return 0
		}
		fmt.Fprintf(os.Stderr, "mrun: %v\n%s\n", err, mrunUsage)
		return 2
	}
	if setup != "" {
		if err := setupLocal(setup); err != nil {
			fmt.Fprintf(os.Stderr, "mrun: --setup-local %s: %v\n", setup, err)
			return 1
		}
		return 0
	}
	o.Program, o.Mounts = fs.Args(), mounts
	o.Stdout, o.Stderr = os.Stdout, os.Stderr
	switch strategy {
	case "first-fit":
		o.Job.Strategy = FirstFit
	case "best-fit":
		o.Job.Strategy = BestFit
	default:
		return usageErr("--strategy must be first-fit or best-fit")
	}
	if len(o.Program) == 0 {
		return usageErr("no program given")
	}
	agents, local, err := parseLocal(o.Master)
	switch {
	case err != nil:
		return usageErr(err.Error())
	case o.Master == "":
		return usageErr("--master is required (http://host:5050, or local[:N])")
	case os.Getuid() == 0:
		return usageErr("refusing to run a job as root: ranks run as the submitting user, and socker refuses uid 0")
	}
	if o.Socker == "" {
		o.Socker = defaultSocker
		if local {
			o.Socker = localSocker()
		}
	}
	if secretFile != "" {
		data, err := os.ReadFile(secretFile)
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
	code, err := Run(ctx, o)
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
