package wrapper

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/internal/manual"
	"github.com/sockerhpc/socker/security"
)

// mainCommands returns the commands Main's switch dispatches (the first
// string of each case), read from main.go.
func mainCommands(t *testing.T) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "main.go", nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	ast.Inspect(f, func(n ast.Node) bool {
		fn, ok := n.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "Main" {
			return true
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			if cc, ok := n.(*ast.CaseClause); ok && len(cc.List) > 0 {
				if lit, ok := cc.List[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
					s, _ := strconv.Unquote(lit.Value)
					cmds = append(cmds, s)
				}
			}
			return true
		})
		return false
	})
	if len(cmds) == 0 {
		t.Fatal("found no command in Main's switch")
	}
	return cmds
}

func section(t *testing.T, p manual.Page, title string) manual.Section {
	t.Helper()
	s, ok := p.Find(title)
	if !ok {
		t.Fatalf("%s(%s) has no %s section", p.Name, p.Section, title)
	}
	return s
}

// terms returns the first word of each item's term in a section.
func terms(s manual.Section) []string {
	var out []string
	for _, b := range s.Blocks {
		for _, it := range b.Items {
			first, _, _ := strings.Cut(it.Term, " ")
			out = append(out, first)
		}
	}
	return out
}

// socker(8) documents every command Main runs, and no other.
func TestManual_DocumentsEveryCommand(t *testing.T) {
	p := docs.Socker(build.ConfigPath)
	cmds := mainCommands(t)
	slices.Sort(cmds)
	if got := terms(section(t, p, "COMMANDS")); !slices.Equal(slices.Sorted(slices.Values(got)), cmds) {
		t.Errorf("COMMANDS documents %v; Main runs %v", got, cmds)
	}
	var synopsis []string
	for _, l := range p.Synopsis {
		f := strings.Fields(l)
		synopsis = append(synopsis, f[1])
		if f[0] != "socker" {
			t.Errorf("synopsis line %q does not start with socker", l)
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(synopsis)), cmds) {
		t.Errorf("SYNOPSIS shows %v; Main runs %v", synopsis, cmds)
	}
	for _, u := range []string{docs.RunUsage, docs.ExplainUsage} {
		if !slices.Contains(p.Synopsis, strings.TrimPrefix(u, "usage: ")) {
			t.Errorf("SYNOPSIS lacks %q", u)
		}
	}
	run := section(t, p, "COMMANDS").Blocks[0].Items[0]
	if got := terms(manual.Section{Blocks: []manual.Block{manual.List(run.Items...)}}); !slices.Equal(got, []string{"--mount", "--workdir", "--env"}) {
		t.Errorf("run's options documented: %v", got)
	}
}

func TestManual_ExitStatusAndFiles(t *testing.T) {
	p := docs.Socker(build.ConfigPath)
	want := []string{fmt.Sprint(exitcode.Usage), fmt.Sprint(exitcode.Unavailable), fmt.Sprint(exitcode.Software), fmt.Sprint(exitcode.Denied), fmt.Sprint(exitcode.Config)}
	if got := terms(section(t, p, "EXIT STATUS")); !slices.Equal(got, want) {
		t.Errorf("EXIT STATUS documents %v, want %v", got, want)
	}
	if got, want := terms(section(t, p, "FILES")), []string{build.ConfigPath, security.DefaultConfig().Audit.Path}; !slices.Equal(got, want) {
		t.Errorf("FILES documents %v, want %v", got, want)
	}
	for _, title := range []string{"DESCRIPTION", "ENVIRONMENT", "SECURITY", "SEE ALSO"} {
		section(t, p, title)
	}
}

// socker.toml(5) documents every key of docs.ConfigKeys, in order.
func TestConfigManual_DocumentsEveryKey(t *testing.T) {
	var want []string
	for _, k := range docs.ConfigKeys {
		want = append(want, k.Key)
	}
	p := docs.SockerConfig(build.ConfigPath)
	if got := terms(section(t, p, "KEYS")); !slices.Equal(got, want) {
		t.Errorf("KEYS documents %v, want %v", got, want)
	}
	if !slices.Equal(p.Synopsis, []string{build.ConfigPath}) {
		t.Errorf("SYNOPSIS %v, want the compiled-in path %s", p.Synopsis, build.ConfigPath)
	}
}

// capture returns what f prints on *file (os.Stdout, os.Stderr).
func capture(t *testing.T, file **os.File, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	saved := *file
	*file = w
	done := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		done <- string(b)
	}()
	defer func() { *file = saved }()
	f()
	w.Close()
	*file = saved
	return <-done
}

// `socker help` and `socker help config` print the pages' text renderings,
// which read in 80 columns.
func TestHelp(t *testing.T) {
	for _, tt := range []struct {
		args []string
		page manual.Page
	}{
		{nil, docs.Socker(build.ConfigPath)},
		{[]string{"config"}, docs.SockerConfig(build.ConfigPath)},
	} {
		var code int
		out := capture(t, &os.Stdout, func() { code = help(tt.args) })
		if code != 0 || out != tt.page.Text() {
			t.Errorf("help %v: exit %d, output is not %s(%s)'s text:\n%s", tt.args, code, tt.page.Name, tt.page.Section, out)
		}
		for _, l := range strings.Split(out, "\n") {
			if len(l) > manual.Width {
				t.Errorf("help %v: line of %d columns: %q", tt.args, len(l), l)
			}
		}
	}
	for _, args := range [][]string{{"x"}, {"config", "x"}} {
		var code int
		var out string
		msg := capture(t, &os.Stderr, func() { out = capture(t, &os.Stdout, func() { code = help(args) }) })
		if code != exitcode.Usage || out != "" || !strings.HasPrefix(msg, "socker: ") {
			t.Errorf("help %q: exit %d, stdout %q, stderr %q; want %d, nothing, a socker: line", args, code, out, msg, exitcode.Usage)
		}
	}
}
