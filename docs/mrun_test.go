package docs_test

import (
	"strings"
	"testing"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/manual"
)

// mrun --help is the usage, then every option, then the exit status, in 80
// columns; mrun(1) has the same options and the sections a manual page has.
// (cmd/mrun's tests check that the options are mrun's flags.)
func TestMrunHelp(t *testing.T) {
	out := docs.MrunHelp()
	if !strings.HasPrefix(out, docs.MrunUsage+"\n\nOPTIONS\n") {
		t.Errorf("--help does not start with the usage and OPTIONS:\n%s", out)
	}
	for _, it := range docs.MrunOptions {
		if !strings.Contains(out, "\n  "+it.Term+"\n") {
			t.Errorf("--help lacks %q", it.Term)
		}
	}
	for _, l := range strings.Split(out, "\n") {
		if len(l) > manual.Width {
			t.Errorf("line of %d columns: %q", len(l), l)
		}
	}
	for _, title := range []string{"DESCRIPTION", "OPTIONS", "EXIT STATUS", "EXAMPLES", "SEE ALSO"} {
		if _, ok := docs.Mrun().Find(title); !ok {
			t.Errorf("mrun(1) has no %s", title)
		}
	}
}
