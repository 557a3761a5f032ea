package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/sched"
	"github.com/sockerhpc/socker/sched/placement"
)

// run is mrun: it parses args, runs the job and returns the exit status.
func run(args []string) int {
	start := time.Now()
	var c cli
	fs := newFlagSet(&c)
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fmt.Fprint(os.Stdout, docs.MrunHelp())
			return 0
		}
		fmt.Fprintf(os.Stderr, "mrun: %v\n%s\n", err, docs.MrunUsage)
		return 2
	}
	if c.setup != "" {
		if err := setupLocal(c.setup); err != nil {
			fmt.Fprintf(os.Stderr, "mrun: --setup-local %s: %v\n", c.setup, err)
			return 1
		}
		return 0
	}
	agents, local, msg := c.check(fs.Args())
	if msg != "" {
		return usageErr(msg)
	}
	if err := c.complete(local); err != nil {
		return usageErr(err.Error())
	}
	if err := c.o.Check(); err != nil {
		return usageErr(err.Error())
	}
	if local {
		if err := fitsLocal(c.o.Job, agents); err != nil {
			return usageErr(err.Error())
		}
	}
	if os.Getuid() == 0 {
		return usageErr("refusing to run a job as root: ranks run as the submitting user, and socker refuses uid 0")
	}
	if !c.timings {
		return runJob(c.o, agents, local)
	}
	c.o.Timings = sched.NewTimings(start)
	code := runJob(c.o, agents, local)
	c.o.Timings.Mark("done")
	fmt.Fprint(os.Stderr, c.o.Timings.Report())
	return code
}

// check completes c.o from the command line (program, mounts, strategy) and
// returns, in the order mrun reports them, the first usage error: a bad
// strategy, kill grace or master, no program, or no master. For
// --master local[:N], local is set and agents is N. run then checks the
// whole job (sched.Options.Check), that a local Mesos can hold it, and
// that the caller is not root, before it starts anything.
func (c *cli) check(program []string) (agents int, local bool, problem string) {
	o := &c.o
	o.Program, o.Mounts = program, c.mounts
	o.Stdout, o.Stderr = os.Stdout, os.Stderr
	switch c.strategy {
	case "first-fit":
		o.Job.Strategy = placement.FirstFit
	case "best-fit":
		o.Job.Strategy = placement.BestFit
	default:
		return 0, false, "--strategy must be first-fit or best-fit"
	}
	if o.KillGrace <= 0 || o.KillGrace > sched.MaxKillGrace {
		return 0, false, fmt.Sprintf("--kill-grace %v: must be more than 0s and at most 1h", o.KillGrace)
	}
	if len(o.Program) == 0 {
		return 0, false, "no program given"
	}
	agents, local, err := parseLocal(o.Master)
	if !local && o.Master != "" {
		_, err = sched.MasterEndpoint(o.Master) // Run makes the endpoint again; check before anything starts
	}
	switch {
	case err != nil:
		return 0, false, err.Error()
	case o.Master == "":
		return 0, false, "--master is required; accepted forms: " + sched.MasterForms
	}
	return agents, local, ""
}

// complete gives c.o socker's default path and the secret of
// --secret-file.
func (c *cli) complete(local bool) error {
	o := &c.o
	if o.Socker == "" {
		o.Socker = defaultSocker
		if local {
			o.Socker = localSocker()
		}
	}
	if c.secretFile != "" {
		data, err := os.ReadFile(c.secretFile)
		if err != nil {
			return err
		}
		o.Secret = strings.TrimSpace(string(data))
	}
	return nil
}

func usageErr(msg string) int {
	fmt.Fprintf(os.Stderr, "mrun: %s\n%s\n", msg, docs.MrunUsage)
	return 2
}
