package main

import (
	"flag"
	"io"
	"os"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/manual"
	"github.com/sockerhpc/socker/sched"
	"github.com/sockerhpc/socker/sched/placement"
)

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

// newFlagSet sets every field it is meant to.
func TestNewFlagSet_Parses(t *testing.T) {
	var c cli
	fs := newFlagSet(&c)
	err := fs.Parse(strings.Fields("-N 2 -n 4 -c 0.5 -m 128 --image img:1 --master local:3 --timeout 5s --offer-hold 2s --kill-grace 20s --time 1-0 --end-grace 30s " +
		"--strategy best-fit --socker /s --mount /a:/a --mount /b:/b:ro --mpiexec /m --principal p --secret-file /f " +
		"--setup-local u --timings prog arg"))
	if err != nil {
		t.Fatal(err)
	}
	want := cli{
		o: sched.Options{
			Job:   placement.Job{Nodes: 2, Procs: 4, CPUsPerProc: 0.5, MemPerProc: 128},
			Image: "img:1", Master: "local:3", Socker: "/s", Mpiexec: "/m", Principal: "p",
			Timeout: 5 * time.Second, OfferHold: 2 * time.Second, KillGrace: 20 * time.Second,
			TimeLimit: 24 * time.Hour, EndGrace: 30 * time.Second,
		},
		strategy: "best-fit", secretFile: "/f", setup: "u",
		mounts: stringList{"/a:/a", "/b:/b:ro"}, timings: true,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("parsed %+v\nwant   %+v", c, want)
	}
	if got := fs.Args(); !reflect.DeepEqual(got, []string{"prog", "arg"}) {
		t.Errorf("program %v", got)
	}
}

// Every flag names its argument (a backquoted word in its usage) and has a
// sentence of help.
func TestNewFlagSet_Documented(t *testing.T) {
	newFlagSet(&cli{}).VisitAll(func(f *flag.Flag) {
		if !strings.Contains(f.Usage, "`") {
			t.Errorf("flag -%s: its usage names no `ARGUMENT`", f.Name)
		}
		if _, usage := flag.UnquoteUsage(f); len(strings.Fields(usage)) < 2 {
			t.Errorf("flag -%s: usage %q", f.Name, usage)
		}
	})
}

func TestFlagItems(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.Int("n", 1, "run `PROCS` ranks")
	fs.Int("N", 0, "nodes `NODES`")
	fs.String("image", "a/b:1", "the `IMAGE`")
	fs.String("z", "", "no `Z` default")
	fs.Bool("verbose", false, "talk")
	got := flagItems(fs)
	want := []manual.Item{
		{Term: "-N NODES", Text: "nodes NODES."},
		{Term: "-n PROCS", Text: "run PROCS ranks (default `1`)."},
		{Term: "-z Z", Text: "no Z default."},
		{Term: "--image IMAGE", Text: "the IMAGE (default `a/b:1`)."},
		{Term: "--verbose", Text: "talk."},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("flagItems:\n%+v\nwant\n%+v", got, want)
	}
}

