//go:build integration

package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/errdefs"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/testutil"
)

const mib = 1 << 20

func parseIDs(t *testing.T, s string) []uint32 {
	t.Helper()
	var ids []uint32
	for _, f := range strings.Fields(s) {
		n, err := strconv.ParseUint(f, 10, 32)
		if err != nil {
			t.Fatalf("not a numeric id list: %q", s)
		}
		ids = append(ids, uint32(n))
	}
	return ids
}

// P1: `id` inside the container equals `id` on the host for the caller, the
// image's USER 0, WORKDIR and ENTRYPOINT change nothing.
func TestRun_IdentityEqualsHost(t *testing.T) {
	tc := task(t, 256*mib)
	r := run(t, sockerRun(tc, &alice, image, "--", "sh", "-c", "id -u; id -g; id -G; pwd"), "")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if strings.Contains(r.stdout, "image-entrypoint-ran") {
		t.Errorf("the image's ENTRYPOINT ran: %q", r.stdout)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 4 {
		t.Fatalf("unexpected output %q", r.stdout)
	}
	if got := parseIDs(t, lines[0]); len(got) != 1 || got[0] != alice.UID {
		t.Errorf("uid inside %v, host %d", got, alice.UID)
	}
	if got := parseIDs(t, lines[1]); len(got) != 1 || got[0] != alice.GID {
		t.Errorf("gid inside %v, host %d", got, alice.GID)
	}
	inside, host := parseIDs(t, lines[2]), slices.Clone(alice.Groups)
	slices.Sort(inside)
	slices.Sort(host)
	if !slices.Equal(slices.Compact(inside), slices.Compact(host)) || len(host) < 3 {
		t.Errorf("groups inside %v, host %v", inside, host)
	}
	if lines[3] != "/" {
		t.Errorf("working directory %q, want / (the image's WORKDIR must not apply)", lines[3])
	}
}

// P1: no capabilities, no_new_privs, default seccomp.
func TestRun_NoNewPrivsNoCapabilities(t *testing.T) {
	tc := task(t, 256*mib)
	r := run(t, sockerRun(tc, &alice, image, "cat", "/proc/self/status"), "")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	want := map[string]string{
		"NoNewPrivs": "1", "Seccomp": "2",
		"CapInh": "0000000000000000", "CapPrm": "0000000000000000", "CapEff": "0000000000000000",
		"CapBnd": "0000000000000000", "CapAmb": "0000000000000000",
	}
	got := map[string]string{}
	for _, l := range strings.Split(r.stdout, "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok {
			got[k] = strings.TrimSpace(v)
		}
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q inside the container, want %q", k, got[k], v)
		}
	}
	uids := strings.Fields(got["Uid"])
	if len(uids) != 4 || slices.ContainsFunc(uids, func(s string) bool { return s != strconv.Itoa(int(alice.UID)) }) {
		t.Errorf("Uid line %q: real, effective, saved and fs uid must all be %d", got["Uid"], alice.UID)
	}
}

// waitForContainer polls for the container socker created in tc.
func waitForContainer(t *testing.T, tc *testutil.TaskCgroup) string {
	t.Helper()
	for i := 0; i < 200; i++ {
		if ids := socketContainers(t, tc.ID); len(ids) == 1 {
			ins, err := docker.ContainerInspect(context.Background(), ids[0])
			if err == nil && ins.State.Running {
				return ins.ID
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal("socker's container did not start")
	return ""
}

// P2: the container's processes are beneath the task cgroup in every
// controller the task is in; P6: while it runs, the wrapper holds no
// privilege and cannot be inspected by the caller.
func TestRun_ContainerBeneathTaskCgroup_WrapperUnprivileged(t *testing.T) {
	tc := task(t, 256*mib)
	cmd := sockerRun(tc, &alice, image, "sleep", "60")
	ins := startContainer(t, tc, cmd)
	if ins.HostConfig.CgroupParent != tc.Path {
		t.Errorf("CgroupParent %q, want %q", ins.HostConfig.CgroupParent, tc.Path)
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", ins.State.Pid))
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	wrapperTask, err := cgroup.Parse(self, tc.Mode)
	if err != nil || wrapperTask.Parent != tc.Path {
		t.Fatalf("the wrapper is not in the task cgroup: %v %+v", err, wrapperTask)
	}
	if err := cgroup.Beneath(wrapperTask, data); err != nil {
		t.Errorf("container init: %v\n%s", err, data)
	}
	if tc.Mode == cgroup.V1 {
		// Docker puts it beneath the task in every hierarchy, not only Mesos' ones.
		for _, l := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			parts := strings.SplitN(l, ":", 3)
			if parts[0] != "0" && !strings.HasPrefix(parts[2], tc.Path+"/") {
				t.Errorf("container cgroup line %q is not beneath %s", l, tc.Path)
			}
		}
	}

	// The wrapper itself: every uid and gid is the caller's, no capabilities.
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(status), "\n") {
		k, v, _ := strings.Cut(l, ":")
		f := strings.Fields(v)
		switch k {
		case "Uid":
			if strings.Join(f, " ") != strings.Repeat(strconv.Itoa(int(alice.UID))+" ", 3)+strconv.Itoa(int(alice.UID)) {
				t.Errorf("wrapper %s: %q", k, v)
			}
		case "Gid":
			if strings.Join(f, " ") != strings.Repeat(strconv.Itoa(int(alice.GID))+" ", 3)+strconv.Itoa(int(alice.GID)) {
				t.Errorf("wrapper %s: %q", k, v)
			}
		case "Groups":
			got := parseIDs(t, v)
			want := slices.Clone(alice.Groups)
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
				t.Errorf("wrapper Groups %v, want the caller's %v", got, want)
			}
		case "CapEff", "CapPrm":
			if f[0] != "0000000000000000" {
				t.Errorf("wrapper %s: %q", k, v)
			}
		}
	}
	// No core dumps: RLIMIT_CORE is 0.
	limits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", cmd.Process.Pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(limits), "\n") {
		if strings.HasPrefix(l, "Max core file size") {
			if f := strings.Fields(l); len(f) < 6 || f[4] != "0" || f[5] != "0" {
				t.Errorf("wrapper core limit: %q, want 0 0", l)
			}
		}
	}
	// Not dumpable: the caller cannot reach the wrapper's Docker socket fds.
	r := run(t, testutil.AsUserOutside(alice, "ls", fmt.Sprintf("/proc/%d/fd/", cmd.Process.Pid)), "")
	if r.code == 0 || !strings.Contains(r.stderr, "Permission denied") {
		t.Errorf("the caller could list the wrapper's fds: exit %d, %q %q", r.code, r.stdout, r.stderr)
	}
}

