//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/internal/uuid"
	"github.com/sockerhpc/socker/sched/localmesos"
)

// clusterConfig is packaging/socker.toml, the packaged config of a cluster
// node (cgroups.allow_delegated = false), with what a site admin fills in:
// the images the tests run, the network, this run's audit log, and the
// packaged seccomp profile where this run put it.
func clusterConfig(t *testing.T, network string, images ...string) string {
	t.Helper()
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(root, "packaging", "socker.toml"))
	if err != nil {
		t.Fatal(err)
	}
	c := string(data)
	quoted := make([]string, len(images))
	for i, im := range images {
		quoted[i] = strconv.Quote(im)
	}
	for _, r := range [][2]string{
		{"[images]", ""}, // the first "allow = []" below it is the images'
		{"allow = []", "allow = [" + strings.Join(quoted, ", ") + "]"},
		{`network = "none"`, fmt.Sprintf("network = %q", network)},
		{`path = "/var/log/socker/audit.log"`, fmt.Sprintf("path = %q", auditPath)},
		{"allow_delegated = false", ""},
		{`seccomp_profile = "/etc/socker/seccomp.json"`, fmt.Sprintf("seccomp_profile = %q", seccompPath)},
	} {
		if !strings.Contains(c, r[0]) {
			t.Fatalf("packaging/socker.toml has no %q", r[0])
		}
		if r[1] != "" {
			c = strings.Replace(c, r[0], r[1], 1)
		}
	}
	return c
}

// assertAgentLayout checks that tc is what a real agent leaves: each task
// directory owned by user, its control files root's.
func assertAgentLayout(t *testing.T, tc *testutil.TaskCgroup, user testutil.User) {
	t.Helper()
	dirs := tc.Dirs()
	if tc.Mode == cgroup.V1 && len(dirs) != 5 {
		t.Fatalf("task cgroup in %d hierarchies %v, want cpu, cpuacct, memory, freezer, pids", len(dirs), dirs)
	}
	for _, d := range dirs {
		var st syscall.Stat_t
		if err := syscall.Stat(d, &st); err != nil || st.Uid != user.UID {
			t.Fatalf("%s: owner %d (%v), want %s", d, st.Uid, err, user.Name)
		}
		if err := syscall.Stat(filepath.Join(d, "cgroup.procs"), &st); err != nil || st.Uid != 0 {
			t.Fatalf("%s/cgroup.procs: owner %d (%v), want root", d, st.Uid, err)
		}
	}
}

// A task cgroup as a real Mesos agent with --switch_user leaves it (made by
// root in cpu, cpuacct, memory, freezer and pids; each directory chowned to
// the task's user, the control files root's) runs the container, as the
// caller and beneath the task cgroup in every hierarchy, with the packaged
// cluster config. So does a cgroup the caller made inside her own task: it
// is still beneath the task. Another user's task directory is refused.
func TestRun_RealAgentTaskCgroupWithClusterConfig(t *testing.T) {
	withConfig(t, clusterConfig(t, "none", image))
	tc, err := testutil.NewAgentTaskCgroup(256*mib, alice)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tc.Close(); err != nil {
			t.Errorf("removing task cgroup: %v", err)
		}
	})
	assertAgentLayout(t, tc, alice)

	// The container reports its uid and cgroups; each v1 line must be
	// beneath the task (Docker makes /mesos/<id> where the agent did not).
	check := func(t *testing.T, r result, parent string) {
		t.Helper()
		if r.code != 0 {
			t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) < 2 || lines[0] != strconv.Itoa(int(alice.UID)) {
			t.Fatalf("container output %q, want alice's uid %d first", r.stdout, alice.UID)
		}
		seen := map[string]bool{}
		for _, l := range lines[1:] {
			parts := strings.SplitN(l, ":", 3)
			if len(parts) != 3 || parts[0] == "0" {
				continue
			}
			if !strings.HasPrefix(parts[2], parent+"/") {
				t.Errorf("container cgroup line %q is not beneath %s", l, parent)
			}
			for _, c := range strings.Split(parts[1], ",") {
				seen[c] = true
			}
		}
		if tc.Mode == cgroup.V1 {
			for _, c := range []string{"cpu", "cpuacct", "memory", "freezer", "pids"} {
				if !seen[c] {
					t.Errorf("no %s line in the container's cgroup file %q", c, r.stdout)
				}
			}
		}
	}
	// It outlives socker's check of where its init landed (cgroup_verified).
	probe := []string{image, "sh", "-c", "id -u; cat /proc/self/cgroup; sleep 2"}

	t.Run("the agent's task cgroup", func(t *testing.T) {
		before := len(auditLines(t))
		check(t, run(t, sockerRun(tc, &alice, probe...), ""), tc.Path)
		var started bool
		for _, rec := range newRecords(t, before) {
			switch rec.Event {
			case "deny", "error":
				t.Errorf("audited %s %s: %s", rec.Event, rec.Reason, rec.Message)
			case "start":
				started = rec.Cgroup == tc.Path && rec.UID == alice.UID
			case "exit":
				if rec.CgroupVerified == nil || !*rec.CgroupVerified {
					t.Errorf("exit record without cgroup_verified: %+v", rec)
				}
			}
		}
		if !started {
			t.Error("no start record for alice in the task cgroup")
		}
	})

	t.Run("socker doctor", func(t *testing.T) {
		r := run(t, tc.Command(&alice, socker, "doctor"), "")
		if r.code != 0 || !strings.Contains(r.stdout, "ok   task cgroup    made by a Mesos agent") {
			t.Errorf("doctor: exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
		}
	})

	t.Run("a cgroup the caller made inside her task", func(t *testing.T) {
		// As alice (no capability: setpriv drops them), in every hierarchy
		// of the task: mkdir /mesos/<id>/mesos/<id2>, move in, run socker.
		nested := tc.Path + "/mesos/" + uuid.New()
		script := ""
		for _, d := range tc.Dirs() {
			h := filepath.Dir(filepath.Dir(d))
			script += fmt.Sprintf("mkdir -p %[1]s%[2]s && echo $$ > %[1]s%[2]s/cgroup.procs || exit 125; ", h, nested)
		}
		// The negative control: alice cannot make a cgroup beside her task.
		script += fmt.Sprintf("mkdir %s/x 2>/dev/null && exit 126; ", filepath.Dir(tc.Dirs()[0]))
		cmd := testutil.AsUserOutside(alice, "/bin/sh", "-c", script+`exec "$@"`, "sh", socker, "run")
		cmd.Args = append(cmd.Args, probe...)
		check(t, run(t, cmd, ""), nested)
	})

	t.Run("another user's task cgroup", func(t *testing.T) {
		bob, err := testutil.EnsureUser("sockt-bob")
		if err != nil {
			t.Fatal(err)
		}
		before := len(auditLines(t))
		since := time.Now()
		r := run(t, sockerRun(tc, &bob, image, "true"), "")
		assertOneLineError(t, r, 77, fmt.Sprintf("is owned by uid %d, neither root nor the caller", alice.UID))
		if ev := containerEvents(t, since, tc.ID); len(ev) != 0 {
			t.Errorf("Docker saw container events: %+v", ev)
		}
		if recs := newRecords(t, before); len(recs) != 1 || recs[0].Reason != "cgroup-delegated" || recs[0].UID != bob.UID {
			t.Errorf("audit records %+v, want one cgroup-delegated denial of bob", recs)
		}
	})
	if ids := socketContainers(t, tc.ID); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
}

