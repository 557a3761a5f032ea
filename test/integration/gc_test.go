//go:build integration

package integration

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/internal/uuid"
	"github.com/sockerhpc/socker/security"
)

// sockerGC runs `socker gc` as root, or as user when user is not nil.
func sockerGC(t *testing.T, user *testutil.User) result {
	t.Helper()
	if user == nil {
		return run(t, exec.Command(socker, "gc"), "")
	}
	return run(t, testutil.AsUserOutside(*user, socker, "gc"), "")
}

// runningContainer waits until socker's container for the task mesosID runs
// and returns its ID.
func runningContainer(t *testing.T, mesosID string) string {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		out, err := exec.Command("docker", "ps", "-q", "--no-trunc", "--filter", "status=running",
			"--filter", "label=socker.mesos-container-id="+mesosID).Output()
		if err != nil {
			t.Fatal(err)
		}
		if ids := strings.Fields(string(out)); len(ids) == 1 {
			return ids[0]
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no running container for task %s after 60s", mesosID)
	return ""
}

// gcRecords returns the gc records among recs that name what (a container
// ID or a Mesos container id).
func gcRecords(recs []security.Record, what string) []security.Record {
	var out []security.Record
	for _, r := range recs {
		if r.Event == "gc" && (r.ContainerID == what || r.MesosContainerID == what) {
			out = append(out, r)
		}
	}
	return out
}

// A wrapper killed with SIGKILL leaves its container running; gc removes
// it, says why in the audit log, keeps a container whose wrapper lives, and
// finds nothing the second time. Only root may run it.
func TestGC_RemovesTheContainerOfAKilledWrapper(t *testing.T) {
	killedTask, liveTask := task(t, 256<<20), task(t, 256<<20)
	killed := sockerRun(killedTask, &alice, image, "--", "sleep", "600")
	live := sockerRun(liveTask, &alice, image, "--", "sleep", "600")
	for _, c := range []*exec.Cmd{killed, live} {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	defer live.Process.Signal(syscall.SIGTERM)
	orphan := runningContainer(t, killedTask.ID)
	kept := runningContainer(t, liveTask.ID)

	if err := killed.Process.Kill(); err != nil { // the wrapper itself: sh and setpriv exec'd into it
		t.Fatal(err)
	}
	killed.Wait()
	time.Sleep(500 * time.Millisecond)
	if got := socketContainers(t, killedTask.ID); len(got) != 1 {
		t.Fatalf("after SIGKILL of its wrapper the container should still exist (that is what gc is for); containers: %v", got)
	}

	before := len(auditLines(t))
	r := sockerGC(t, &alice)
	assertOneLineError(t, r, 77, "only root")
	recs := newRecords(t, before)
	if len(recs) != 1 || recs[0].Event != "deny" || recs[0].Reason != "gc-not-root" || recs[0].UID != alice.UID {
		t.Errorf("a non-root gc must leave one deny record (gc-not-root) for alice, got %+v", recs)
	}
	if got := socketContainers(t, killedTask.ID); len(got) != 1 {
		t.Errorf("a refused gc removed containers: %v", got)
	}

	before = len(auditLines(t))
	r = sockerGC(t, nil)
	if r.code != 0 || !strings.Contains(r.stdout, orphan[:12]) {
		t.Fatalf("socker gc: exit %d, stdout %q, stderr %q; want 0 and the orphan %s named", r.code, r.stdout, r.stderr, orphan[:12])
	}
	if got := socketContainers(t, killedTask.ID); len(got) != 0 {
		t.Errorf("gc left the orphaned container: %v", got)
	}
	if got := socketContainers(t, liveTask.ID); len(got) != 1 || got[0] != kept[:12] {
		t.Errorf("gc must keep the container of a live wrapper %s, containers now %v", kept[:12], got)
	}
	recs = newRecords(t, before)
	gcs := gcRecords(recs, orphan)
	if len(gcs) != 1 {
		t.Fatalf("want one gc record for %s, got %+v", orphan, recs)
	}
	g := gcs[0]
	if g.Reason != "wrapper-gone" || g.UID != alice.UID || g.User != alice.Name ||
		g.MesosContainerID != killedTask.ID || g.Cgroup != killedTask.Path ||
		!strings.Contains(g.Message, "pid "+strconv.Itoa(killed.Process.Pid)) {
		t.Errorf("gc record %+v: want reason wrapper-gone, alice as owner, task %s, and the wrapper pid %d in the message",
			g, killedTask.ID, killed.Process.Pid)
	}
	if len(gcRecords(recs, kept)) != 0 {
		t.Errorf("gc audited a removal of the live container: %+v", recs)
	}

	before = len(auditLines(t))
	if r := sockerGC(t, nil); r.code != 0 {
		t.Errorf("second gc: exit %d, stderr %q", r.code, r.stderr)
	}
	if again := gcRecords(newRecords(t, before), orphan); len(again) != 0 {
		t.Errorf("gc is not idempotent: second run audited %+v", again)
	}

	live.Process.Signal(syscall.SIGTERM)
	if err := live.Wait(); err == nil {
		t.Errorf("the live job should end by SIGTERM, not succeed")
	}
}

// A container whose Mesos task cgroup is gone goes too, even when its
// wrapper cannot be judged (here: an older socker's labels, pids without a
// launch id).
func TestGC_RemovesAContainerWhoseTaskIsGone(t *testing.T) {
	goneTask := "/mesos/" + uuid.New()
	uid := strconv.Itoa(int(alice.UID))
	ctx := context.Background()
	c, err := docker.ContainerCreate(ctx, &container.Config{
		Image: image,
		Cmd:   []string{"sleep", "600"},
		Labels: map[string]string{
			"socker.uid": uid, "socker.gid": uid, "socker.user": alice.Name,
			"socker.cgroup": goneTask, "socker.mesos-container-id": goneTask[7:],
			"socker.wrapper-pid": "1", "socker.wrapper-start": "1", "socker.wrapper-pidns": "pid:[1]",
		},
	}, nil, nil, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	defer docker.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})

	before := len(auditLines(t))
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("socker gc: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := docker.ContainerInspect(ctx, c.ID); err == nil {
		t.Errorf("gc kept container %s whose task cgroup %s is gone", c.ID[:12], goneTask)
	}
	gcs := gcRecords(newRecords(t, before), c.ID)
	if len(gcs) != 1 || gcs[0].Reason != "task-cgroup-gone" || gcs[0].UID != alice.UID {
		t.Errorf("want one task-cgroup-gone gc record owned by alice, got %+v", gcs)
	}
}

// Docker makes /mesos/<id> in every hierarchy for --cgroup-parent; a Mesos
// agent destroys only those it manages. After 100 finished tasks, gc leaves
// none of their directories, and keeps those of a task that still runs.
func TestGC_HundredFinishedTasksLeaveNoCgroups(t *testing.T) {
	mode, err := cgroup.HostMode()
	if err != nil {
		t.Fatal(err)
	}
	if mode != cgroup.V1 {
		t.Fatalf("this test needs a cgroup v1 or hybrid host (Mesos 1.12 supports no other); host is %v", mode)
	}
	liveTask := task(t, 64<<20)
	if r := run(t, sockerRun(liveTask, &alice, image, "--", "true"), ""); r.code != 0 {
		t.Fatalf("socker run in the live task: exit %d, stderr %q", r.code, r.stderr)
	}

	const tasks, workers = 100, 4
	ids := make(chan string, tasks)
	jobs := make(chan int)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var failures []string
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range jobs {
				tc, err := testutil.NewTaskCgroup(64 << 20)
				if err != nil {
					mu.Lock()
					failures = append(failures, err.Error())
					mu.Unlock()
					continue
				}
				ids <- tc.ID
				out, err := sockerRun(tc, &alice, image, "--", "true").CombinedOutput()
				if err == nil {
					err = tc.EndAsMesos()
				}
				if err != nil {
					mu.Lock()
					failures = append(failures, tc.ID+": "+err.Error()+" "+string(out))
					mu.Unlock()
				}
			}
		}()
	}
	for i := range tasks {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	close(ids)
	var done []string
	for id := range ids {
		done = append(done, id)
	}
	t.Cleanup(func() {
		for _, id := range done {
			(&testutil.TaskCgroup{ID: id, Path: "/mesos/" + id, Mode: mode}).Close()
		}
	})
	if len(failures) > 0 {
		t.Fatalf("%d of %d tasks failed, first: %s", len(failures), tasks, failures[0])
	}

	h, err := cgroup.V1Hierarchies(cgroup.Root)
	if err != nil {
		t.Fatal(err)
	}
	dirsOf := func(id string) []string {
		var found []string
		for _, top := range append(append([]string{}, h.Managed...), h.Others...) {
			if _, err := os.Lstat(filepath.Join(top, "mesos", id)); err == nil {
				found = append(found, filepath.Base(top))
			}
		}
		return found
	}
	// Without gc, Docker's directories stay: that is what is being fixed.
	if left := dirsOf(done[0]); len(left) == 0 {
		t.Fatalf("no leftover directory for a finished task: the test would prove nothing (Docker made none?)")
	} else {
		t.Logf("a finished task left /mesos/<id> in: %s", strings.Join(left, ", "))
	}
	liveBefore := dirsOf(liveTask.ID)

	before := len(auditLines(t))
	start := time.Now()
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("socker gc: exit %d, stderr %q", r.code, r.stderr)
	}
	t.Logf("socker gc over %d finished tasks took %v", tasks, time.Since(start).Round(time.Millisecond))
	recs := newRecords(t, before)
	for _, id := range done {
		if left := dirsOf(id); len(left) != 0 {
			t.Errorf("task %s still has /mesos/%s in %v after gc", id, id, left)
		}
		if gcs := gcRecords(recs, id); len(gcs) != 1 || gcs[0].Reason != "cgroup-leftover" || gcs[0].Cgroup != "/mesos/"+id {
			t.Errorf("task %s: want one cgroup-leftover gc record, got %+v", id, gcs)
		}
	}
	if after := dirsOf(liveTask.ID); strings.Join(after, ",") != strings.Join(liveBefore, ",") {
		t.Errorf("gc touched the live task's cgroups: before %v, after %v", liveBefore, after)
	}
	if gcs := gcRecords(recs, liveTask.ID); len(gcs) != 0 {
		t.Errorf("gc audited removals for the live task: %+v", gcs)
	}
}
