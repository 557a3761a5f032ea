package main

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// buildEnv is the platform `make build` targets, pinned so that what the
// tests below see does not depend on the machine they run on: go list
// answers for this platform's files only.
var buildEnv = []string{"CGO_ENABLED=0", "GOOS=linux", "GOARCH=amd64"}

// goListDeps runs go list -deps -f format on cmd/socker for buildEnv.
func goListDeps(t *testing.T, format string) string {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", format, ".")
	cmd.Env = append(os.Environ(), buildEnv...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	return string(out)
}

// goList returns "importpath dir file1 file2 ..." for every package the
// socker binary links (the files compiled for this platform only).
func goList(t *testing.T) [][]string {
	t.Helper()
	out := goListDeps(t, `{{.ImportPath}} {{.Dir}} {{join .GoFiles " "}}`)
	var pkgs [][]string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		pkgs = append(pkgs, strings.Fields(l))
	}
	return pkgs
}

// The setuid binary must not link the scheduler, mesos-go, test code or
// anything that runs programs.
func TestDeps_Forbidden(t *testing.T) {
	forbidden := regexp.MustCompile(`^(os/exec|testing|net/http/httptest|github\.com/mesos/.*|github\.com/sockerhpc/socker/(sched|internal/testutil|internal/cgroupfs)(/.*)?)$`)
	for _, p := range goList(t) {
		if forbidden.MatchString(p[0]) {
			t.Errorf("cmd/socker links %s", p[0])
		}
	}
}

// envReaders are the linked packages whose code reads the environment, each
// reviewed. socker re-executes itself with an empty environment as the first
// thing main does (wrapper.ScrubEnvironment), so only package initialisers,
// which run before main, ever see the caller's variables, and only in that
// first process. A new entry needs a review: what it reads, and when.
var envReaders = map[string]string{
	"os":                                     "the accessors themselves",
	"time":                                   "TZ, read lazily when time.Local is first used; socker uses UTC only",
	"net":                                    "resolver settings (GODEBUG netdns, LOCALDOMAIN, RES_OPTIONS, HOSTALIASES), read when a name is resolved; socker dials only a unix socket",
	"net/http":                               "initialiser reads DEBUG_HTTP2_GOROUTINES and GODEBUG (http2 debug logging): HTTP/2 is never used on the unix socket",
	"crypto/x509":                            "SSL_CERT_FILE/SSL_CERT_DIR, read when system roots load; socker uses no TLS",
	"golang.org/x/sys/unix":                  "the accessors themselves",
	"github.com/docker/docker/client":        "FromEnv and WithHostFromEnv read DOCKER_*; socker never calls them (fixed socket, see wrapper/docker.go)",
	"go.opentelemetry.io/auto/sdk":           "initialiser parses OTEL_SPAN_* limits as integers; no tracer is ever set up",
	"go.opentelemetry.io/otel/trace":         "parses OTEL_SPAN_* limits when an auto tracer is created; never created",
	"github.com/sockerhpc/socker/wrapper":    "ScrubEnvironment looks only at whether the environment is empty, then re-executes with none",
	"internal/syscall/execenv":               "default environment of os.StartProcess; socker starts no process and passes an explicit empty environment to its one exec",
	"vendor/golang.org/x/net/http/httpproxy": "HTTP_PROXY and friends, for http.ProxyFromEnvironment; socker's transport has Proxy nil (wrapper/docker.go)",
	"vendor/golang.org/x/sys/cpu":            "initialiser reads GODEBUG CPU-feature options; first process only",
}

func TestDeps_EnvironmentReadersReviewed(t *testing.T) {
	reads := regexp.MustCompile(`\b(os\.(Getenv|LookupEnv|Environ|ExpandEnv)|syscall\.(Getenv|Environ))\(`)
	found := map[string]bool{}
	for _, p := range goList(t) {
		if len(p) < 3 {
			continue
		}
		for _, f := range p[2:] {
			data, err := os.ReadFile(filepath.Join(p[1], f))
			if err != nil {
				t.Fatal(err)
			}
			if reads.Match(data) {
				found[p[0]] = true
			}
		}
	}
	var unreviewed, stale []string
	for p := range found {
		if _, ok := envReaders[p]; !ok {
			unreviewed = append(unreviewed, p)
		}
	}
	for p := range envReaders {
		if !found[p] {
			stale = append(stale, p)
		}
	}
	sort.Strings(unreviewed)
	sort.Strings(stale)
	if len(unreviewed) > 0 {
		t.Errorf("packages linked into socker read the environment and are not reviewed in envReaders: %v", unreviewed)
	}
	if len(stale) > 0 {
		t.Errorf("envReaders lists packages that no longer read the environment (remove them): %v", stale)
	}
}

