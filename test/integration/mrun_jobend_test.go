//go:build integration

package integration

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/sched/localmesos"
)

// localJobs sets alice up to run mrun --master local:2 (the README's main
// job, as her) and returns a function that makes her mrun command, run as
// her with the kernel setting her credentials (no setpriv).
func localJobs(t *testing.T) (mrunAs func(args ...string) *exec.Cmd, nothingLeft func(after string)) {
	t.Helper()
	withConfig(t, mpiConfig(t)+"\n[cgroups]\nallow_delegated = true\n")
	mrun := buildMrun(t)
	if out, err := exec.Command(mrun, "--setup-local", alice.Name).CombinedOutput(); err != nil {
		t.Fatalf("mrun --setup-local %s: %v\n%s", alice.Name, err, out)
	}
	t.Cleanup(func() { localmesos.Undelegate(int(alice.UID)) })
	tasks := localmesos.DelegatedParent(int(alice.UID)) + "/mesos/"
	mrunAs = func(args ...string) *exec.Cmd {
		cmd := exec.Command(mrun, append([]string{"--master", "local:2", "--socker", socker, "--image", mpiImage, "--timeout", "30s"}, args...)...)
		cmd.Dir = "/"
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C"}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
		return cmd
	}
	nothingLeft = func(after string) {
		t.Helper()
		if ids := aliceContainers(t); len(ids) != 0 {
			t.Errorf("%s: containers left: %v", after, ids)
		}
		hs, _ := filepath.Glob("/sys/fs/cgroup/*/" + tasks + "*")
		for _, h := range hs {
			if fi, err := os.Stat(h); err == nil && fi.IsDir() {
				t.Errorf("%s: task cgroup left: %s", after, h)
			}
		}
		if out, err := exec.Command("pgrep", "-u", alice.Name, "-a").Output(); err == nil {
			t.Errorf("%s: processes of %s left:\n%s", after, alice.Name, out)
		}
	}
	return mrunAs, nothingLeft
}

// A job past its --time is killed, the whole gang: exit 124, one line that
// says so, nothing left. On 4acc900 there was no --time (usage error 2) and
// such a job ran until someone killed it.
func TestMrun_TimeLimitKillsTheGang(t *testing.T) {
	mrunAs, nothingLeft := localJobs(t)
	start := time.Now()
	r := run(t, mrunAs("-N", "2", "-n", "2", "-c", "0.5", "-m", "64", "--time", "0:03", "sleep", "600"), "")
	took := time.Since(start)
	t.Logf("mrun --time 0:03 sleep 600: exit %d after %v; stderr:\n%s", r.code, took, r.stderr)
	if r.code != 124 || !strings.Contains(r.stderr, "mrun: the job reached its time limit (--time 3s): killed its 2 tasks and mpiexec\n") {
		t.Errorf("exit %d, want 124 and the time limit's line", r.code)
	}
	if took < 3*time.Second || took > 60*time.Second {
		t.Errorf("took %v", took)
	}
	nothingLeft("the timed-out job")
}

// Hostile or silly arguments, given by a real user to the main job's
// command: one line naming the value (then the usage), exit 2, and nothing
// started: no local Mesos work directory, no container, no process left.
// On 4acc900, -N 0 started the local Mesos first, and an image named like
// an option, -N over the agents or -n over their cpus started it and waited
// for offers (or launched tasks) until --timeout.
func TestMrun_BadArgumentsStartNothing(t *testing.T) {
	mrunAs, nothingLeft := localJobs(t)
	workDirs := func() []string {
		var mine []string
		dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "localmesos-*"))
		for _, d := range dirs {
			var st syscall.Stat_t
			if syscall.Stat(d, &st) == nil && st.Uid == alice.UID {
				mine = append(mine, d)
			}
		}
		return mine
	}
	before := len(workDirs())
	for _, tt := range []struct {
		args []string
		line string
	}{
		{[]string{"-N", "0", "mpi-hello"}, "mrun: invalid job: 0 nodes: need at least 1"},
		{[]string{"-N", "-1", "-n", "-4", "mpi-hello"}, "mrun: invalid job: -1 nodes: need at least 1"},
		{[]string{"-n", "1000000", "mpi-hello"}, "mrun: the local Mesos of 2 agents ("},
		{[]string{"-N", "5", "-n", "5", "mpi-hello"}, "mrun: the local Mesos of 2 agents ("},
		{[]string{"--image", "--privileged", "mpi-hello"}, `mrun: --image: invalid image reference "--privileged": looks like an option`},
		{[]string{"--image", "a/b:c d", "mpi-hello"}, `mrun: --image: invalid image reference "a/b:c d"`},
		{[]string{"sh", "-c", "id\nid"}, `mrun: argument 2 of the program, "id\nid", has a control character`},
		{[]string{"--time", "forever", "mpi-hello"}, `mrun: invalid value "forever" for flag -time`},
	} {
		r := run(t, mrunAs(tt.args...), "")
		first, _, _ := strings.Cut(r.stderr, "\n")
		if r.code != 2 || !strings.HasPrefix(first, tt.line) {
			t.Errorf("mrun %q: exit %d, stderr %q; want 2 and a first line %q...", tt.args, r.code, r.stderr, tt.line)
		}
	}
	if after := len(workDirs()); after != before {
		t.Errorf("a local Mesos started: %d work directories of alice's, %d before", after, before)
	}
	nothingLeft("the refused jobs")
}
