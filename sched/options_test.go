package sched

import (
	"strings"
	"testing"
	"time"

	"github.com/sockerhpc/socker/sched/placement"
)

func validOptions() Options {
	return Options{
		Job:   placement.Job{Nodes: 2, Procs: 4, CPUsPerProc: 1, MemPerProc: 256},
		Image: "socker/mpich:4", Program: []string{"sh", "-c", "echo\ta"}, Socker: "/usr/bin/socker", Mpiexec: "/usr/bin/mpiexec.hydra",
		Mounts: []string{"/scratch/u:/scratch/u:ro"}, Timeout: time.Minute, TimeLimit: time.Hour,
	}
}

// Check refuses each hostile or silly value with a line that names it,
// and takes a valid job.
func TestOptions_Check(t *testing.T) {
	if err := validOptions().Check(); err != nil {
		t.Fatalf("valid options: %v", err)
	}
	for _, tt := range []struct {
		name string
		set  func(*Options)
		want string
	}{
		{"no nodes", func(o *Options) { o.Job.Nodes = 0 }, "invalid job: 0 nodes: need at least 1"},
		{"negative procs", func(o *Options) { o.Job.Procs = -1 }, "invalid job: -1 procs for 2 nodes"},
		{"huge procs", func(o *Options) { o.Job.Procs = 1 << 40 }, "invalid job: 1099511627776 procs: at most"},
		{"negative cpus", func(o *Options) { o.Job.CPUsPerProc = -1 }, "cpus per proc -1"},
		{"no image", func(o *Options) { o.Image = "" }, `--image: invalid image reference ""`},
		{"image as option", func(o *Options) { o.Image = "--privileged" }, "looks like an option"},
		{"image with newline", func(o *Options) { o.Image = "a\nb" }, `--image: invalid image reference "a\nb"`},
		{"upper-case image", func(o *Options) { o.Image = "Upper" }, "must be lowercase"},
		{"no program", func(o *Options) { o.Program = nil }, "no program given"},
		{"empty program", func(o *Options) { o.Program = []string{""} }, "no program given"},
		{"program as option", func(o *Options) { o.Program = []string{"-launcher", "ssh"} }, `the program "-launcher" starts with '-'`},
		{"newline in the command", func(o *Options) { o.Program = []string{"sh", "-c", "echo a\necho b"} },
			`argument 2 of the program, "echo a\necho b", has a control character`},
		{"escape in the program", func(o *Options) { o.Program = []string{"mpi-hello\x1b[2J"} }, `the program, "mpi-hello\x1b[2J", has a control character`},
		{"invalid UTF-8", func(o *Options) { o.Program = []string{"a", "\xff"} }, "invalid UTF-8"},
		{"C1 control", func(o *Options) { o.Program = []string{"a", "\u009b"} }, "control character"},
		{"huge command", func(o *Options) { o.Program = []string{"a", strings.Repeat("x", MaxProgramBytes)} }, "bytes: at most 65536"},
		{"newline in a mount", func(o *Options) { o.Mounts = []string{"/a:/a\n"} }, `--mount "/a:/a\n": want SRC:DST[:ro]`},
		{"empty mount", func(o *Options) { o.Mounts = []string{""} }, `--mount "": want`},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, "--timeout -1s: must not be negative"},
		{"negative offer hold", func(o *Options) { o.OfferHold = -time.Second }, "--offer-hold -1s: must not be negative"},
		{"negative time limit", func(o *Options) { o.TimeLimit = -time.Second }, "--time -1s: must not be negative"},
		{"huge time limit", func(o *Options) { o.TimeLimit = MaxTimeLimit + 1 }, "--time 8760h0m0.000000001s: at most 8760h0m0s"},
		{"relative socker", func(o *Options) { o.Socker = "socker" }, `--socker "socker": want an absolute path`},
		{"relative mpiexec", func(o *Options) { o.Mpiexec = "" }, `--mpiexec "": want an absolute path`},
	} {
		o := validOptions()
		tt.set(&o)
		err := o.Check()
		if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: Check() = %v, want one line with %q", tt.name, err, tt.want)
		}
	}
}

func TestParseTimeLimit(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want time.Duration
	}{
		{"0", 0},
		{"90m", 90 * time.Minute},
		{"1h30m", 90 * time.Minute},
		{"30", 30 * time.Minute},
		{"5:30", 5*time.Minute + 30*time.Second},
		{"1:02:03", time.Hour + 2*time.Minute + 3*time.Second},
		{"2-12", 60 * time.Hour},
		{"1-2:30", 26*time.Hour + 30*time.Minute},
		{"1-0:0:10", 24*time.Hour + 10*time.Second},
	} {
		got, err := ParseTimeLimit(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseTimeLimit(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
		}
	}
	for _, in := range []string{"", "x", "1:2:3:4", "1-2:3:4:5", "-5", "1--2", "1:-2", "1.5", "1:", ":1", "1-", "100001", "99999999999999999999", "1 h"} {
		if d, err := ParseTimeLimit(in); err == nil {
			t.Errorf("ParseTimeLimit(%q) = %v, want an error", in, d)
		} else if !strings.Contains(err.Error(), "want a duration") {
			t.Errorf("ParseTimeLimit(%q): %v", in, err)
		}
	}
}
