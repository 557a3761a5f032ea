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
	"encoding/gob"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
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
	dir         string // temporary install directory (0755, on a filesystem without nosuid)
	confDir     string // root-owned 0755 directory of the config (every parent root-owned too)
	socker      string // the setuid binary
	configPath  string // compiled into socker
	seccompPath string // the packaged seccomp profile, beside the config
	auditPath   string
	shareDir    string // an allowed mount prefix
	alice       testutil.User
	mallory     testutil.User // member of a denied group
	docker      *client.Client
	baseConfig  string
)

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == execHelperArg {
		os.Exit(execHelper(os.Args[2]))
	}
	if len(os.Args) == 3 && os.Args[1] == attackerArg {
		os.Exit(runAttacker(os.Args[2]))
	}
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "integration setup failed:", err)
		os.Exit(1)
	}
	code := m.Run()
	// What socker gc removes on a node (the staging mounts of wrappers that
	// have ended, orphans): the tests leave nothing behind.
	exec.Command(socker, "gc").Run()
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
	seccompPath = filepath.Join(confDir, "seccomp.json")
	if err := testutil.CopyPackagedSeccomp(seccompPath); err != nil {
		return err
	}
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
	return auditLinesOf(t, auditPath)
}

// auditLinesOf returns the lines of the audit log at path (none if it does
// not exist).
func auditLinesOf(t *testing.T, path string) []string {
	t.Helper()
	var lines []string
	s := bufio.NewScanner(bytes.NewReader(readIfExists(t, path)))
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
	return dockerEvents(t, since, filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", "socker.mesos-container-id="+mesosID)))
}

// dockerEvents returns the Docker events matching f between since and now.
func dockerEvents(t *testing.T, since time.Time, f filters.Args) []events.Message {
	t.Helper()
	until := time.Now().Add(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	msgs, errs := docker.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Until:   fmt.Sprintf("%d.%09d", until.Unix(), until.Nanosecond()),
		Filters: f,
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

// execHelperArg re-invokes the test binary as a tiny exec helper (see
// hostileCmd): TestMain checks for it before anything else.
const execHelperArg = "-socker-it-exec-helper"

// execSpec is what the exec helper runs: Path with exactly Argv and Env, as
// the given user, with whatever fds it inherited.
type execSpec struct {
	Path   string
	Argv   []string
	Env    []string
	UID    uint32
	GID    uint32
	Groups []uint32
}

// execHelper drops from root to the spec's user (groups, gid, uid: all
// threads) and execs the spec. It returns only on failure.
func execHelper(specFile string) int {
	data, err := os.ReadFile(specFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "exec helper:", err)
		return 126
	}
	var s execSpec
	if err := gob.NewDecoder(bytes.NewReader(data)).Decode(&s); err != nil {
		fmt.Fprintln(os.Stderr, "exec helper:", err)
		return 126
	}
	groups := make([]int, len(s.Groups))
	for i, g := range s.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		fmt.Fprintln(os.Stderr, "exec helper: setgroups:", err)
		return 126
	}
	if err := syscall.Setresgid(int(s.GID), int(s.GID), int(s.GID)); err != nil {
		fmt.Fprintln(os.Stderr, "exec helper: setresgid:", err)
		return 126
	}
	if err := syscall.Setresuid(int(s.UID), int(s.UID), int(s.UID)); err != nil {
		fmt.Fprintln(os.Stderr, "exec helper: setresuid:", err)
		return 126
	}
	err = syscall.Exec(s.Path, s.Argv, s.Env)
	fmt.Fprintln(os.Stderr, "exec helper: exec:", err)
	return 126
}

// hostileCmd returns a command that runs path as user inside tc with exactly
// argv (which may be empty: the kernel then passes a single "") and exactly
// env (duplicates and odd entries included), with no shell or setpriv between
// the environment and path. The command's ExtraFiles reach path as fds 3, 4,
// ... The command itself starts with an empty environment.
func hostileCmd(t *testing.T, tc *testutil.TaskCgroup, user testutil.User, path string, argv, env []string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := gob.NewEncoder(&buf).Encode(execSpec{Path: path, Argv: argv, Env: env, UID: user.UID, GID: user.GID, Groups: user.Groups}); err != nil {
		t.Fatal(err)
	}
	spec, err := os.CreateTemp("", "socker-it-exec-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Remove(spec.Name()) })
	if _, err := spec.Write(buf.Bytes()); err != nil {
		t.Fatal(err)
	}
	spec.Close()
	cmd := tc.Command(nil, self, execHelperArg, spec.Name())
	cmd.Env = []string{}
	return cmd
}

// homeOf returns a test user's home directory from /etc/passwd.
func homeOf(t *testing.T, u testutil.User) string {
	t.Helper()
	acct, err := user.Lookup(u.Name)
	if err != nil {
		t.Fatal(err)
	}
	return acct.HomeDir
}

// userDir creates a fresh directory owned by u in u's home, removed at the
// end of the test.
func userDir(t *testing.T, u testutil.User, name string) string {
	t.Helper()
	d := filepath.Join(homeOf(t, u), name)
	os.RemoveAll(d)
	if err := os.Mkdir(d, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, int(u.UID), int(u.GID)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// fileState is what a snapshot keeps of one path.
type fileState struct {
	mode     fs.FileMode
	size     int64
	mtime    int64
	uid, gid uint32
}

// snapshot maps every path below the watched directories to its state.
type snapshot map[string]fileState

// takeSnapshot records the file list, modes, sizes, owners and mtimes below
// the directories socker could be tricked into writing: alice's home, the
// install directory (minus the audit log, and minus the audit directory's
// own mtime, which changes when the log is first created) and the config
// directory.
func takeSnapshot(t *testing.T) snapshot {
	t.Helper()
	s := snapshot{}
	for _, root := range []string{homeOf(t, alice), dir, confDir} {
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if p == auditPath {
				return nil
			}
			if err != nil {
				s[p] = fileState{mode: fs.ModeIrregular}
				return nil
			}
			info, err := d.Info()
			if err != nil {
				s[p] = fileState{mode: fs.ModeIrregular}
				return nil
			}
			st := info.Sys().(*syscall.Stat_t)
			f := fileState{mode: info.Mode(), size: info.Size(), mtime: info.ModTime().UnixNano(), uid: st.Uid, gid: st.Gid}
			if p == filepath.Dir(auditPath) {
				f.mtime = 0
			}
			s[p] = f
			return nil
		})
	}
	return s
}

// assertUnchanged fails the test for every path created, removed or
// modified since the snapshot was taken.
func (before snapshot) assertUnchanged(t *testing.T) {
	t.Helper()
	assertSameStates(t, before, takeSnapshot(t))
}

// probe is the state before one attempt that must be refused.
type probe struct {
	before int
	snap   snapshot
}

func startProbe(t *testing.T) probe {
	t.Helper()
	return probe{before: len(auditLines(t)), snap: takeSnapshot(t)}
}

// refused checks the refusal oracle, except Docker's events (see
// assertNoContainerEvents): the exit status, one "socker: " line with no Go
// runtime text that says says, exactly one new audit record with the event,
// reason and the caller's real uid, and nothing written outside the audit
// log. An empty event means the refusal happens before the audit log is
// open and must leave no record at all.
func (p probe) refused(t *testing.T, r result, code int, event, reason, says string, uid uint32) {
	t.Helper()
	assertOneLineError(t, r, code, says)
	recs := newRecords(t, p.before)
	if event == "" {
		if len(recs) != 0 {
			t.Errorf("want no audit record, got %+v", recs)
		}
	} else if len(recs) != 1 {
		t.Errorf("want exactly one audit record, got %d: %+v", len(recs), recs)
	} else if recs[0].Event != event || recs[0].Reason != reason || recs[0].UID != uid {
		t.Errorf("audit record %+v, want %s/%s for uid %d", recs[0], event, reason, uid)
	}
	p.snap.assertUnchanged(t)
}

// assertNoContainerEvents checks that Docker saw no container event at all
// for tc's label since since. Tests call it once after all the refusals made
// in a task cgroup that is used for nothing else.
func assertNoContainerEvents(t *testing.T, since time.Time, tc *testutil.TaskCgroup) {
	t.Helper()
	for _, ev := range containerEvents(t, since, tc.ID) {
		t.Errorf("Docker saw a container event for task %s at %s: %s %s", tc.ID, time.Unix(0, ev.TimeNano).Format(time.RFC3339Nano), ev.Action, ev.Actor.ID)
	}
	if ids := socketContainers(t, tc.ID); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
}

// exitStatus returns cmd's exit status after Wait, or 128+N when it was
// killed by signal N (as a shell reports it), and whether it was a signal.
func exitStatus(cmd *exec.Cmd) (int, bool) {
	ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ok && ws.Signaled() {
		return 128 + int(ws.Signal()), true
	}
	return cmd.ProcessState.ExitCode(), false
}
