//go:build integration

package localmesos

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/containerd/cgroups/v3"
	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/sockerhpc/socker/internal/testutil"
)

// The real launcher, as root: a task runs as its user with that user's
// groups, in a fresh cgroup mesos/<container-id> laid out like the Mesos
// cgroups isolator's with the task's limits, its directory chowned to the
// user as --switch_user does, in a sandbox of its own; KILL
// ends it; nothing is left behind.
//
//	go test -tags integration -count=1 ./sched/localmesos   (as root)
func TestIntegration_TasksRunAsTheUserInTheirCgroup(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatalf("this test creates users and cgroups: run it as root (euid is %d)", os.Geteuid())
	}
	alice, err := testutil.EnsureUser("sockt-alice", "sockt-g1", "sockt-g2")
	if err != nil {
		t.Fatal(err)
	}
	v2 := cgroups.Mode() == cgroups.Unified
	c, err := Start(Config{Agents: 2, AllocationInterval: 100 * time.Millisecond, HeartbeatInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := subscribe(t, c, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"sockt-alice","name":"localmesos-integration","failover_timeout":0}}}`)
	offers := s.await(scheduler.Event_OFFERS, 2*time.Second).Offers.Offers
	if len(offers) != 2 {
		t.Fatalf("%d offers, want one per agent", len(offers))
	}

	// 1. A task that reports who and where it is.
	o := offers[0]
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, "t-id",
		`id -u; id -G; cat /proc/self/cgroup; echo "$MESOS_SANDBOX"; grep NoNewPrivs /proc/self/status`))
	var cid string
	for _, want := range []mesos.TaskState{mesos.TASK_STARTING, mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
		ev := s.await(scheduler.Event_UPDATE, 10*time.Second)
		st := ev.Update.Status
		if st.GetState() != want || st.GetSource() != mesos.SOURCE_EXECUTOR || st.ContainerStatus == nil {
			t.Fatalf("want %v, got %s", want, ev.rec)
		}
		cid = st.ContainerStatus.ContainerID.Value
		s.ack(ev)
	}
	sandbox := filepath.Join(c.WorkDir(), "slaves", o.AgentID.Value, "frameworks", s.fwID, "executors", "t-id", "runs", cid)
	out, err := os.ReadFile(filepath.Join(sandbox, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	t.Logf("task output:\n%s", out)
	if lines[0] != strconv.Itoa(int(alice.UID)) {
		t.Errorf("uid %q, want %d", lines[0], alice.UID)
	}
	if got, want := lines[1], strings.Trim(fmt.Sprint(alice.Groups), "[]"); !sameSet(strings.Fields(got), strings.Fields(want)) {
		t.Errorf("groups %q, want %q", got, want)
	}
	taskCgroups := parseCgroups(strings.Join(lines[2:len(lines)-2], "\n"))
	self, _ := os.ReadFile("/proc/self/cgroup")
	ours := parseCgroups(string(self))
	for ctrl, path := range taskCgroups {
		want := ours[ctrl] // not isolated: inherited from the agent, as under Mesos
		switch {
		case v2 && ctrl == "":
			want = "/mesos/" + cid + "/leaf"
		case !v2 && (ctrl == "cpu" || ctrl == "cpuacct" || ctrl == "memory" || ctrl == "freezer"):
			want = "/mesos/" + cid
		}
		if path != want {
			t.Errorf("cgroup of %q is %q, want %q", ctrl, path, want)
		}
	}
	if !v2 && taskCgroups["memory"] == "" {
		t.Errorf("no memory cgroup line in %q", lines)
	}
	if lines[len(lines)-2] != sandbox {
		t.Errorf("MESOS_SANDBOX %q, want %q", lines[len(lines)-2], sandbox)
	}
	if !strings.HasSuffix(lines[len(lines)-1], "0") {
		t.Errorf("%s: a setuid wrapper would not work", lines[len(lines)-1])
	}
	var st syscall.Stat_t
	if err := syscall.Stat(sandbox, &st); err != nil || st.Uid != alice.UID || st.Mode&0o777 != 0o750 {
		t.Errorf("sandbox owner %d mode %o (%v), want %d 750", st.Uid, st.Mode&0o777, err, alice.UID)
	}
	assertNoCgroup(t, cid)

	// 2. A long task: its limits while it runs, then KILL.
	o = offers[1]
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, "t-sleep", "sleep 100"))
	s.ack(s.await(scheduler.Event_UPDATE, 10*time.Second))
	running := s.await(scheduler.Event_UPDATE, 10*time.Second)
	s.ack(running)
	cid = running.Update.Status.ContainerStatus.ContainerID.Value
	pid := int(running.Update.Status.ContainerStatus.GetExecutorPID())
	mem := strconv.Itoa((64 + 32) << 20)
	if v2 {
		expectFile(t, "/sys/fs/cgroup/mesos/"+cid+"/memory.max", mem)
		expectFile(t, "/sys/fs/cgroup/mesos/"+cid+"/cpu.max", "60000 100000")
	} else {
		expectFile(t, "/sys/fs/cgroup/memory/mesos/"+cid+"/memory.limit_in_bytes", mem)
		expectFile(t, "/sys/fs/cgroup/cpu/mesos/"+cid+"/cpu.shares", "614") // 1024 * (0.5 + the executor's 0.1)
		expectFile(t, "/sys/fs/cgroup/cpu/mesos/"+cid+"/cpu.cfs_quota_us", "60000")
		expectFile(t, "/sys/fs/cgroup/cpu/mesos/"+cid+"/cpu.cfs_period_us", "100000")
	}
	// --switch_user: root made the cgroup and gave its directory, not its
	// control files, to the task's user in every hierarchy it isolates; the
	// mesos directory above stays root's.
	owned := []string{"/sys/fs/cgroup/mesos/" + cid}
	if !v2 {
		owned = nil
		for _, h := range []string{"cpu", "cpuacct", "memory", "freezer"} {
			owned = append(owned, "/sys/fs/cgroup/"+h+"/mesos/"+cid)
		}
	}
	for _, d := range owned {
		for path, uid := range map[string]uint32{d: alice.UID, d + "/cgroup.procs": 0, filepath.Dir(d): 0} {
			var st syscall.Stat_t
			if err := syscall.Stat(path, &st); err != nil || st.Uid != uid {
				t.Errorf("%s: owner %d (%v), want %d", path, st.Uid, err, uid)
			}
		}
	}
	status, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if !bytes.Contains(status, []byte(fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d\n", alice.UID, alice.UID, alice.UID, alice.UID))) {
		t.Errorf("task process %d is not all %d:\n%s", pid, alice.UID, status)
	}
	if pgid, _ := syscall.Getpgid(pid); pgid != pid {
		t.Errorf("task process group %d, want its own (%d)", pgid, pid)
	}
	// What Docker leaves beneath the task cgroup (--cgroup-parent), also in
	// hierarchies Mesos does not isolate, goes with it.
	dockerDirs := []string{"/sys/fs/cgroup/mesos/" + cid + "/docker-fake"}
	if !v2 {
		dockerDirs = []string{"/sys/fs/cgroup/memory/mesos/" + cid + "/docker-fake", "/sys/fs/cgroup/pids/mesos/" + cid + "/docker-fake"}
	}
	for _, d := range dockerDirs {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	s.mustCall(`{"framework_id":{"value":%q},"type":"KILL","kill":{"task_id":{"value":"t-sleep"}}}`, s.fwID)
	killed := s.await(scheduler.Event_UPDATE, 10*time.Second)
	if killed.Update.Status.GetState() != mesos.TASK_KILLED || killed.Update.Status.GetMessage() != "Command terminated with signal Terminated" {
		t.Fatalf("got %s", killed.rec)
	}
	s.ack(killed)
	assertNoCgroup(t, cid)
	if !gone(pid) {
		t.Errorf("task process %d still exists", pid)
	}

	// 3. A command without a shell: CommandInfo.value and its arguments.
	s.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID)
	o = s.offerFor(0.1, 32, 5*time.Second)
	s.mustCall(`{"framework_id":{"value":%q},"type":"ACCEPT","accept":{"offer_ids":[{"value":%q}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t-argv","task_id":{"value":"t-argv"},"agent_id":{"value":%q},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}},{"name":"mem","type":"SCALAR","scalar":{"value":32}}],"command":{"shell":false,"value":"/bin/echo","arguments":["echo","$HOME;","two words"]}}]}}],"filters":{"refuse_seconds":0}}}`,
		s.fwID, o.ID.Value, o.AgentID.Value)
	var last event
	for i := 0; i < 3; i++ {
		last = s.await(scheduler.Event_UPDATE, 10*time.Second)
		s.ack(last)
	}
	if last.Update.Status.GetState() != mesos.TASK_FINISHED {
		t.Fatalf("t-argv: %s", last.rec)
	}
	cid = last.Update.Status.ContainerStatus.ContainerID.Value
	sandbox = filepath.Join(c.WorkDir(), "slaves", o.AgentID.Value, "frameworks", s.fwID, "executors", "t-argv", "runs", cid)
	if out, _ := os.ReadFile(filepath.Join(sandbox, "stdout")); string(out) != "$HOME; two words\n" {
		t.Errorf("t-argv printed %q", out)
	}

	// 4. Close: nothing of the user's left running, no cgroup, no work dir.
	s.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID)
	o = s.offerFor(0.5, 64, 5*time.Second)
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, "t-left", "trap '' TERM; sleep 100 & sleep 100"))
	s.ack(s.await(scheduler.Event_UPDATE, 10*time.Second))
	running = s.await(scheduler.Event_UPDATE, 10*time.Second)
	cid = running.Update.Status.ContainerStatus.ContainerID.Value
	procs := "/sys/fs/cgroup/memory/mesos/" + cid + "/cgroup.procs"
	if v2 {
		procs = "/sys/fs/cgroup/mesos/" + cid + "/leaf/cgroup.procs"
	}
	var pids []int
	for deadline := time.Now().Add(5 * time.Second); len(pids) < 3 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		b, _ := os.ReadFile(procs) // the shell and its two sleeps
		pids = pids[:0]
		for _, f := range strings.Fields(string(b)) {
			n, _ := strconv.Atoi(f)
			pids = append(pids, n)
		}
	}
	if len(pids) < 3 {
		t.Fatalf("task processes %v, want the shell and two sleeps", pids)
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	assertNoCgroup(t, cid)
	for _, pid := range pids {
		if !gone(pid) {
			out, _ := exec.Command("ps", "-o", "pid,user,args", "-p", strconv.Itoa(pid)).CombinedOutput()
			t.Errorf("task process %d left: %s", pid, out)
		}
	}
	if _, err := os.Stat(c.WorkDir()); !os.IsNotExist(err) {
		t.Errorf("work dir %s left: %v", c.WorkDir(), err)
	}
}

