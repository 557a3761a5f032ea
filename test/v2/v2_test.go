//go:build v2

package v2

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/sched/localmesos"
)

const (
	socker    = "/usr/bin/socker" // the package's
	config    = "/etc/socker/socker.toml"
	auditLog  = "/var/log/socker/audit.log"
	image     = "tiny:1" // docker import of the guest image's busybox root
	imageTar  = "/usr/local/share/socker/tiny.tar"
	mpiImage  = "socker/mpich:4" // the host's, docker-saved into the share
	mpiTar    = "/host/mpich.tar"
	mesosRoot = "/sys/fs/cgroup/mesos"
)

var alice testutil.User

// TestMain checks that this is a v2 guest with the package installed, makes
// the test user (in group socker, which may run the package's socker), the
// image, and a config that allows it; the packaged config is put back at
// the end.
func TestMain(m *testing.M) {
	os.Exit(func() int {
		if err := setUp(); err != nil {
			fmt.Fprintf(os.Stderr, "v2 tier: %v\n", err)
			return 1
		}
		defer restoreConfig()
		return m.Run()
	}())
}

var packagedConfig []byte

func setUp() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("run as root in the guest (euid %d)", os.Geteuid())
	}
	if mode, err := cgroup.HostMode(); err != nil || mode != cgroup.V2 {
		return fmt.Errorf("not a cgroup v2 host: %v %v", mode, err)
	}
	if _, err := os.Stat(socker); err != nil {
		return fmt.Errorf("the socker package is not installed: %w", err)
	}
	var err error
	if alice, err = testutil.EnsureUser("sockv2-alice", "socker"); err != nil {
		return err
	}
	if exec.Command("docker", "image", "inspect", image).Run() != nil {
		if out, err := exec.Command("docker", "import", imageTar, image).CombinedOutput(); err != nil {
			return fmt.Errorf("docker import %s: %v: %s", imageTar, err, out)
		}
	}
	if packagedConfig, err = os.ReadFile(config); err != nil {
		return err
	}
	if exec.Command("docker", "image", "inspect", mpiImage).Run() != nil {
		if out, err := exec.Command("docker", "load", "-i", mpiTar).CombinedOutput(); err != nil {
			return fmt.Errorf("docker load %s: %v: %s", mpiTar, err, out)
		}
	}
	// The MPI image allowed too, and the host network hydra's proxies need.
	cfg := bytes.Replace(packagedConfig, []byte("allow = []"), []byte(`allow = ["docker.io/library/tiny:1", "docker.io/socker/mpich:4"]`), 1)
	cfg = bytes.Replace(cfg, []byte(`network = "none"`), []byte(`network = "host"`), 1)
	if bytes.Equal(cfg, packagedConfig) {
		return fmt.Errorf("%s has no empty images.allow to fill", config)
	}
	return os.WriteFile(config, cfg, 0o644)
}

func restoreConfig() {
	if packagedConfig != nil {
		os.WriteFile(config, packagedConfig, 0o644)
	}
}

// The package under systemd: socker setuid root for group socker, and
// socker-gc.timer enabled by postinst and seen firing (its service has run
// and succeeded).
func TestPackage_GCTimerFiresUnderSystemd(t *testing.T) {
	var st syscall.Stat_t
	if err := syscall.Stat(socker, &st); err != nil {
		t.Fatal(err)
	}
	grp := strings.TrimSpace(run(t, "getent", "group", "socker"))
	gid, _ := strconv.Atoi(strings.Split(grp, ":")[2])
	if st.Uid != 0 || int(st.Gid) != gid || st.Mode&0o7777 != 0o4750 {
		t.Errorf("%s: owner %d:%d mode %04o, want 0:%d 4750", socker, st.Uid, st.Gid, st.Mode&0o7777, gid)
	}
	for _, q := range []string{"is-enabled", "is-active"} {
		if out := strings.TrimSpace(runOK(t, "systemctl", q, "socker-gc.timer")); out != "enabled" && out != "active" {
			t.Errorf("systemctl %s socker-gc.timer: %q", q, out)
		}
	}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		props := systemdProps(t, "socker-gc.service", "ExecMainStartTimestampMonotonic", "Result", "ExecMainStatus")
		if props["ExecMainStartTimestampMonotonic"] != "0" && props["ExecMainStartTimestampMonotonic"] != "" {
			t.Logf("socker-gc.service ran: %v", props)
			if props["Result"] != "success" || props["ExecMainStatus"] != "0" {
				t.Errorf("socker-gc.service failed: %v; journal:\n%s", props, runOK(t, "journalctl", "-u", "socker-gc.service", "--no-pager", "-n", "20"))
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("socker-gc.timer never fired within 3 min: %v; %s", props, runOK(t, "systemctl", "list-timers", "--all", "--no-pager"))
		}
		time.Sleep(5 * time.Second)
	}
}

