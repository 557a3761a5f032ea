package sched

import (
	"bytes"
	"flag"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/manual"
)

// newFlagSet sets every field it is meant to.
func TestNewFlagSet_Parses(t *testing.T) {
	var c cli
	fs := newFlagSet(&c)
	err := fs.Parse(strings.Fields("-N 2 -n 4 -c 0.5 -m 128 --image img:1 --master local:3 --timeout 5s --offer-hold 2s --kill-grace 20s " +
		"--strategy best-fit --socker /s --mount /a:/a --mount /b:/b:ro --mpiexec /m --principal p --secret-file /f " +
		"--setup-local u prog arg"))
	if err != nil {
		t.Fatal(err)
	}
	want := cli{
		o: Options{
			Job:   Job{Nodes: 2, Procs: 4, CPUsPerProc: 0.5, MemPerProc: 128},
			Image: "img:1", Master: "local:3", Socker: "/s", Mpiexec: "/m", Principal: "p",
			Timeout: 5 * time.Second, OfferHold: 2 * time.Second, KillGrace: 20 * time.Second,
		},
		strategy: "best-fit", secretFile: "/f", setup: "u",
		mounts: stringList{"/a:/a", "/b:/b:ro"},
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
	var b bytes.Buffer
	help(&b)
	out := b.String()
	if !strings.HasPrefix(out, mrunUsage+"\n\nOPTIONS\n") {
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
	opts, ok := Manual().Find("OPTIONS")
	if !ok || len(opts.Blocks) != 1 || !reflect.DeepEqual(opts.Blocks[0].Items, items) {
		t.Errorf("mrun(1)'s OPTIONS are not the flag set's")
	}
	for _, title := range []string{"DESCRIPTION", "EXIT STATUS", "EXAMPLES", "SEE ALSO"} {
		if _, ok := Manual().Find(title); !ok {
			t.Errorf("mrun(1) has no %s", title)
		}
	}
}

func TestMain_Help(t *testing.T) {
	var want bytes.Buffer
	help(&want)
	for _, arg := range []string{"-h", "--help", "-help"} {
		r, w, err := os.Pipe()
		if err != nil {
			t.Fatal(err)
		}
		saved := os.Stdout
		os.Stdout = w
		code := Main([]string{arg})
		os.Stdout = saved
		w.Close()
		got, _ := io.ReadAll(r)
		if code != 0 || string(got) != want.String() {
			t.Errorf("mrun %s: exit %d, output:\n%s", arg, code, got)
		}
	}
}
