//go:build integration

package integration

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"

	"github.com/sockerhpc/socker/internal/testutil"
)

// launched is one wrapper run from a worker goroutine (which may not call
// t.Fatal).
type launched struct {
	code     int
	signaled bool
	stdout   string
	stderr   string
	err      error
	took     time.Duration
}

// runAsAlice runs `socker run args...` as alice in tc to completion; if
// term >= 0 it sends SIGTERM to the wrapper term after starting it.
func runAsAlice(tc *testutil.TaskCgroup, term time.Duration, args ...string) launched {
	cmd := sockerRun(tc, &alice, args...)
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout, cmd.Stderr = &out, &errb
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return launched{err: err}
	}
	if term >= 0 {
		time.Sleep(term)
		cmd.Process.Signal(syscall.SIGTERM)
	}
	cmd.Wait()
	code, sig := exitStatus(cmd)
	return launched{code: code, signaled: sig, stdout: out.String(), stderr: errb.String(), took: time.Since(start)}
}

// watchContainerEvents subscribes to Docker's container events for tc's
// label from now on, and returns a function that ends the subscription and
// returns them. (The daemon keeps only its last 256 events for a later
// query, fewer than a long test causes.)
func watchContainerEvents(t *testing.T, tc *testutil.TaskCgroup) func() []events.Message {
	t.Helper()
	since := time.Now()
	ctx, cancel := context.WithCancel(context.Background())
	msgs, errs := docker.Events(ctx, events.ListOptions{
		Since:   fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond()),
		Filters: filters.NewArgs(filters.Arg("type", "container"), filters.Arg("label", "socker.mesos-container-id="+tc.ID)),
	})
	var mu sync.Mutex
	var out []events.Message
	var streamErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case m := <-msgs:
				mu.Lock()
				out = append(out, m)
				mu.Unlock()
			case err := <-errs:
				if err != nil && !errors.Is(err, context.Canceled) {
					streamErr = err
				}
				return
			}
		}
	}()
	t.Cleanup(cancel)
	return func() []events.Message {
		t.Helper()
		time.Sleep(time.Second) // let the last events arrive
		cancel()
		<-done
		if streamErr != nil {
			t.Fatalf("reading docker events: %v", streamErr)
		}
		mu.Lock()
		defer mu.Unlock()
		return out
	}
}

