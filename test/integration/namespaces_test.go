//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/security"
)

// inTaskNamespaces returns a command that runs socker as alice, with
// exactly argv, inside tc and in the namespaces a Mesos agent with
// filesystem/linux and namespaces/pid gives a task: a mount namespace of its
// own (propagation: "private" or "slave", as `unshare -m` makes it) and,
// with pid, a pid namespace with its own /proc. socker is the namespace's
// first process (pid 1), as a task's executor is.
func inTaskNamespaces(t *testing.T, tc *testutil.TaskCgroup, propagation string, pid bool, argv ...string) *exec.Cmd {
	t.Helper()
	helper := hostileCmd(t, tc, alice, socker, append([]string{"socker"}, argv...), []string{"PATH=/usr/bin:/bin", "LC_ALL=C"})
	// helper is sh -c '...; exec "$@"' sh SELF HELPERARG SPEC: put unshare in
	// front of SELF.
	i := len(helper.Args) - 3
	ns := []string{"unshare", "-m", "--propagation", propagation}
	if pid {
		ns = append(ns, "-p", "-f", "--mount-proc")
	}
	helper.Args = append(append(append([]string{}, helper.Args[:i]...), ns...), helper.Args[i:]...)
	return helper
}

// hostMountNS is the test's (the host's, dockerd's) mount namespace.
func hostMountNS(t *testing.T) string {
	t.Helper()
	ns, err := os.Readlink("/proc/self/ns/mnt")
	if err != nil {
		t.Fatal(err)
	}
	return ns
}