// depsFile is the committed list of every package socker links (like
// tailscale's depaware.txt): a dependency upgrade or a new import that pulls
// a package into the setuid binary shows up in review as a diff of this file.
const depsFile = "deps.txt"

// depsRegenerate is the one command that rewrites depsFile (Makefile).
const depsRegenerate = "make deps-list"

var update = flag.Bool("update", false, "rewrite "+depsFile+" from go list instead of checking it")

// depsList renders depsFile: every package cmd/socker links for buildEnv,
// sorted, in three sections (third-party, this module, standard library).
func depsList(t *testing.T) string {
	t.Helper()
	out := goListDeps(t, `{{if .Standard}}std{{else if and .Module .Module.Main}}main{{else}}third{{end}} {{.ImportPath}}`)
	sections := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		kind, path, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("go list: unexpected line %q", l)
		}
		sections[kind] = append(sections[kind], path)
	}
	var b strings.Builder
	b.WriteString(`# Every package linked into the setuid-root binary socker (cmd/socker):
# go list -deps with CGO_ENABLED=0 GOOS=linux GOARCH=amd64, as make build
# builds it, with the Go version in go.mod. A new line is new code running
# as root: review it. Checked by TestDeps_List (make deps-check, make check).
# Regenerate with: ` + depsRegenerate + "\n")
	for _, sec := range []struct{ kind, title string }{
		{"third", "third-party"},
		{"main", "this module"},
		{"std", "standard library"},
	} {
		pkgs := sections[sec.kind]
		sort.Strings(pkgs)
		fmt.Fprintf(&b, "\n# %s (%d)\n", sec.title, len(pkgs))
		for _, p := range pkgs {
			b.WriteString(p + "\n")
		}
	}
	return b.String()
}

func TestDeps_List(t *testing.T) {
	want := depsList(t)
	if *update {
		if err := os.WriteFile(depsFile, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote %s", depsFile)
		return
	}
	got, err := os.ReadFile(depsFile)
	if err != nil {
		t.Fatalf("%v: regenerate it with: %s", err, depsRegenerate)
	}
	if string(got) == want {
		return
	}
	msg := fmt.Sprintf("the packages cmd/socker links differ from cmd/socker/%s "+
		"(+ now linked, not listed; - listed, no longer linked):\n\n%s\n\n"+
		"If the change is intended, review every added package (it runs as root), then regenerate the list with:\n\n\t%s\n\n"+
		"and commit cmd/socker/%s with the change.", depsFile, lineDiff(string(got), want), depsRegenerate, depsFile)
	if v := goModVersion(t); v != "" && "go"+v != runtime.Version() {
		msg += fmt.Sprintf("\nNote: this test ran with %s, go.mod names go %s; standard-library lines can differ between Go releases.", runtime.Version(), v)
	}
	t.Error(msg)
}

// goModVersion returns the go directive of the module's go.mod.
func goModVersion(t *testing.T) string {
	data, err := os.ReadFile(filepath.Join("..", "..", "go.mod"))
	if err != nil {
		return ""
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(l), "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// lineDiff returns a unified-looking diff from old to new: a header, and each
// changed line as -line or +line, under "@@ section @@" for the section
// comment ("# ...") it falls in. It is a longest-common-subsequence diff,
// which is plenty for a few hundred lines.
func lineDiff(old, new string) string {
	a := strings.Split(strings.TrimSuffix(old, "\n"), "\n")
	b := strings.Split(strings.TrimSuffix(new, "\n"), "\n")
	// lcs[i][j]: length of the longest common subsequence of a[i:], b[j:].
	lcs := make([][]int, len(a)+1)
	for i := range lcs {
		lcs[i] = make([]int, len(b)+1)
	}
	for i := len(a) - 1; i >= 0; i-- {
		for j := len(b) - 1; j >= 0; j-- {
			if a[i] == b[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	fmt.Fprintf(&out, "--- cmd/socker/%s (committed)\n+++ go list -deps ./cmd/socker (now)\n", depsFile)
	section, shown := "", ""
	emit := func(op byte, line string) {
		if section != shown {
			fmt.Fprintf(&out, "@@ %s @@\n", strings.TrimPrefix(section, "# "))
			shown = section
		}
		fmt.Fprintf(&out, "%c%s\n", op, line)
		if op == '+' && strings.HasPrefix(line, "# ") {
			section, shown = line, line
		}
	}
	i, j := 0, 0
	for i < len(a) || j < len(b) {
		switch {
		case i < len(a) && j < len(b) && a[i] == b[j]:
			if strings.HasPrefix(a[i], "# ") {
				section = a[i]
			}
			i++
			j++
		case i < len(a) && (j == len(b) || lcs[i+1][j] >= lcs[i][j+1]):
			emit('-', a[i])
			i++
		default:
			emit('+', b[j])
			j++
		}
	}
	return strings.TrimSuffix(out.String(), "\n")
}
