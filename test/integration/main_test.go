//go:build integration

// Package integration holds socker's root tier: the socker binary built and
// installed setuid root in a temporary directory, real test users and groups,
// Mesos-like task cgroups, and the real Docker daemon. Run with
// `make integration` as root. A missing prerequisite fails the run; nothing
// here is skipped.
package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/security"
)

const image = "socker-test/tiny:1"

// The fixture every test shares.
var (
	dir        string // temporary install directory (0755, on a filesystem without nosuid)
	confDir    string // root-owned 0755 directory of the config (every parent root-owned too)
	socker     string // the setuid binary
	configPath string // compiled into socker
	auditPath  string
	shareDir   string // an allowed mount prefix
	alice      testutil.User
	mallory    testutil.User // member of a denied group
	docker     *client.Client
	baseConfig string
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "integration setup failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.RemoveAll(confDir)
	os.Exit(code)
}

func setup() error {
	if err := testutil.Prerequisites(image); err != nil {
		return err
	}
	var err error
	if dir, err = os.MkdirTemp("", "socker-it-"); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	// The config's directory and all its parents must be root-owned and not
	// group/world-writable: /tmp is not, /run is.
	if confDir, err = os.MkdirTemp("/run", "socker-it-"); err != nil {
		return err
	}
	if err := os.Chmod(confDir, 0o755); err != nil {
		return err
	}
	configPath = filepath.Join(confDir, "socker.toml")
	auditPath = filepath.Join(dir, "log", "audit.log")
	shareDir = filepath.Join(dir, "share")
	if err := os.MkdirAll(filepath.Join(dir, "log"), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(shareDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(shareDir, "hello.txt"), []byte("hello from the host\n"), 0o644); err != nil {
		return err
	}
	baseConfig = fmt.Sprintf(`[images]
allow = [%q]
[mounts]
allow = [%q]
[users]
min_uid = 1000
deny_groups = ["docker", "sudo", "disk", "adm", "sockt-deny"]
[container]
network = "none"
pids_limit = 4096
stop_grace_seconds = 10
[audit]
path = %q
`, image, shareDir, auditPath)
	if err := os.WriteFile(configPath, []byte(baseConfig), 0o644); err != nil {
		return err
	}
	if socker, err = testutil.InstallSocker(dir, configPath); err != nil {
		return err
	}
	if alice, err = testutil.EnsureUser("sockt-alice", "sockt-g1", "sockt-g2"); err != nil {
		return err
	}
	if mallory, err = testutil.EnsureUser("sockt-mallory", "sockt-deny"); err != nil {
		return err
	}
	docker, err = client.NewClientWithOpts(client.WithHost("unix:///var/run/docker.sock"), client.WithAPIVersionNegotiation())
	if err != nil {
		return err
	}
	_, err = docker.Ping(context.Background())
	return err
}

// result is what a socker run left behind.
type result struct {
	code           int
	stdout, stderr string
}

// run starts cmd with stdin, waits, and returns its exit status and output.
func run(t *testing.T, cmd *exec.Cmd, stdin string) result {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader(stdin)
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	var ee *exec.ExitError
	code := 0
	if errors.As(err, &ee) {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("running %v: %v", cmd.Args, err)
	}
	return result{code, out.String(), errb.String()}
}

// task creates a Mesos-like task cgroup with a memory limit, removed at the end.
func task(t *testing.T, memLimit int64) *testutil.TaskCgroup {
	t.Helper()
	tc, err := testutil.NewTaskCgroup(memLimit)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tc.Close(); err != nil {
			t.Errorf("removing task cgroup: %v", err)
		}
	})
	return tc
}

// sockerRun returns a command running `socker run args...` as user inside tc.
func sockerRun(tc *testutil.TaskCgroup, user *testutil.User, args ...string) *exec.Cmd {
	return tc.Command(user, append([]string{socker, "run"}, args...)...)
}

// auditLines returns the audit log's lines.
func auditLines(t *testing.T) []string {
	t.Helper()
	data, err := os.ReadFile(auditPath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		lines = append(lines, s.Text())
	}
	return lines
}

// newRecords returns the audit records written since before (a line count).
func newRecords(t *testing.T, before int) []security.Record {
	t.Helper()
	lines := auditLines(t)
	var recs []security.Record
	for _, l := range lines[before:] {
		var r security.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("audit line is not JSON: %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

// containerEvents returns the Docker container events between since and now
// for containers in the task cgroup mesosID (socker labels every container
// it creates with it; filtering keeps unrelated Docker activity out).
func containerEvents(t *testing.T, since time.Time, mesosID string) []events.Message {
	t.Helper()
	until := time.Now().Add(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, errs := docker.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Until:   fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", "socker.mesos-container-id="+mesosID)),
	})
	var out []events.Message
	for {
		select {
		case m := <-msgs:
			out = append(out, m)
		case err := <-errs:
			if err != nil && !errors.Is(err, context.Canceled) && err.Error() != "EOF" {
				t.Fatalf("reading docker events: %v", err)
			}
			return out
		}
	}
}

// socketContainers lists containers (running or not) labelled by socker for
// the given Mesos container id.
func socketContainers(t *testing.T, mesosID string) []string {
	t.Helper()
	out, err := exec.Command("docker", "ps", "-aq", "--filter", "label=socker.mesos-container-id="+mesosID).Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.Fields(string(out))
}

// assertOneLineError checks the black-box oracle for socker's own failures.
func assertOneLineError(t *testing.T, r result, code int, contains string) {
	t.Helper()
	if r.code != code {
		t.Errorf("exit status %d, want %d (stderr %q)", r.code, code, r.stderr)
	}
	lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "socker: ") {
		t.Errorf("stderr must be one line starting with 'socker: ', got %q", r.stderr)
	}
	for _, bad := range []string{"goroutine", "panic", "runtime.", "SIG"} {
		if strings.Contains(r.stderr, bad) {
			t.Errorf("stderr carries Go runtime text %q: %q", bad, r.stderr)
		}
	}
	if !strings.Contains(r.stderr, contains) {
		t.Errorf("stderr %q does not say %q", r.stderr, contains)
	}
	if r.stdout != "" {
		t.Errorf("stdout should be empty, got %q", r.stdout)
	}
}

// withConfig replaces the config for one test and restores it afterwards.
func withConfig(t *testing.T, text string) {
	t.Helper()
	if err := os.WriteFile(configPath, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.WriteFile(configPath, []byte(baseConfig), 0o644) })
}

func signalName(code int) string { return syscall.Signal(code - 128).String() }
