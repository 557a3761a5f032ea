package sched

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/sockerhpc/socker/security"
)

// Bounds on what a job may ask for, checked by Options.Check.
const (
	// MaxProgramBytes bounds the program and its arguments together: they
	// travel to every agent in each task's CommandInfo and reach every
	// rank through hydra.
	MaxProgramBytes = 64 << 10
	// MaxTimeLimit bounds --time (a year).
	MaxTimeLimit = 365 * 24 * time.Hour
)

// Check refuses, with one line that names the option, a job that no master
// could run or that would reach the agents garbled: an invalid job shape
// (placement.Job.Validate), an image that is not a valid reference, no
// program or one whose name starts with "-" (mpiexec would take it as its
// own option), a control character (newline, escape, ...; a tab is
// allowed) or invalid UTF-8 in the program, its arguments or a mount, a
// program over MaxProgramBytes, a negative --timeout, --offer-hold,
// --time or --end-grace, a --time over MaxTimeLimit, and a socker or mpiexec path that is
// not absolute. It is pure: nothing is started or looked up.
func (o Options) Check() error {
	if err := o.Job.Validate(); err != nil {
		return err
	}
	if _, err := security.NormalizeImage(o.Image); err != nil {
		return fmt.Errorf("--image: %v", err)
	}
	if err := checkProgram(o.Program); err != nil {
		return err
	}
	for _, m := range o.Mounts {
		if m == "" || hasControl(m) {
			return fmt.Errorf("--mount %s: want SRC:DST[:ro] without control characters", strconv.Quote(m))
		}
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"--timeout", o.Timeout}, {"--offer-hold", o.OfferHold}, {"--time", o.TimeLimit}, {"--end-grace", o.EndGrace}} {
		if d.v < 0 {
			return fmt.Errorf("%s %v: must not be negative", d.name, d.v)
		}
	}
	if o.TimeLimit > MaxTimeLimit {
		return fmt.Errorf("--time %v: at most %v", o.TimeLimit, MaxTimeLimit)
	}
	for _, p := range []struct{ name, path string }{{"--socker", o.Socker}, {"--mpiexec", o.Mpiexec}} {
		if !filepath.IsAbs(p.path) || hasControl(p.path) {
			return fmt.Errorf("%s %s: want an absolute path", p.name, strconv.Quote(p.path))
		}
	}
	return nil
}

func checkProgram(program []string) error {
	if len(program) == 0 || program[0] == "" {
		return errors.New("no program given")
	}
	if strings.HasPrefix(program[0], "-") {
		return fmt.Errorf("the program %s starts with '-': mpiexec would read it as its own option (unknown mrun options go before the program)", strconv.Quote(program[0]))
	}
	size := 0
	for i, a := range program {
		size += len(a) + 1
		if hasControl(a) {
			what := "the program"
			if i > 0 {
				what = fmt.Sprintf("argument %d of the program", i)
			}
			return fmt.Errorf("%s, %s, has a control character or invalid UTF-8: the command travels in Mesos task infos and logs, and through hydra; put a multi-line script in a file", what, strconv.Quote(a))
		}
	}
	if size > MaxProgramBytes {
		return fmt.Errorf("the program and its arguments are %d bytes: at most %d", size, MaxProgramBytes)
	}
	return nil
}

// hasControl reports a C0 control character but tab, DEL, a C1 control,
// or invalid UTF-8 in s.
func hasControl(s string) bool {
	return !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool {
		return r < 0x20 && r != '\t' || r == 0x7f || r >= 0x80 && r < 0xa0
	})
}

// ParseTimeLimit reads --time: a Go duration ("90m", "1h30m") or one of
// Slurm's forms, "MINUTES", "MINUTES:SECONDS", "HOURS:MINUTES:SECONDS",
// "DAYS-HOURS", "DAYS-HOURS:MINUTES" and "DAYS-HOURS:MINUTES:SECONDS";
// 0 means no limit.
func ParseTimeLimit(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	bad := fmt.Errorf("%q: want a duration (90m, 1h30m) or MINUTES, MINUTES:SECONDS, HOURS:MINUTES:SECONDS, DAYS-HOURS, DAYS-HOURS:MINUTES or DAYS-HOURS:MINUTES:SECONDS", s)
	days, rest, hasDays := strings.Cut(s, "-")
	if !hasDays {
		rest, days = days, "0"
	}
	fields := strings.Split(rest, ":")
	if len(fields) > 3 {
		return 0, bad
	}
	var units []time.Duration
	switch {
	case hasDays:
		units = []time.Duration{time.Hour, time.Minute, time.Second}[:len(fields)]
	case len(fields) == 3:
		units = []time.Duration{time.Hour, time.Minute, time.Second}
	default:
		units = []time.Duration{time.Minute, time.Second}[:len(fields)]
	}
	d, err := number(days, 24*time.Hour)
	if err != nil {
		return 0, bad
	}
	for i, f := range fields {
		v, err := number(f, units[i])
		if err != nil {
			return 0, bad
		}
		d += v
	}
	return d, nil
}

// number is a decimal count of at most 100000 units (no sum of them
// overflows a time.Duration).
func number(s string, unit time.Duration) (time.Duration, error) {
	n, err := strconv.Atoi(s)
	if err != nil || strings.TrimLeft(s, "0123456789") != "" || n > 100000 {
		return 0, errors.New("not a count of at most 100000")
	}
	return time.Duration(n) * unit, nil
}
