package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// goList returns "importpath dir file1 file2 ..." for every package the
// socker binary links (the files compiled for this platform only).
func goList(t *testing.T) [][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", "-f", `{{.ImportPath}} {{.Dir}} {{join .GoFiles " "}}`, ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	var pkgs [][]string
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
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