// With Docker's systemd cgroup driver (its default on v2) a CgroupParent of
// /mesos/<id> cannot be expressed: socker refuses with one line that says
// what the admin must change, starts nothing, and doctor says the same.
func TestDriver_SystemdIsRefusedWithTheFix(t *testing.T) {
	useDriver(t, "systemd")
	tc := taskCgroup(t, 64<<20)
	res := runSocker(tc, "run", image, "echo", "ran")
	t.Logf("socker run with the systemd driver: exit %d, stderr %q", res.code, res.stderr)
	if res.code == 0 || !oneLine(res.stderr) || !strings.Contains(res.stderr, "cgroupfs") {
		t.Errorf("socker run with the systemd driver: exit %d, stderr %q; want a one-line refusal naming cgroupfs", res.code, res.stderr)
	}
	assertNoContainer(t, tc)
	doc := runSocker(tc, "doctor")
	t.Logf("socker doctor:\n%s", doc.stdout)
	if doc.code == 0 || !strings.Contains(doc.stdout, "native.cgroupdriver=cgroupfs") {
		t.Errorf("socker doctor with the systemd driver: exit %d, want a failed docker check with the fix:\n%s%s", doc.code, doc.stdout, doc.stderr)
	}
}

// In a Mesos v2 task cgroup (/mesos/<id> with the limits, the task's
// process in /mesos/<id>/leaf) the container lands beneath the task's
// cgroup, not in leaf, runs as the user, within the task's memory.max and
// pids.max; the exit record says the placement was verified.
func TestRun_InAMesosV2TaskCgroup(t *testing.T) {
	useDriver(t, "cgroupfs")
	tc := taskCgroup(t, 64<<20)
	dir := filepath.Join("/sys/fs/cgroup", tc.Path)
	if err := os.WriteFile(filepath.Join(dir, "pids.max"), []byte("64"), 0); err != nil {
		t.Fatal(err)
	}
	cmd := tc.Command(&alice, socker, "run", image, "sleep", "30")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	id := waitContainer(t, tc, done)
	pid := strings.TrimSpace(runOK(t, "docker", "inspect", "-f", "{{.State.Pid}}", id))
	cg, err := os.ReadFile("/proc/" + pid + "/cgroup")
	if err != nil {
		t.Fatal(err)
	}
	path := strings.TrimPrefix(strings.TrimSpace(string(cg)), "0::")
	t.Logf("container %.12s: init pid %s in %s", id, pid, path)
	if !strings.HasPrefix(path, tc.Path+"/") || strings.HasPrefix(path, tc.Path+"/leaf") {
		t.Errorf("container cgroup %s, want beneath %s and not in its leaf", path, tc.Path)
	}
	if got := strings.TrimSpace(readFile(t, filepath.Join(dir, "memory.max"))); got != strconv.Itoa(64<<20) {
		t.Errorf("task memory.max %s", got)
	}
	status := readFile(t, "/proc/"+pid+"/status")
	if !strings.Contains(status, fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d\n", alice.UID, alice.UID, alice.UID, alice.UID)) {
		t.Errorf("container init is not all uid %d:\n%s", alice.UID, status)
	}
	// The container's processes count in the task's pids.current.
	if n, _ := strconv.Atoi(strings.TrimSpace(readFile(t, filepath.Join(dir, "pids.current")))); n < 2 {
		t.Errorf("task pids.current %d: the container's processes are not counted in the task", n)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("socker did not end after SIGTERM")
	}
	if code := cmd.ProcessState.ExitCode(); code != 143 {
		t.Errorf("socker exit %d after SIGTERM (stderr %q), want 143", code, stderr.String())
	}
	assertNoContainer(t, tc)
	exit := lastRecord(t, id, "exit")
	if v, _ := exit["cgroup_verified"].(bool); !v || exit["cgroup"] != tc.Path {
		t.Errorf("exit record: cgroup %v verified %v, want %s true", exit["cgroup"], exit["cgroup_verified"], tc.Path)
	}
}