// TestAttackLoad_FiftyConcurrentRuns (P7): 50 concurrent launches by alice,
// each in its own task cgroup, all succeed; each container runs as alice
// beneath its own task's memory cgroup; the audit log gains exactly 50 start
// and 50 exit records, one pair per container and task, and every line is
// whole JSON.
func TestAttackLoad_FiftyConcurrentRuns(t *testing.T) {
	const n = 50
	tasks := make([]*testutil.TaskCgroup, n)
	for i := range tasks {
		tasks[i] = task(t, 128*mib)
	}
	before := len(auditLines(t))
	results := make([]launched, n)
	var wg sync.WaitGroup
	start := time.Now()
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = runAsAlice(tasks[i], -1, image, "sh", "-c", "id -u; cat /proc/self/cgroup")
		}()
	}
	wg.Wait()
	t.Logf("%d concurrent runs took %v", n, time.Since(start).Round(time.Millisecond))

	for i, r := range results {
		if r.err != nil || r.code != 0 || r.stderr != "" {
			t.Errorf("run %d: %v, exit %d, stderr %q", i, r.err, r.code, r.stderr)
			continue
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if lines[0] != strconv.Itoa(int(alice.UID)) {
			t.Errorf("run %d: uid inside %q, want %d", i, lines[0], alice.UID)
		}
		mem := regexp.MustCompile(`^[0-9]+:memory:` + regexp.QuoteMeta(tasks[i].Path) + `/[0-9a-f]{64}$`)
		if !slices.ContainsFunc(lines[1:], mem.MatchString) {
			t.Errorf("run %d: no memory line beneath its task %s:\n%s", i, tasks[i].Path, r.stdout)
		}
	}

	data, err := os.ReadFile(auditPath)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("the audit log does not end with a newline")
	}
	recs := newRecords(t, before) // fails on any line that is not JSON
	starts, exits := map[string]string{}, map[string]string{}
	for _, r := range recs {
		switch {
		case r.UID != alice.UID:
			t.Errorf("record for uid %d: %+v", r.UID, r)
		case r.Event == "start":
			starts[r.ContainerID] = r.MesosContainerID
		case r.Event == "exit" && r.ExitStatus != nil && *r.ExitStatus == 0:
			exits[r.ContainerID] = r.MesosContainerID
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
	if len(recs) != 2*n || len(starts) != n || len(exits) != n {
		t.Errorf("%d records, %d distinct starts, %d distinct exits; want %d, %d, %d", len(recs), len(starts), len(exits), 2*n, n, n)
	}
	tasksSeen := map[string]bool{}
	for cid, mesos := range starts {
		if exits[cid] != mesos {
			t.Errorf("container %s: start in task %s, exit in task %q", cid, mesos, exits[cid])
		}
		tasksSeen[mesos] = true
	}
	for _, tc := range tasks {
		if !tasksSeen[tc.ID] {
			t.Errorf("no start record for task %s", tc.ID)
		}
	}
}

// TestAttackLoad_SIGTERMAtRandomTimes (P7, P4): 104 runs of `sleep 5`, each
// sent SIGTERM 0-600 ms after launch (fixed seed), 8 at a time: every
// wrapper exits 143 (the container's status, or socker's "signalled"
// status) or dies of the SIGTERM before socker has started anything; no
// container is left with the task's label; every container Docker created
// is named in an audit record; every start record is followed by an exit or
// error record for the same container.
func TestAttackLoad_SIGTERMAtRandomTimes(t *testing.T) {
	const runs, parallel = 104, 8
	const seed = 20240521
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	delays := make([]time.Duration, runs)
	for i := range delays {
		delays[i] = time.Duration(rng.IntN(601)) * time.Millisecond
	}
	tc := task(t, 512*mib)
	before := len(auditLines(t))
	since := time.Now()
	watch := watchContainerEvents(t, tc)
	results := make([]launched, runs)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				results[i] = runAsAlice(tc, delays[i], image, "sleep", "5")
			}
		}()
	}
	for i := range runs {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	t.Logf("%d runs took %v", runs, time.Since(since).Round(time.Millisecond))

	outcomes := map[string]int{}
	for i, r := range results {
		switch {
		case r.err != nil:
			t.Errorf("run %d: %v", i, r.err)
		case r.signaled && r.code == 128+int(syscall.SIGTERM):
			outcomes["killed by SIGTERM before socker took over"]++
		case !r.signaled && r.code == 143:
			outcomes["exit 143"]++
		default:
			t.Errorf("run %d (SIGTERM after %v): exit %d (signal %v) after %v, stderr %q (0 or 2: the container's stop was lost, see TestAttackLoad_SIGTERMDuringContainerStart)", i, delays[i], r.code, r.signaled, r.took, r.stderr)
		}
		if r.took > 9*time.Second {
			t.Errorf("run %d (SIGTERM after %v) took %v: the stop waited for the grace period", i, delays[i], r.took)
		}
	}
	t.Logf("outcomes: %v", outcomes)

	if ids := socketContainers(t, tc.ID); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
	recs := newRecords(t, before)
	named := map[string]bool{}
	open := map[string]bool{}
	events := map[string]int{}
	for _, r := range recs {
		events[r.Event]++
		if r.UID != alice.UID {
			t.Errorf("record for uid %d: %+v", r.UID, r)
		}
		if r.ContainerID == "" {
			continue
		}
		named[r.ContainerID] = true
		switch r.Event {
		case "start":
			open[r.ContainerID] = true
		case "exit", "error":
			if !open[r.ContainerID] {
				t.Errorf("%s record without an earlier start: %+v", r.Event, r)
			}
			delete(open, r.ContainerID)
		}
	}
	t.Logf("audit events: %v", events)
	for cid := range open {
		t.Errorf("container %s has a start record but no exit or error record", cid)
	}
	created, destroyed := 0, map[string]bool{}
	evs := watch()
	for _, ev := range evs {
		if ev.Action == "destroy" {
			destroyed[ev.Actor.ID] = true
		}
	}
	for _, ev := range evs {
		if ev.Action != "create" {
			continue
		}
		created++
		if !named[ev.Actor.ID] {
			t.Errorf("Docker created container %s but no audit record names it", ev.Actor.ID)
		}
		if !destroyed[ev.Actor.ID] {
			t.Errorf("container %s was created but never destroyed", ev.Actor.ID)
		}
	}
	t.Logf("Docker created %d containers", created)
	if created == 0 {
		t.Errorf("no container was ever created: the SIGTERMs all came too early to test anything (seed %d)", seed)
	}
}

