package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// initBeforeSignals are the packages not of the standard library that run
// an initialiser before internal/earlysignals catches socker's signals
// (they need no more than it does and their import paths sort before its),
// each reviewed: a signal that arrives while they run ends socker by the
// Go runtime's default.
var initBeforeSignals = map[string]string{
	"github.com/BurntSushi/toml/internal": "three time.FixedZone variables; microseconds",
}

// The init order socker really runs (GODEBUG=inittrace=1 on a non-setuid
// build): before earlysignals, nothing but the standard library and
// initBeforeSignals.
func TestEarlySignals_InitialisedFirst(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "socker")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), buildEnv...)
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "version")
	cmd.Env = []string{"GODEBUG=inittrace=1"}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("socker version: %v\n%s", err, out)
	}
	var before []string
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) < 2 || f[0] != "init" {
			continue
		}
		if f[1] == "github.com/sockerhpc/socker/internal/earlysignals" {
			for _, p := range before {
				if strings.Contains(strings.Split(p, "/")[0], ".") && initBeforeSignals[p] == "" {
					t.Errorf("%s initialises before internal/earlysignals: review it (initBeforeSignals)", p)
				}
			}
			return
		}
		before = append(before, f[1])
	}
	t.Fatalf("internal/earlysignals did not initialise:\n%s", out)
}
