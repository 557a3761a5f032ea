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

const mrunUsage = `usage: mrun -N NODES -n PROCS [-c CPUS] [-m MB] [--image IMAGE] --master URL [options] PROGRAM [ARGS...]

Runs PROGRAM as an MPI job of PROCS ranks on NODES distinct Mesos agents (all
or nothing), one socker container per node, as you. Exit status: the job's
(mpiexec's); 1 if the job could not be placed or a task failed; 2 usage;
130/143 when interrupted.`

// Main is mrun: it parses args, runs the job and returns the exit status.
func Main(args []string) int {
	fs := flag.NewFlagSet("mrun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var o Options
	var strategy, secretFile string
	var mounts stringList
	fs.IntVar(&o.Job.Nodes, "N", 1, "number of nodes (distinct agents)")
	fs.IntVar(&o.Job.Procs, "n", 1, "number of MPI processes")
	fs.Float64Var(&o.Job.CPUsPerProc, "c", 1, "cpus per process")
	fs.Float64Var(&o.Job.MemPerProc, "m", 256, "memory per process, MB")
	fs.StringVar(&o.Image, "image", "socker/mpich:4", "image the ranks run in")
	fs.StringVar(&o.Master, "master", "", "Mesos master URL, e.g. http://master:5050")
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, "give up if the job cannot be placed within this time")
	fs.StringVar(&strategy, "strategy", "first-fit", "placement: first-fit or best-fit")
	fs.StringVar(&o.Socker, "socker", "/usr/bin/socker", "socker's path on the agents")
	fs.Var(&mounts, "mount", "SRC:DST[:ro] passed to socker run (repeatable)")
	fs.StringVar(&o.Mpiexec, "mpiexec", "/usr/bin/mpiexec.hydra", "mpiexec.hydra on this machine")
	fs.StringVar(&o.Principal, "principal", "", "framework principal (HTTP basic authentication)")
	fs.StringVar(&secretFile, "secret-file", "", "file holding the principal's secret")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Println(mrunUsage)
			return 0
		}
		fmt.Fprintf(os.Stderr, "mrun: %v\n%s\n", err, mrunUsage)
		return 2
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
	if o.Master == "" || strings.HasPrefix(o.Master, "local") {
		return usageErr("--master must be a master URL (http://host:5050); the embedded local Mesos is not wired into mrun yet")
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