// A task cgroup beneath a directory the caller owns (the local Mesos'
// delegated .../mesos, made by mrun --setup-local) is one she could have made
// outside any Mesos task: refused with the cluster config even though root
// made the task directory itself, and run with cgroups.allow_delegated.
func TestRun_TaskCgroupUnderUserOwnedDirRefused(t *testing.T) {
	if err := localmesos.Delegate(int(alice.UID), int(alice.GID)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { localmesos.Undelegate(int(alice.UID)) })
	tc, err := testutil.NewTaskCgroupUnder(localmesos.DelegatedParent(int(alice.UID))+"/mesos", 256*mib)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := tc.Close(); err != nil {
			t.Errorf("removing task cgroup: %v", err)
		}
	})
	withConfig(t, clusterConfig(t, "none", image))
	before := len(auditLines(t))
	since := time.Now()
	r := run(t, sockerRun(tc, &alice, image, "true"), "")
	assertOneLineError(t, r, 77, "/mesos is owned by the caller")
	if !strings.Contains(r.stderr, "cgroups.allow_delegated is off") {
		t.Errorf("the refusal does not name the config key: %q", r.stderr)
	}
	if ev := containerEvents(t, since, tc.ID); len(ev) != 0 {
		t.Errorf("Docker saw container events: %+v", ev)
	}
	if recs := newRecords(t, before); len(recs) != 1 || recs[0].Event != "deny" || recs[0].Reason != "cgroup-delegated" || recs[0].UID != alice.UID {
		t.Errorf("audit records %+v, want one cgroup-delegated denial", recs)
	}

	r = run(t, tc.Command(&alice, socker, "doctor"), "")
	if r.code != 78 || !strings.Contains(r.stdout, "FAIL task cgroup    a user could have made this task cgroup: ") {
		t.Errorf("doctor: exit %d, stdout:\n%s\nwant 78 and the task cgroup failing", r.code, r.stdout)
	}

	withConfig(t, strings.Replace(clusterConfig(t, "none", image), "allow_delegated = false", "allow_delegated = true", 1))
	if r := run(t, sockerRun(tc, &alice, image, "true"), ""); r.code != 0 {
		t.Errorf("with allow_delegated: exit %d, stderr %q", r.code, r.stderr)
	}
	r = run(t, tc.Command(&alice, socker, "doctor"), "")
	if r.code != 0 || !strings.Contains(r.stdout, "ok   task cgroup    a user could have made it (") {
		t.Errorf("doctor with allow_delegated: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}