// mrun --help is the usage, then every flag, then the exit status, in 80
// columns; mrun(1) lists the same flags.
func TestHelp(t *testing.T) {
	out := docs.MrunHelp()
	if !strings.HasPrefix(out, docs.MrunUsage+"\n\nOPTIONS\n") {
		t.Errorf("--help does not start with the usage and OPTIONS:\n%s", out)
	}
	items := flagItems(newFlagSet(&cli{}))
	for _, it := range items {
		if !strings.Contains(out, "\n  "+it.Term+"\n") {
			t.Errorf("--help lacks %q", it.Term)
		}
	}
	for _, want := range []string{"(default 256)", "(default socker/mpich:4)", "(default 1m0s)", "EXIT STATUS", "128+N"} {
		if !strings.Contains(strings.Join(strings.Fields(out), " "), want) {
			t.Errorf("--help lacks %q", want)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > manual.Width {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	opts, ok := docs.Mrun().Find("OPTIONS")
	if !ok || len(opts.Blocks) != 1 || !reflect.DeepEqual(opts.Blocks[0].Items, items) {
		t.Errorf("mrun(1)'s OPTIONS are not the flag set's")
	}
	for _, title := range []string{"DESCRIPTION", "EXIT STATUS", "EXAMPLES", "SEE ALSO"} {
		if _, ok := docs.Mrun().Find(title); !ok {
			t.Errorf("mrun(1) has no %s", title)
		}
	}
}

func TestMain_Help(t *testing.T) {
	want := docs.MrunHelp()
	for _, arg := range []string{"-h", "--help", "-help"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		saved := os.Stdout
		os.Stdout = w
		code := run([]string{arg})
		os.Stdout = saved
		w.Close()
		got, _ := io.ReadAll(r)
		if code != 0 || string(got) != want {
			t.Errorf("mrun %s: exit %d, output:\n%s", arg, code, got)
		}
	}
}

// mrun's flag set parses --kill-grace, by default 15 s, into
// Options.KillGrace, which every task's kill policy carries (sched's
// TestRun_TasksCarryKillGrace).
func TestFlags_KillGrace(t *testing.T) {
	for _, c := range []struct {
		flags []string
		want  time.Duration
	}{
		{[]string{}, 15 * time.Second},
		{[]string{"--kill-grace", "7500ms"}, 7500 * time.Millisecond},
		{[]string{"--kill-grace", "1h"}, time.Hour},
	} {
		var cl cli
		if err := newFlagSet(&cl).Parse(c.flags); err != nil {
			t.Fatal(err)
		}
		if cl.o.KillGrace != c.want {
			t.Errorf("mrun %q: Options.KillGrace %v, want %v", c.flags, cl.o.KillGrace, c.want)
		}
	}
}

// A --kill-grace of 0 or less, or above 1h, is a usage error (exit 2)
// before anything starts: one line "mrun: --kill-grace VALUE: ...", then
// the usage.
func TestMain_BadKillGrace(t *testing.T) {
	for _, tt := range []struct{ value, line string }{
		{"0s", "mrun: --kill-grace 0s: must be more than 0s and at most 1h"},
		{"-1s", "mrun: --kill-grace -1s: must be more than 0s and at most 1h"},
		{"2h", "mrun: --kill-grace 2h0m0s: must be more than 0s and at most 1h"},
		{"1h0m0.001s", "mrun: --kill-grace 1h0m0.001s: must be more than 0s and at most 1h"},
	} {
		code, stderr := mainStderr(t, "--kill-grace", tt.value, "--master", "master:5050", "mpi-hello")
		first, rest, _ := strings.Cut(stderr, "\n")
		if code != 2 || first != tt.line || !strings.HasPrefix(rest, docs.MrunUsage) {
			t.Errorf("mrun --kill-grace %s: exit %d, stderr:\n%s\nwant exit 2 and the line %q, then the usage", tt.value, code, stderr, tt.line)
		}
	}
}

// mainStderr runs mrun and returns its exit status and what it wrote
// to standard error.
func mainStderr(t *testing.T, args ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := os.Stderr
	os.Stderr = w
	code := run(args)
	os.Stderr = saved
	w.Close()
	out, _ := io.ReadAll(r)
	return code, string(out)
}

// A --master mrun cannot use is a usage error (exit 2) before anything
// starts: one line "mrun: --master VALUE: why; accepted forms: ...", then
// the usage.
func TestMain_BadMaster(t *testing.T) {
	const forms = "; accepted forms: host:port, host (port 5050), http[s]://host[:port][/path], unix:/path/of/socket (a local Mesos), or local[:N]"
	for _, tt := range []struct{ master, line string }{
		{"zk://h:2181/mesos", "mrun: --master zk://h:2181/mesos: ZooKeeper master detection is not supported yet, give the leading master's host:port" + forms},
		{"http://u:p@master:5050", "mrun: --master http://u:p@master:5050: user info is not accepted, give credentials with --principal and --secret-file" + forms},
		{"master:0", `mrun: --master master:0: port "0" is not from 1 to 65535` + forms},
	} {
		code, stderr := mainStderr(t, "--master", tt.master, "mpi-hello")
		first, rest, _ := strings.Cut(stderr, "\n")
		if code != 2 || first != tt.line || !strings.HasPrefix(rest, docs.MrunUsage) {
			t.Errorf("mrun --master %s: exit %d, stderr:\n%s\nwant exit 2 and the line %q, then the usage", tt.master, code, stderr, tt.line)
		}
	}
}

// docs.MrunOptions, the text of --help and mrun(1), and the flag set agree:
// every flag has its item, every item its flag, with the flag's argument and
// default.
func TestOptions_AreTheFlags(t *testing.T) {
	fromFlags := map[string]manual.Item{}
	for _, it := range flagItems(newFlagSet(&cli{})) {
		fromFlags[it.Term] = it
	}
	for _, it := range docs.MrunOptions {
		got, ok := fromFlags[it.Term]
		switch {
		case !ok:
			t.Errorf("docs.MrunOptions has %q, which is no flag of mrun (or not with that argument)", it.Term)
		case !reflect.DeepEqual(got, it):
			t.Errorf("%s: the flag set says %q, docs.MrunOptions %q (a different default?)", it.Term, got.Text, it.Text)
		}
		delete(fromFlags, it.Term)
	}
	for term := range fromFlags {
		t.Errorf("flag %s has no item in docs.MrunOptions", term)
	}
}

// Hostile or silly values give one line naming the value, then the usage
// (exit 2), and start nothing: no local Mesos (whose work directory would
// appear in TMPDIR), no mpiexec, no task.
func TestMain_BadJobStartsNothing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	for _, tt := range []struct {
		args []string
		line string
	}{
		{[]string{"-N", "0", "mpi-hello"}, "mrun: invalid job: 0 nodes: need at least 1"},
		{[]string{"-N", "-2", "mpi-hello"}, "mrun: invalid job: -2 nodes: need at least 1"},
		{[]string{"-n", "-1", "mpi-hello"}, "mrun: invalid job: -1 procs for 1 nodes: need at least one proc per node"},
		{[]string{"-n", "99999999999", "mpi-hello"}, "mrun: invalid job: 99999999999 procs: at most 1073741824"},
		{[]string{"-n", "100000", "mpi-hello"}, "mrun: the local Mesos of 2 agents ("},
		{[]string{"-N", "3", "-n", "3", "mpi-hello"}, "mrun: the local Mesos of 2 agents ("},
		{[]string{"-c", "-1", "mpi-hello"}, "mrun: invalid job: cpus per proc -1: need a finite number > 0"},
		{[]string{"-m", "NaN", "mpi-hello"}, "mrun: invalid job: memory per proc NaN MB: need a finite number >= 0"},
		{[]string{"--image", "-v", "mpi-hello"}, `mrun: --image: invalid image reference "-v": looks like an option`},
		{[]string{"--image", "a b", "mpi-hello"}, `mrun: --image: invalid image reference "a b"`},
		{[]string{"sh", "-c", "echo a\necho b"}, `mrun: argument 2 of the program, "echo a\necho b", has a control character or invalid UTF-8`},
		{[]string{"--time", "1:2:3:4", "mpi-hello"}, `mrun: invalid value "1:2:3:4" for flag -time: "1:2:3:4": want a duration`},
		{[]string{"--time", "-5m", "mpi-hello"}, "mrun: --time -5m0s: must not be negative"},
		{[]string{"--timeout", "-1s", "mpi-hello"}, "mrun: --timeout -1s: must not be negative"},
		{[]string{"--mount", "/a:/a\n", "mpi-hello"}, `mrun: --mount "/a:/a\n": want SRC:DST[:ro] without control characters`},
		{[]string{"--", "-launcher", "ssh"}, `mrun: the program "-launcher" starts with '-'`},
	} {
		code, stderr := mainStderr(t, append([]string{"--master", "local:2"}, tt.args...)...)
		first, rest, _ := strings.Cut(stderr, "\n")
		if code != 2 || !strings.HasPrefix(first, tt.line) || !strings.HasPrefix(rest, docs.MrunUsage) {
			t.Errorf("mrun %q: exit %d, stderr:\n%s\nwant exit 2 and a line %q..., then the usage", tt.args, code, stderr, tt.line)
		}
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		t.Errorf("started something: %s holds %v", tmp, left)
	}
}