// A container that needs more memory than the task has is killed inside
// the task's memory.max: the task cgroup counts the OOM kill.
func TestRun_OOMInsideTheTaskMemory(t *testing.T) {
	useDriver(t, "cgroupfs")
	tc := taskCgroup(t, 32<<20)
	res := runSocker(tc, "run", image, "sh", "-c", "head -c 200000000 /dev/zero | tail")
	events := readFile(t, filepath.Join("/sys/fs/cgroup", tc.Path, "memory.events"))
	t.Logf("exit %d, stderr %q; task memory.events:\n%s", res.code, res.stderr, events)
	if res.code != 137 {
		t.Errorf("exit %d, want 137 (killed)", res.code)
	}
	if !strings.Contains(events, "oom_kill ") || strings.Contains(events, "oom_kill 0\n") {
		t.Errorf("the task cgroup counted no OOM kill:\n%s", events)
	}
	assertNoContainer(t, tc)
}

// A task cgroup a user could have made (beneath a directory the user owns,
// as mrun --setup-local delegates one: /mesos/<d> root's, /mesos/<d>/mesos
// the user's) is refused on v2 too, with one line, and nothing is created.
func TestRun_UserMadeCgroupIsRefused(t *testing.T) {
	useDriver(t, "cgroupfs")
	// The layout mrun --setup-local makes (localmesos.DelegatedParent).
	parent := filepath.Join(mesosRoot, fmt.Sprintf("0c1a1000-0000-4000-8000-%012x", alice.UID))
	if err := os.MkdirAll(filepath.Join(parent, "mesos"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(parent)
	defer os.Remove(filepath.Join(parent, "mesos"))
	os.WriteFile(filepath.Join(parent, "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0)
	os.WriteFile(filepath.Join(parent, "mesos", "cgroup.subtree_control"), []byte("+memory +pids +cpu"), 0)
	// Root's directory, its mesos subdirectory the user's (as --setup-local
	// gives it): the user can make cgroups there. (The user owning the
	// container-id level itself is what an agent's --switch_user does for
	// a task; beneath it is that task's own, and is accepted.)
	if err := os.Chown(filepath.Join(parent, "mesos"), int(alice.UID), int(alice.GID)); err != nil {
		t.Fatal(err)
	}
	tc, err := testutil.NewTaskCgroupUnder(strings.TrimPrefix(parent, "/sys/fs/cgroup")+"/mesos", 64<<20)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	res := runSocker(tc, "run", image, "echo", "ran")
	t.Logf("exit %d, stderr %q", res.code, res.stderr)
	if res.code == 0 || !oneLine(res.stderr) || !strings.Contains(res.stderr, "allow_delegated") {
		t.Errorf("a user-made task cgroup: exit %d, stderr %q; want a one-line refusal naming cgroups.allow_delegated", res.code, res.stderr)
	}
	assertNoContainer(t, tc)
}

// gc on v2: a wrapper killed by SIGKILL leaves its container running; root's
// socker gc removes it (its staging lock is no longer held) and the staging.
func TestGC_RemovesAKilledWrappersContainer(t *testing.T) {
	useDriver(t, "cgroupfs")
	tc := taskCgroup(t, 64<<20)
	cmd := tc.Command(&alice, socker, "run", image, "sleep", "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	id := waitContainer(t, tc, done)
	cmd.Process.Kill()
	<-done
	if ids := containers(t, tc); len(ids) != 1 {
		t.Fatalf("after SIGKILL of the wrapper: containers %v, want its orphan", ids)
	}
	out := runOK(t, socker, "gc")
	t.Logf("socker gc:\n%s", out)
	if ids := containers(t, tc); len(ids) != 0 {
		t.Errorf("socker gc left %v", ids)
	}
	if !strings.Contains(out, id[:12]) && !strings.Contains(out, id) {
		t.Errorf("socker gc did not report removing %.12s:\n%s", id, out)
	}
}

// doctor and explain in a v2 task cgroup, with the cgroupfs driver.
func TestDoctorAndExplain(t *testing.T) {
	useDriver(t, "cgroupfs")
	tc := taskCgroup(t, 64<<20)
	doc := runSocker(tc, "doctor")
	t.Logf("socker doctor: exit %d\n%s%s", doc.code, doc.stdout, doc.stderr)
	if doc.code != 0 || strings.Contains(doc.stdout, "FAIL") || !strings.Contains(doc.stdout, tc.Path) {
		t.Errorf("socker doctor in a v2 task cgroup: exit %d; want every check ok and the task cgroup %s named", doc.code, tc.Path)
	}
	ex := runSocker(tc, "explain", image, "true")
	t.Logf("socker explain: exit %d\n%s%s", ex.code, ex.stdout, ex.stderr)
	if ex.code != 0 || !strings.Contains(ex.stdout, tc.Path) {
		t.Errorf("socker explain in a v2 task cgroup: exit %d; want the decision with the task cgroup %s", ex.code, tc.Path)
	}
	assertNoContainer(t, tc)
}

// The main job on a v2 node: a local Mesos run by root (shared, as a site
// would run one for its users) makes each task's cgroup as a v2 agent does
// (/mesos/<id> with the limits, the task in /mesos/<id>/leaf, its own mount
// and pid namespaces), and alice's `mrun -N 2 -n 4 mpi-hello` through it
// runs every rank as alice, each node's ranks in a socker container beneath
// its task's cgroup (the start and exit records; inside, Docker's private
// cgroup namespace shows the rank its cgroup as /).
func TestMrun_MainJobOnV2(t *testing.T) {
	useDriver(t, "cgroupfs")
	cluster, err := localmesos.Start(localmesos.Config{Agents: 2, CPUs: 2, Mem: 1024, Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	defer cluster.Close()
	since := time.Now()
	cmd := exec.Command("/usr/bin/mrun", "-N", "2", "-n", "4", "-c", "0.5", "-m", "128", "--image", mpiImage,
		"--master", cluster.URL(), "--socker", socker, "--timeout", "300s", "mpi-hello")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
	cmd.Dir = "/tmp"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C", "UCX_NET_DEVICES=lo"}
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	t.Logf("mrun took %v: %v\nstdout:\n%s\nstderr:\n%s", time.Since(since).Round(time.Millisecond), err, out.String(), errb.String())
	if err != nil {
		logs, _ := filepath.Glob(filepath.Join(cluster.WorkDir(), "slaves/*/frameworks/*/executors/*/runs/*/stderr"))
		for _, l := range logs {
			t.Logf("%s:\n%s", l, readFile(t, l))
		}
		t.Fatalf("mrun failed: %v", err)
	}
	ranks := 0
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		f := strings.Fields(l)
		if len(f) != 10 || f[0] != "rank" || f[3] != "4" || f[7] != strconv.Itoa(int(alice.UID)) {
			t.Errorf("unexpected rank line %q (want rank R of 4 on HOST uid %d cgroup PATH)", l, alice.UID)
			continue
		}
		ranks++
	}
	if ranks != 4 {
		t.Errorf("%d rank lines, want 4", ranks)
	}
	recs := recordsSince(t, since)
	starts, verified := map[string]string{}, 0
	for _, r := range recs {
		id, _ := r["container_id"].(string)
		switch r["event"] {
		case "start":
			starts[id], _ = r["cgroup"].(string)
		case "exit":
			if v, _ := r["cgroup_verified"].(bool); v {
				verified++
			}
		case "deny", "error":
			t.Errorf("audited %v: %v", r["event"], r["message"])
		}
	}
	for id, cg := range starts {
		if !strings.HasPrefix(cg, "/mesos/") || strings.HasSuffix(cg, "/leaf") {
			t.Errorf("container %.12s started in %q, want a task cgroup /mesos/<id>", id, cg)
		}
	}
	if len(starts) != 2 || verified != 2 {
		t.Errorf("%d containers started, %d exits with the placement verified; want 2 and 2", len(starts), verified)
	}
}

// ---- helpers ----

type result struct {
	code           int
	stdout, stderr string
}

// runSocker runs socker args as alice in tc and returns how it ended.
func runSocker(tc *testutil.TaskCgroup, args ...string) result {
	cmd := tc.Command(&alice, append([]string{socker}, args...)...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	cmd.Run()
	return result{cmd.ProcessState.ExitCode(), out.String(), errb.String()}
}

func taskCgroup(t *testing.T, mem int64) *testutil.TaskCgroup {
	t.Helper()
	tc, err := testutil.NewTaskCgroup(mem)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if ids := containers(t, tc); len(ids) > 0 {
			exec.Command("docker", append([]string{"rm", "-f"}, ids...)...).Run()
		}
		if err := tc.Close(); err != nil {
			t.Errorf("removing %s: %v", tc.Path, err)
		}
	})
	return tc
}

// useDriver makes Docker use the cgroup driver d (daemon.json, restart).
func useDriver(t *testing.T, d string) {
	t.Helper()
	if strings.TrimSpace(runOK(t, "docker", "info", "--format", "{{.CgroupDriver}}")) == d {
		return
	}
	cfg := fmt.Sprintf(`{"exec-opts": ["native.cgroupdriver=%s"]}`+"\n", d)
	if err := os.WriteFile("/etc/docker/daemon.json", []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	run(t, "systemctl", "restart", "docker")
	if got := strings.TrimSpace(runOK(t, "docker", "info", "--format", "{{.CgroupDriver}}")); got != d {
		t.Fatalf("Docker's cgroup driver is %q after the restart, want %q", got, d)
	}
	t.Logf("Docker restarted with the %s driver in %v", d, time.Since(start).Round(time.Second))
}

func waitContainer(t *testing.T, tc *testutil.TaskCgroup, done <-chan error) string {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		if ids := containers(t, tc); len(ids) == 1 {
			// running?
			if strings.TrimSpace(runOK(t, "docker", "inspect", "-f", "{{.State.Running}}", ids[0])) == "true" {
				return ids[0]
			}
		}
		select {
		case err := <-done:
			t.Fatalf("socker ended before its container ran: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("no running container after 2 min")
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func containers(t *testing.T, tc *testutil.TaskCgroup) []string {
	t.Helper()
	return strings.Fields(runOK(t, "docker", "ps", "-aq", "--no-trunc", "--filter", "label=socker.mesos-container-id="+tc.ID))
}

func assertNoContainer(t *testing.T, tc *testutil.TaskCgroup) {
	t.Helper()
	if ids := containers(t, tc); len(ids) != 0 {
		t.Errorf("containers left: %v", ids)
	}
}

// lastRecord is the last audit record of event for container id.
func lastRecord(t *testing.T, id, event string) map[string]any {
	t.Helper()
	var last map[string]any
	for _, r := range recordsSince(t, time.Time{}) {
		if r["event"] == event && r["container_id"] == id {
			last = r
		}
	}
	if last == nil {
		t.Fatalf("no %s record for container %.12s in %s", event, id, auditLog)
	}
	return last
}

// recordsSince is every audit record written at or after since.
func recordsSince(t *testing.T, since time.Time) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(auditLog)
	if err != nil {
		t.Fatal(err)
	}
	var out []map[string]any
	for _, l := range bytes.Split(b, []byte("\n")) {
		var r map[string]any
		if json.Unmarshal(l, &r) != nil {
			continue
		}
		if ts, _ := r["time"].(string); ts != "" {
			if at, err := time.Parse(time.RFC3339Nano, ts); err == nil && !at.Before(since.Add(-time.Second)) {
				out = append(out, r)
			}
		}
	}
	return out
}

func systemdProps(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	out := runOK(t, "systemctl", "show", unit, "-p", strings.Join(props, ","))
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m
}

func oneLine(s string) bool {
	return strings.Count(s, "\n") == 1 && strings.HasSuffix(s, "\n") && strings.HasPrefix(s, "socker: ")
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// run runs a command and fails the test if it fails.
func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// runOK is run's output, whatever the status (systemctl is-* exit non-zero
// when the answer is no).
func runOK(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}