// TestAttackLoad_SIGTERMDuringContainerStart (P7): a SIGTERM that reaches
// the wrapper while its container is starting must still stop the
// container. The task's containers are CPU-throttled (1 ms per 100 ms, as on
// a busy node) so that the container's init is slow to start; the wrapper
// itself is placed in the task's memory, cpuacct and freezer cgroups but not
// its cpu cgroup, so it is not throttled. The SIGTERM is sent as soon as the
// container's cgroup exists. Want: exit 143 (the container stopped by the
// SIGTERM, not 0 from running its `sleep 5` to the end, nor 137 from the
// SIGKILL after the grace period), the container gone, and an exit record
// saying 143.
func TestAttackLoad_SIGTERMDuringContainerStart(t *testing.T) {
	for i := range 3 {
		tc := task(t, 256*mib)
		cpu := filepath.Join("/sys/fs/cgroup/cpu", tc.Path)
		if err := os.WriteFile(filepath.Join(cpu, "cpu.cfs_quota_us"), []byte("1000"), 0); err != nil {
			t.Fatal(err)
		}
		var procs []string
		for _, c := range []string{"cpuacct", "memory", "freezer"} {
			procs = append(procs, filepath.Join("/sys/fs/cgroup", c, tc.Path, "cgroup.procs"))
		}
		script := `for f in "$@"; do echo $$ > "$f" || exit 125; done; exec setpriv --reuid=` + alice.Name + ` --regid=` + alice.Name + ` --init-groups -- ` + socker + ` run ` + image + ` sleep 5`
		cmd := exec.Command("/bin/sh", append([]string{"-c", script, "sh"}, procs...)...)
		var out, errb bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errb
		before := len(auditLines(t))
		start := time.Now()
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		var seen time.Duration
		for seen == 0 && time.Since(start) < 30*time.Second {
			ents, _ := os.ReadDir(cpu)
			for _, e := range ents {
				if e.IsDir() && len(e.Name()) == 64 {
					seen = time.Since(start)
				}
			}
			time.Sleep(time.Millisecond)
		}
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		took := time.Since(start)
		code, sig := exitStatus(cmd)
		if seen == 0 {
			t.Fatalf("round %d: the container's cgroup never appeared (exit %d, stderr %q)", i, code, errb.String())
		}
		t.Logf("round %d: SIGTERM %v after launch, as the container started; exit %d (signal %v) after %v", i, seen.Round(time.Millisecond), code, sig, took.Round(time.Millisecond))
		if code != 143 || sig {
			t.Errorf("round %d: SIGTERM during the container's start: exit %d (signal %v) after %v, stderr %q; want 143 promptly (the container ran on: its stop signal was lost)", i, code, sig, took.Round(time.Millisecond), errb.String())
		}
		recs := newRecords(t, before)
		if len(recs) != 2 || recs[1].Event != "exit" || recs[1].ExitStatus == nil || *recs[1].ExitStatus != 143 {
			var got []string
			for _, r := range recs {
				st := "-"
				if r.ExitStatus != nil {
					st = strconv.Itoa(*r.ExitStatus)
				}
				got = append(got, r.Event+"/"+st)
			}
			t.Errorf("round %d: audit records %v, want start then exit/143", i, got)
		}
		if ids := socketContainers(t, tc.ID); len(ids) != 0 {
			t.Errorf("round %d: containers left behind: %v", i, ids)
		}
	}
}