// A task of a user that does not exist is lost, as with a real agent.
func TestIntegration_UnknownUserIsLost(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatalf("run as root (euid is %d)", os.Geteuid())
	}
	c, err := Start(Config{Agents: 1, AllocationInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	s := subscribe(t, c, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"nosuchuser","name":"localmesos-integration"}}}`)
	o := s.await(scheduler.Event_OFFERS, 2*time.Second).Offers.Offers[0]
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, "t-lost", "id"))
	ev := s.await(scheduler.Event_UPDATE, 10*time.Second)
	st := ev.Update.Status
	if st.GetState() != mesos.TASK_LOST || st.GetSource() != mesos.SOURCE_AGENT || st.GetReason() != mesos.REASON_EXECUTOR_TERMINATED ||
		!strings.HasSuffix(st.GetMessage(), "Failed to chown directory to 'nosuchuser': No such user 'nosuchuser'") || st.UUID == nil {
		t.Fatalf("got %s", ev.rec)
	}
}

// gone reports whether a process has died (it may wait a moment as a
// zombie for init to reap it).
func gone(pid int) bool {
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		if i := bytes.LastIndexByte(stat, ')'); i > 0 && len(stat) > i+2 && stat[i+2] == 'Z' {
			return true
		}
	}
	return false
}

// parseCgroups maps each controller of /proc/<pid>/cgroup text to its path.
func parseCgroups(text string) map[string]string {
	out := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(text), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, ctrl := range strings.Split(parts[1], ",") {
			out[ctrl] = parts[2]
		}
	}
	return out
}

func expectFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if got := strings.TrimSpace(string(b)); err != nil || got != want {
		t.Errorf("%s: %q %v, want %q", path, got, err, want)
	}
}

// assertNoCgroup checks mesos/<cid> is gone from every hierarchy.
func assertNoCgroup(t *testing.T, cid string) {
	t.Helper()
	matches, _ := filepath.Glob("/sys/fs/cgroup/*/mesos/" + cid)
	more, _ := filepath.Glob("/sys/fs/cgroup/mesos/" + cid)
	if left := append(matches, more...); len(left) > 0 {
		t.Errorf("cgroups left: %v", left)
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, x := range a {
		m[x]++
	}
	for _, x := range b {
		m[x]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

// Delegate gives a user exactly one directory per hierarchy: the user owns
// DelegatedParent(uid)/mesos (and may make cgroups there), not its files and
// nothing above it; the launcher of that user sees it; Undelegate removes
// it all.
func TestIntegration_DelegateOwnsOneDirectoryPerHierarchy(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatalf("run as root (euid is %d)", os.Geteuid())
	}
	if cgroups.Mode() == cgroups.Unified {
		if err := Delegate(12345, 12345); err != ErrDelegationV2 {
			t.Fatalf("Delegate on a v2 host: %v, want ErrDelegationV2", err)
		}
		return
	}
	alice, err := testutil.EnsureUser("sockt-alice", "sockt-g1", "sockt-g2")
	if err != nil {
		t.Fatal(err)
	}
	uid := int(alice.UID)
	if err := Delegate(uid, int(alice.GID)); err != nil {
		t.Fatal(err)
	}
	defer Undelegate(uid)
	if err := Delegate(uid, int(alice.GID)); err != nil {
		t.Fatalf("Delegate is not idempotent: %v", err)
	}
	hs := hierarchies()
	if len(hs) < 4 {
		t.Fatalf("hierarchies %v", hs)
	}
	owner := func(p string) int {
		var st syscall.Stat_t
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		return int(st.Uid)
	}
	for _, h := range hs {
		dir := filepath.Join(h, DelegatedParent(uid), "mesos")
		if owner(dir) != uid {
			t.Errorf("%s: owner %d, want %d", dir, owner(dir), uid)
		}
		for _, p := range []string{filepath.Dir(dir), filepath.Join(dir, "cgroup.procs")} {
			if owner(p) != 0 {
				t.Errorf("%s: owner %d, want root", p, owner(p))
			}
		}
	}
	if got := delegatedTo(uid); got != DelegatedParent(uid)+"/mesos" || HasDelegation(uid+1) {
		t.Errorf("delegatedTo(%d) = %q; HasDelegation(%d) = %v", uid, got, uid+1, HasDelegation(uid+1))
	}
	if err := Undelegate(uid); err != nil {
		t.Fatal(err)
	}
	for _, h := range hs {
		if _, err := os.Stat(filepath.Join(h, DelegatedParent(uid))); !os.IsNotExist(err) {
			t.Errorf("%s left: %v", filepath.Join(h, DelegatedParent(uid)), err)
		}
	}
	if HasDelegation(uid) {
		t.Error("HasDelegation after Undelegate")
	}
}

// As root the real launcher gives each task its own mount and pid
// namespaces with a /proc of its own, as an agent with
// --isolation=filesystem/linux,namespaces/pid: the task init is its pid 1
// (as the task's user, the agent's executor pid), the command beneath it,
// only the task's processes in its /proc (the pid namespace on Linux >=
// 6.11 only, where socker can run inside one); the command's exit status is the
// task's. With HostNamespaces the task shares ours.
func TestIntegration_TasksHaveTheirOwnNamespaces(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatalf("this test creates users and cgroups: run it as root (euid is %d)", os.Geteuid())
	}
	alice, err := testutil.EnsureUser("sockt-alice", "sockt-g1", "sockt-g2")
	if err != nil {
		t.Fatal(err)
	}
	ns := func(pid, kind string) string {
		l, err := os.Readlink("/proc/" + pid + "/ns/" + kind)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	const script = `readlink /proc/self/ns/mnt; readlink /proc/self/ns/pid; echo $$; tr '\0' ' ' </proc/1/cmdline; echo; ls /proc | grep -c '^[0-9][0-9]*$'; id -u; exit 3`
	for _, host := range []bool{false, true} {
		c, err := Start(Config{Agents: 1, AllocationInterval: 100 * time.Millisecond, HeartbeatInterval: time.Second, HostNamespaces: host})
		if err != nil {
			t.Fatal(err)
		}
		s := subscribe(t, c, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"sockt-alice","name":"localmesos-ns","failover_timeout":0}}}`)
		o := s.launchOnOffer("t-ns", script)
		var last event
		var executorPID uint32
		for i := 0; i < 3; i++ {
			last = s.await(scheduler.Event_UPDATE, 10*time.Second)
			if st := last.Update.Status; st.GetState() == mesos.TASK_RUNNING {
				executorPID = st.ContainerStatus.GetExecutorPID()
			}
			s.ack(last)
		}
		if st := last.Update.Status; st.GetState() != mesos.TASK_FAILED || st.GetMessage() != "Command exited with status 3" {
			t.Errorf("host namespaces %v: %s, want TASK_FAILED with the command's status 3", host, last.rec)
		}
		cid := last.Update.Status.ContainerStatus.ContainerID.Value
		sandbox := filepath.Join(c.WorkDir(), "slaves", o.AgentID.Value, "frameworks", s.fwID, "executors", "t-ns", "runs", cid)
		out, _ := os.ReadFile(filepath.Join(sandbox, "stdout"))
		errOut, _ := os.ReadFile(filepath.Join(sandbox, "stderr"))
		c.Close()
		t.Logf("host namespaces %v, executor pid %d:\n%s%s", host, executorPID, out, errOut)
		lines := strings.Split(strings.TrimSuffix(string(out), "\n"), "\n")
		if len(lines) != 6 {
			t.Fatalf("task printed %q (stderr %q)", out, errOut)
		}
		mnt, pid, self, init, procs, uid := lines[0], lines[1], lines[2], strings.TrimSpace(lines[3]), lines[4], lines[5]
		if uid != strconv.Itoa(int(alice.UID)) {
			t.Errorf("host namespaces %v: uid %s, want %d", host, uid, alice.UID)
		}
		if host {
			if mnt != ns("self", "mnt") || pid != ns("self", "pid") {
				t.Errorf("HostNamespaces: task in %s %s, want ours", mnt, pid)
			}
			continue
		}
		if mnt == ns("self", "mnt") {
			t.Errorf("task in our mount namespace (%s)", mnt)
		}
		if !pidNamespaces() { // Linux < 6.11: the pid namespace is ours
			if pid != ns("self", "pid") {
				t.Errorf("Linux < 6.11: task in pid namespace %s, want ours", pid)
			}
			continue
		}
		if pid == ns("self", "pid") {
			t.Errorf("task in our pid namespace (%s)", pid)
		}
		if n, _ := strconv.Atoi(self); n < 2 || n > 64 || !strings.HasPrefix(init, taskInitName+" ") {
			t.Errorf("task shell is pid %s under %q, want a small pid under the task init, pid 1", self, init)
		}
		if n, _ := strconv.Atoi(procs); n < 3 || n > 5 {
			t.Errorf("the task's /proc lists %s processes, want its own few (init, shell, ls, grep)", procs)
		}
		if executorPID == 0 || executorPID == 1 {
			t.Errorf("executor pid %d, want the task init's pid as the agent sees it", executorPID)
		}
	}
}