// P7: SIGTERM to the wrapper (a Mesos kill) stops the container, removes it,
// and the wrapper exits with the container's status.
func TestRun_SIGTERMStopsAndRemovesContainer(t *testing.T) {
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	cmd := sockerRun(tc, &alice, image, "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	id := waitForContainer(t, tc)
	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	ee, _ := err.(*exec.ExitError)
	if ee == nil || ee.ExitCode() != 143 {
		t.Errorf("wrapper exit %v, want 143 (the container's status after SIGTERM)", err)
	}
	if d := time.Since(start); d > 9*time.Second {
		t.Errorf("stopping took %v: the container should stop on SIGTERM, not wait for the grace period", d)
	}
	if _, err := docker.ContainerInspect(context.Background(), id); !errdefs.IsNotFound(err) {
		t.Errorf("container %s still exists after SIGTERM: %v", id, err)
	}
	recs := newRecords(t, before)
	if len(recs) != 2 || recs[0].Event != "start" || recs[1].Event != "exit" || recs[1].ExitStatus == nil || *recs[1].ExitStatus != 143 {
		t.Errorf("audit records %+v, want start then exit 143", recs)
	} else if recs[1].CgroupVerified == nil || !*recs[1].CgroupVerified {
		t.Errorf("the running container's placement was not verified: %+v", recs[1])
	}
}

// The task's memory limit holds: the container is OOM-killed (137).
func TestRun_TaskMemoryLimitOOMKills(t *testing.T) {
	tc := task(t, 64*mib)
	r := run(t, sockerRun(tc, &alice, image, "dd", "if=/dev/zero", "of=/dev/null", "bs=256M", "count=1"), "")
	if r.code != 137 {
		t.Errorf("exit %d, want 137 (OOM-killed inside the 64 MiB task cgroup); stderr %q", r.code, r.stderr)
	}
	r = run(t, sockerRun(tc, &alice, image, "dd", "if=/dev/zero", "of=/dev/null", "bs=16M", "count=1"), "")
	if r.code != 0 {
		t.Errorf("a 16 MiB buffer should fit in the task limit: exit %d, stderr %q", r.code, r.stderr)
	}
}

// Exit statuses pass through: plain codes, and 128+N for signal N.
func TestRun_ExitStatusPassThrough(t *testing.T) {
	tc := task(t, 256*mib)
	for _, c := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0}, {"exit 3", 3}, {"exit 42", 42}, {"exit 255", 255}, {"kill -USR1 $$", 128 + 10}, {"kill -KILL $$", 137},
	} {
		r := run(t, sockerRun(tc, &alice, image, "sh", "-c", c.script), "")
		if r.code != c.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", c.script, r.code, c.want, r.stderr)
		}
	}
}

// stdin reaches the container; stdout and stderr come back separately.
func TestRun_StdioPassThrough(t *testing.T) {
	tc := task(t, 256*mib)
	in := "line one\nline two\n" + strings.Repeat("x", 100000) + "\n"
	r := run(t, sockerRun(tc, &alice, image, "sh", "-c", "cat; echo to-stderr >&2"), in)
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	if r.stdout != in {
		t.Errorf("stdout differs from stdin (%d bytes vs %d)", len(r.stdout), len(in))
	}
	if r.stderr != "to-stderr\n" {
		t.Errorf("stderr %q", r.stderr)
	}
}

// Mounts: an allowed source is bound read-only as asked; the container cannot
// write through it.
func TestRun_MountReadOnly(t *testing.T) {
	tc := task(t, 256*mib)
	r := run(t, sockerRun(tc, &alice, "--mount", shareDir+":/data:ro", image, "sh", "-c", "cat /data/hello.txt; touch /data/x"), "")
	if r.stdout != "hello from the host\n" {
		t.Errorf("stdout %q", r.stdout)
	}
	if r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("writing to a read-only mount: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(shareDir, "x")); err == nil {
		t.Error("a file appeared in the read-only mount source")
	}
}
