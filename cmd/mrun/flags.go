package main

import (
	"flag"
	"io"
	"strings"
	"time"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/sched"
)

type stringList []string

func (s *stringList) String() string     { return strings.Join(*s, ",") }
func (s *stringList) Set(v string) error { *s = append(*s, v); return nil }

// timeLimit is --time: a Go duration or one of Slurm's forms
// (sched.ParseTimeLimit).
type timeLimit struct{ d *time.Duration }

func (t timeLimit) String() string {
	if t.d == nil || *t.d == 0 {
		return "0"
	}
	return t.d.String()
}

func (t timeLimit) Set(v string) error {
	d, err := sched.ParseTimeLimit(v)
	if err == nil {
		*t.d = d
	}
	return err
}

const defaultSocker = "/usr/bin/socker"

// cli is what mrun's command line sets.
type cli struct {
	o                           sched.Options
	strategy, secretFile, setup string
	mounts                      stringList
	timings                     bool
}

// newFlagSet defines mrun's flags, setting c; run parses the command line
// with it. Each usage comes from docs.MrunOptions (usage); a test makes the
// items back from the flag set and checks they are docs.MrunOptions.
func newFlagSet(c *cli) *flag.FlagSet {
	fs := flag.NewFlagSet("mrun", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	o := &c.o
	fs.IntVar(&o.Job.Nodes, "N", 1, usage("N"))
	fs.IntVar(&o.Job.Procs, "n", 1, usage("n"))
	fs.Float64Var(&o.Job.CPUsPerProc, "c", 1, usage("c"))
	fs.Float64Var(&o.Job.MemPerProc, "m", 256, usage("m"))
	fs.StringVar(&o.Image, "image", "socker/mpich:4", usage("image"))
	fs.StringVar(&o.Master, "master", "", usage("master"))
	fs.DurationVar(&o.Timeout, "timeout", 60*time.Second, usage("timeout"))
	fs.DurationVar(&o.OfferHold, "offer-hold", sched.DefaultOfferHold, usage("offer-hold"))
	fs.DurationVar(&o.KillGrace, "kill-grace", sched.DefaultKillGrace, usage("kill-grace"))
	fs.Var(timeLimit{&o.TimeLimit}, "time", usage("time"))
	fs.DurationVar(&o.EndGrace, "end-grace", sched.DefaultEndGrace, usage("end-grace"))
	fs.StringVar(&c.strategy, "strategy", "first-fit", usage("strategy"))
	fs.StringVar(&o.Socker, "socker", "", usage("socker"))
	fs.Var(&c.mounts, "mount", usage("mount"))
	fs.StringVar(&o.Mpiexec, "mpiexec", "/usr/bin/mpiexec.hydra", usage("mpiexec"))
	fs.StringVar(&o.Principal, "principal", "", usage("principal"))
	fs.StringVar(&c.secretFile, "secret-file", "", usage("secret-file"))
	fs.StringVar(&c.setup, "setup-local", "", usage("setup-local"))
	fs.BoolVar(&c.timings, "timings", false, usage("timings"))
	return fs
}

// usage is the usage string of flag name, from its item in
// docs.MrunOptions ("-N NODES", "Run on NODES distinct agents (default
// `1`)."): the text without its final period and "(default ...)", which the
// flag package knows, and with its argument in backquotes, as
// flag.UnquoteUsage reads it; a flag without an argument (--timings) gets
// an empty pair of backquotes first, so that UnquoteUsage names none. It
// is "" for a flag docs does not list.
func usage(name string) string {
	for _, it := range docs.MrunOptions {
		term, arg, _ := strings.Cut(it.Term, " ")
		if strings.TrimLeft(term, "-") != name {
			continue
		}
		text := strings.TrimSuffix(it.Text, ".")
		if i := strings.LastIndex(text, " (default `"); i >= 0 && strings.HasSuffix(text, "`)") {
			text = text[:i]
		}
		if arg == "" {
			return "``" + text
		}
		return strings.Replace(text, arg, "`"+arg+"`", 1)
	}
	return ""
}