// A wrapper in a task's own mount namespace (private or slave, with or
// without a pid namespace) binds what it checked: the container reads the
// read-only mount's file and writes into the read-write one, and the start
// record says where Docker was given the clones (Docker's mount namespace,
// the launch id, the wrapper's host pid) and the exit record that the
// placement was verified through Docker's /proc. On 4acc900 the container
// saw /rm as an empty root-owned directory (`cat: can't open '/rm/f':
// Permission denied`), and in a pid namespace the placement was never
// verified.
func TestNamespaces_MountsFromATaskMountNamespace(t *testing.T) {
	withConfig(t, allowMounts(baseConfig, "", homeOf(t, alice)))
	ro := userDir(t, alice, "ns-ro")
	rw := userDir(t, alice, "ns-rw")
	if err := os.WriteFile(filepath.Join(ro, "f"), []byte("checked\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		propagation string
		pid         bool
	}{{"private", false}, {"slave", false}, {"private", true}, {"slave", true}} {
		name := c.propagation
		if c.pid {
			name += "+pid"
		}
		t.Run(name, func(t *testing.T) {
			out := filepath.Join(rw, "out-"+name)
			tc := task(t, 256*mib)
			before := len(auditLines(t))
			cmd := inTaskNamespaces(t, tc, c.propagation, c.pid, "run", "--mount", ro+":/rm:ro", "--mount", rw+":/rw",
				image, "sh", "-c", "cat /rm/f && echo $$ > /rw/out-"+name+" && sleep 1")
			r := run(t, cmd, "")
			if r.code != 0 || r.stdout != "checked\n" {
				t.Fatalf("exit %d, stdout %q, stderr %q; want the read-only mount's file", r.code, r.stdout, r.stderr)
			}
			var st syscall.Stat_t
			if err := syscall.Stat(out, &st); err != nil || st.Uid != alice.UID {
				t.Fatalf("the read-write mount's file: %v, owner %d; want alice's", err, st.Uid)
			}
			recs := newRecords(t, before)
			start, exit := recordOf(recs, "start"), recordOf(recs, "exit")
			if start == nil || exit == nil {
				t.Fatalf("records %+v: want a start and an exit record", recs)
			}
			if start.DockerMountNS != hostMountNS(t) || len(start.Bound) != 2 || start.Launch == "" || start.HostPID <= 1 {
				t.Errorf("start record: docker_mnt_ns %q (want %q), bound %+v, launch %q, host pid %d", start.DockerMountNS, hostMountNS(t), start.Bound, start.Launch, start.HostPID)
			}
			for _, b := range start.Bound {
				if !strings.HasPrefix(b.Staged, "/run/socker/"+start.Launch+"/m") {
					t.Errorf("bound %+v: not staged in the launch's directory", b)
				}
			}
			if c.pid && start.PID != 1 {
				t.Errorf("start record pid %d: socker is its pid namespace's first process", start.PID)
			}
			if exit.CgroupVerified == nil || !*exit.CgroupVerified || exit.ExitStatus == nil || *exit.ExitStatus != 0 {
				t.Errorf("exit record: cgroup_verified %s, exit status %s; want verified, 0", jsonOf(exit.CgroupVerified), jsonOf(exit.ExitStatus))
			}
		})
	}
}

func jsonOf(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// recordOf returns the first record of an event, or nil.
func recordOf(recs []security.Record, event string) *security.Record {
	for i := range recs {
		if recs[i].Event == event {
			return &recs[i]
		}
	}
	return nil
}

// root's socker gc, run every 50 ms, keeps the staging and the container of
// a wrapper in a pid namespace of its own while that wrapper lives (its
// staging lock is held), and removes both once it is SIGKILLed. On 4acc900
// gc judged such a wrapper's staging, named 1-<start>, by its own pid
// table, removed it, and 8 of 8 such runs failed (`stat
// /run/socker/1-.../m0: no such file or directory`).
func TestGC_KeepsAWrapperInAPidNamespaceUntilItIsGone(t *testing.T) {
	withConfig(t, allowMounts(baseConfig, "", homeOf(t, alice)))
	ro := userDir(t, alice, "gcns-ro")
	if err := os.WriteFile(filepath.Join(ro, "f"), []byte("kept\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	gcs := make(chan int)
	go func() {
		n := 0
		for {
			select {
			case <-stop:
				gcs <- n
				return
			case <-time.After(50 * time.Millisecond):
				exec.Command(socker, "gc").Run()
				n++
			}
		}
	}()
	const runs = 6
	for i := range runs {
		tc := task(t, 256*mib)
		// The staging is made before the sleep; the mount is read after it,
		// with gc running all along.
		r := run(t, inTaskNamespaces(t, tc, "private", true, "run", "--mount", ro+":/rm:ro", image, "sh", "-c", "sleep 1; cat /rm/f"), "")
		if r.code != 0 || r.stdout != "kept\n" {
			close(stop)
			<-gcs
			t.Fatalf("run %d with gc every 50 ms: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
		}
	}
	close(stop)
	t.Logf("%d runs in a pid namespace read their mount with %d gc runs around them", runs, <-gcs)

	// SIGKILL the wrapper (its namespace's pid 1): the next gc removes its
	// container and its staging directory.
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	cmd := inTaskNamespaces(t, tc, "private", true, "run", "--mount", ro+":/rm:ro", image, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	id := runningContainer(t, tc.ID)
	start := recordOf(newRecords(t, before), "start")
	if start == nil || start.HostPID <= 1 {
		t.Fatalf("no start record with the wrapper's host pid: %+v", start)
	}
	staging := "/run/socker/" + start.Launch
	if _, err := os.Stat(staging + "/m0"); err != nil {
		t.Fatalf("the live wrapper's staging: %v", err)
	}
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("socker gc: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := docker.ContainerInspect(t.Context(), id); err != nil {
		t.Fatalf("gc removed the container of a live wrapper: %v", err)
	}
	if err := syscall.Kill(start.HostPID, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("socker gc: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := docker.ContainerInspect(t.Context(), id); err == nil {
		t.Errorf("gc kept container %s of a SIGKILLed wrapper", id[:12])
	}
	if _, err := os.Stat(staging); !os.IsNotExist(err) {
		t.Errorf("gc kept the SIGKILLed wrapper's staging %s: %v", staging, err)
	}
	recs := gcRecords(newRecords(t, before), id)
	if len(recs) != 1 || recs[0].Reason != "wrapper-gone" || recs[0].UID != alice.UID {
		t.Errorf("want one wrapper-gone gc record owned by alice, got %+v", recs)
	}
}

// The staged clones stay out of other mount namespaces: a namespace made as
// a shared peer of the host's before the run (what a shared /run carries
// mounts into) never sees them, while the host's own namespace, where
// Docker resolves them, lists them (SECURITY.md says what that shows).
func TestNamespaces_StagingStaysOutOfPeerNamespaces(t *testing.T) {
	withConfig(t, allowMounts(baseConfig, "", homeOf(t, alice)))
	ro := userDir(t, alice, "peer-ro")
	peer := exec.Command("unshare", "-m", "--propagation", "unchanged", "sleep", "600")
	if err := peer.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { peer.Process.Kill(); peer.Wait() }()
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	cmd := sockerRun(tc, &alice, "--mount", ro+":/rm:ro", image, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	runningContainer(t, tc.ID)
	start := recordOf(newRecords(t, before), "start")
	if start == nil || len(start.Bound) != 1 {
		t.Fatalf("start record %+v: want one bound mount", start)
	}
	staged := start.Bound[0].Staged
	host, _ := os.ReadFile("/proc/self/mountinfo")
	if !strings.Contains(string(host), " "+staged+" ") {
		t.Errorf("the host's mount namespace does not list %s", staged)
	}
	theirs, err := os.ReadFile("/proc/" + strconv.Itoa(peer.Process.Pid) + "/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(theirs), start.Launch) {
		t.Errorf("a peer mount namespace sees the staged mount %s", staged)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	cmd.Wait()
}
