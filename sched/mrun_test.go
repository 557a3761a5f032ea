package sched

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/sched/localmesos"
	"github.com/sockerhpc/socker/sched/placement"
)

// Run's event loop against the embedded local Mesos, with shell scripts
// standing in for mpiexec.hydra and socker (testdata/mrun). The tasks run
// for real: as root, as the framework's user (root, AllowRoot) in a fresh
// cgroup; as another user, as that user.

// The agents' hostnames. Plan order is hostname order, so proxy 0 serves
// 127.0.0.1 and proxy 1 serves 127.0.0.2.
var testHosts = []string{"127.0.0.1", "127.0.0.2"}

const (
	agentCPUs  = 2
	agentMemMB = 2048
)

// startCluster starts two agents of 2 cpus and 2048 MB. There is no periodic
// allocation: offers are made on SUBSCRIBE (and REVIVE) only, which is all
// Run needs, so that nothing writes to a framework's stream behind the
// test's back and checkReleased can tell a TEARDOWN from a connection that
// was merely dropped.
func startCluster(t *testing.T, heartbeat time.Duration) *localmesos.Cluster {
	t.Helper()
	c, err := localmesos.Start(localmesos.Config{
		Agents: 2, CPUs: agentCPUs, Mem: agentMemMB, Hostnames: testHosts, AllowRoot: true,
		AllocationInterval: time.Hour, HeartbeatInterval: heartbeat,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// fakes is a directory holding the fake mpiexec and socker and the files
// through which they report to the test (see the scripts).
type fakes struct{ dir string }

// newFakes installs the scripts: socker behaves as sockerMode says ("ok",
// "fail1", "hang"), and mpiexec, once every proxy has run, does what
// mpiexecThen says (an exit status, "TERM" or "hang").
func newFakes(t *testing.T, sockerMode, mpiexecThen string) fakes {
	t.Helper()
	f := fakes{t.TempDir()}
	for name, content := range map[string]string{
		"socker.mode":  sockerMode + "\n",
		"mpiexec.then": mpiexecThen + "\n",
	} {
		if err := os.WriteFile(f.path(name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for script, name := range map[string]string{"fake-mpiexec.sh": "mpiexec", "fake-socker.sh": "socker"} {
		data, err := os.ReadFile(filepath.Join("testdata", "mrun", script))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(f.path(name), data, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f fakes) path(name string) string { return filepath.Join(f.dir, name) }

func (f fakes) exists(name string) bool {
	_, err := os.Stat(f.path(name))
	return err == nil
}

// lines returns a file the scripts wrote, one element a line.
func (f fakes) lines(t *testing.T, name string) []string {
	t.Helper()
	data, err := os.ReadFile(f.path(name))
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
}

// waitFor waits until the scripts have created the named files.
func (f fakes) waitFor(t *testing.T, names ...string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for _, name := range names {
		for !f.exists(name) {
			if time.Now().After(deadline) {
				t.Fatalf("%s never appeared", name)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}

// mpiexecGone checks that the fake mpiexec is dead and reaped.
func (f fakes) mpiexecGone(t *testing.T) {
	t.Helper()
	pid, err := strconv.Atoi(f.lines(t, "mpiexec.pid")[0])
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for syscall.Kill(pid, 0) == nil {
		if time.Now().After(deadline) {
			t.Fatalf("mpiexec (pid %d) still runs after Run returned", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// testJob is a job of 4 ranks on the 2 agents (2 slots on each) through the
// fakes, and where its output goes.
type testJob struct {
	Options
	stdout, stderr *testutil.SyncBuffer
}

func newJob(master string, f fakes) *testJob {
	j := &testJob{stdout: &testutil.SyncBuffer{}, stderr: &testutil.SyncBuffer{}}
	j.Options = Options{
		Job:     placement.Job{Nodes: 2, Procs: 4, CPUsPerProc: 1, MemPerProc: 256},
		Image:   "socker/mpich:4",
		Master:  master,
		Program: []string{"mpi-hello", "--size", "4"},
		Socker:  f.path("socker"),
		Mounts:  []string{"/scratch/u:/scratch/u", "/data:/data:ro"},
		Mpiexec: f.path("mpiexec"),
		Timeout: 10 * time.Second,
		Stdout:  j.stdout,
		Stderr:  j.stderr,
	}
	return j
}

type runResult struct {
	code int
	err  error
	took time.Duration
}

// start runs the job in the background.
func (j *testJob) start(ctx context.Context) <-chan runResult {
	done := make(chan runResult, 1)
	go func() {
		t0 := time.Now()
		code, err := Run(ctx, j.Options)
		done <- runResult{code, err, time.Since(t0)}
	}()
	return done
}

// startRunning starts the job with a context it returns the cancellation
// of, and waits until both proxies run.
func (j *testJob) startRunning(t *testing.T, f fakes) (<-chan runResult, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	done := j.start(ctx)
	f.waitFor(t, "ran.0", "ran.1")
	return done, cancel
}

// await waits for Run to return, failing the test if it hangs.
func (j *testJob) await(t *testing.T, done <-chan runResult, limit time.Duration) runResult {
	t.Helper()
	select {
	case r := <-done:
		t.Logf("Run returned %d, %v after %v; stderr:\n%s", r.code, r.err, r.took.Round(time.Millisecond), j.stderr)
		return r
	case <-time.After(limit):
		t.Fatalf("Run has not returned after %v; stderr so far:\n%s", limit, j.stderr)
		return runResult{}
	}
}

var subscribedRE = regexp.MustCompile(`mrun: subscribed as framework (\S+);`)

// frameworkID is the id Run subscribed under, from its progress output.
func (j *testJob) frameworkID(t *testing.T) string {
	t.Helper()
	m := subscribedRE.FindStringSubmatch(j.stderr.String())
	if m == nil {
		t.Fatalf("Run never said it subscribed; stderr:\n%s", j.stderr)
	}
	return m[1]
}

// testScheduler is a bare mesos-go subscription, to look at the cluster.
type testScheduler struct {
	t      *testing.T
	cli    calls.Caller
	fwID   string
	events chan *scheduler.Event
}

func newTestScheduler(t *testing.T, ctx context.Context, url string, info *mesos.FrameworkInfo) *testScheduler {
	t.Helper()
	cli := newCaller(unixEndpoint, masterSocket(url), "", "")
	resp, err := cli.Call(ctx, calls.Subscribe(info))
	if err != nil {
		t.Fatal(err)
	}
	s := &testScheduler{t: t, cli: cli, events: make(chan *scheduler.Event, 64)}
	go func() {
		defer resp.Close()
		defer close(s.events)
		for {
			var e scheduler.Event
			if resp.Decode(&e) != nil {
				return
			}
			if e.GetType() != scheduler.Event_HEARTBEAT {
				select {
				case s.events <- &e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return s
}

func (s *testScheduler) call(ctx context.Context, c *scheduler.Call) error {
	resp, err := s.cli.Call(ctx, c.With(calls.Framework(s.fwID)))
	if resp != nil {
		resp.Close()
	}
	return err
}

// checkReleased checks that Run left nothing behind on the cluster: its
// framework fwID was torn down (re-subscribing under its id is refused, as
// it is only after a TEARDOWN or a detected disconnection), and every
// agent's cpus and mem are free again (all tasks have ended). It returns
// the agents' hostnames by agent id.
func checkReleased(t *testing.T, c *localmesos.Cluster, fwID string) map[string]string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	user, err := frameworkUser()
	if err != nil {
		t.Fatal(err)
	}

	old := newTestScheduler(t, ctx, c.URL(), &mesos.FrameworkInfo{ID: &mesos.FrameworkID{Value: fwID}, User: user, Name: "mrun-test-old"})
	if e := <-old.events; e.GetType() != scheduler.Event_ERROR || e.GetError().GetMessage() != "Framework has been removed" {
		t.Errorf("re-subscribing as Run's framework %s: got %v, want ERROR \"Framework has been removed\" (no TEARDOWN?)", fwID, e)
	}

	failover := 0.0
	s := newTestScheduler(t, ctx, c.URL(), &mesos.FrameworkInfo{User: user, Name: "mrun-test-check", FailoverTimeout: &failover})
	e := <-s.events
	if e.GetType() != scheduler.Event_SUBSCRIBED {
		t.Fatalf("checking the cluster: got %v, want SUBSCRIBED", e)
	}
	s.fwID = e.GetSubscribed().GetFrameworkID().GetValue()
	defer s.call(context.Background(), &scheduler.Call{Type: scheduler.Call_TEARDOWN})

	// Offers hold what is free; tasks still being killed free theirs later,
	// offered on REVIVE.
	type free struct{ cpus, mem float64 }
	offered := map[string]*free{}
	hosts := map[string]string{}
	complete := func() bool {
		n := 0
		for _, f := range offered {
			if f.cpus == agentCPUs && f.mem == agentMemMB {
				n++
			}
		}
		return n == len(testHosts)
	}
	notBack := func(why any) {
		t.Helper()
		var got []string
		for id, f := range offered {
			got = append(got, fmt.Sprintf("%s: %g cpus, %g MB", hosts[id], f.cpus, f.mem))
		}
		t.Fatalf("the agents' resources did not all come back (%v); offered: %q", why, got)
	}
	revive := time.NewTicker(100 * time.Millisecond)
	defer revive.Stop()
	for !complete() {
		select {
		case e, ok := <-s.events:
			if !ok {
				notBack(ctx.Err())
			}
			for _, o := range e.GetOffers().GetOffers() {
				id := o.GetAgentID().Value
				hosts[id] = o.GetHostname()
				if offered[id] == nil {
					offered[id] = &free{}
				}
				for _, r := range o.GetResources() {
					switch r.GetName() {
					case "cpus":
						offered[id].cpus += r.GetScalar().GetValue()
					case "mem":
						offered[id].mem += r.GetScalar().GetValue()
					}
				}
			}
		case <-revive.C:
			if err := s.call(ctx, calls.Revive()); err != nil {
				notBack(err)
			}
		}
	}
	return hosts
}

// The job runs: placement, mpiexec's arguments, one task per host running
// `socker run --mount M... IMAGE -- hydra_pmi_proxy ARGS` on the host
// mpiexec was told that proxy serves, mpiexec's output passed through, and
// its exit status (including death by a signal) returned as the job's. Run
// then tears its framework down and leaves every resource free.
func TestRun_ExitStatusIsMpiexecs(t *testing.T) {
	for _, c := range []struct {
		name, then string
		code       int
	}{
		{"success", "0", 0},
		{"exit 3", "3", 3},
		{"killed by SIGTERM", "TERM", 128 + int(syscall.SIGTERM)},
	} {
		t.Run(c.name, func(t *testing.T) {
			cluster := startCluster(t, 0)
			f := newFakes(t, "ok", c.then)
			j := newJob(cluster.URL(), f)
			r := j.await(t, j.start(context.Background()), 10*time.Second)
			if r.err != nil || r.code != c.code {
				t.Fatalf("Run = %d, %v; want %d, nil", r.code, r.err, c.code)
			}

			wantMpiexec := []string{"-launcher", "manual", "-hosts", "127.0.0.1:2,127.0.0.2:2", "-n", "4", "-wdir", "/tmp", "mpi-hello", "--size", "4"}
			if got := f.lines(t, "mpiexec.args"); !reflect.DeepEqual(got, wantMpiexec) {
				t.Errorf("mpiexec arguments %q, want %q", got, wantMpiexec)
			}
			if got, want := j.stdout.String(), "fake-mpiexec: the job's output\n"; got != want {
				t.Errorf("stdout %q, want %q (mpiexec's output after HYDRA_LAUNCH_END)", got, want)
			}
			for _, want := range []string{
				"fake-mpiexec: a warning before the launch lines\n", // hydra's own lines before the launches
				"fake-mpiexec: the job's diagnostics\n",             // mpiexec's stderr
			} {
				if !strings.Contains(j.stderr.String(), want) {
					t.Errorf("stderr lacks %q", want)
				}
			}
			if said := strings.Contains(j.stderr.String(), "mrun: mpiexec exited with status "+strconv.Itoa(c.code)+"\n"); said != (c.code != 0) {
				t.Errorf("stderr says mpiexec's status %d: %v, want %v", c.code, said, c.code != 0)
			}

			hosts := checkReleased(t, cluster, j.frameworkID(t))
			for i, host := range testHosts {
				id := strconv.Itoa(i)
				want := append([]string{"run", "--mount", "/scratch/u:/scratch/u", "--mount", "/data:/data:ro",
					"socker/mpich:4", "--", "hydra_pmi_proxy"}, proxyArgs(id)...)
				if got := f.lines(t, "socker."+id+".args"); !reflect.DeepEqual(got, want) {
					t.Errorf("proxy %d: socker arguments\n%q, want\n%q", i, got, want)
				}
				if agent := f.lines(t, "socker."+id+".agent")[0]; hosts[agent] != host {
					t.Errorf("proxy %d ran on agent %s (%q), want the agent of %s", i, agent, hosts[agent], host)
				}
			}
		})
	}
}

// A task that ends while mpiexec still runs (a node whose proxy exits 1)
// fails the job DefaultEndGrace later, with the task's status and naming its
// host: mpiexec and the other task are killed, where mpiexec would have
// waited for the proxy forever.
func TestRun_TaskFailsBeforeMpiexec(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "fail1", "0")
	j := newJob(cluster.URL(), f)
	r := j.await(t, j.start(context.Background()), 10*time.Second)
	if r.code != 1 || r.err == nil {
		t.Fatalf("Run = %d, %v; want 1 and an error", r.code, r.err)
	}
	want := regexp.MustCompile(`^task \S+-proxy-1 on 127\.0\.0\.2 ended \(TASK_FAILED: Command exited with status 1\) and mpiexec had not ended 3s later: killed the job's other tasks and mpiexec$`)
	if !want.MatchString(r.err.Error()) {
		t.Errorf("error %q, want one matching %q", r.err, want)
	}
	if r.took < DefaultEndGrace || r.took > DefaultEndGrace+3*time.Second {
		t.Errorf("Run took %v to end the job, want about %v", r.took, DefaultEndGrace)
	}
	if !f.exists("ran.0") {
		t.Errorf("proxy 0 never ran: the test did not kill a running task")
	}
	f.mpiexecGone(t)
	checkReleased(t, cluster, j.frameworkID(t)) // proxy 0's task was killed
}

// A job the cluster cannot hold fails after Options.Timeout, saying what it
// needed and the best the offers gave; mpiexec never starts, and the offers
// Run held are released.
func TestRun_CannotPlace(t *testing.T) {
	for _, c := range []struct {
		name string
		job  placement.Job
		err  string
	}{
		{"too few agents", placement.Job{Nodes: 3, Procs: 3, CPUsPerProc: 1, MemPerProc: 256},
			"could not place the job within 500ms: need 3 nodes with 1 cpu and 256 MB each for 3 ranks; best seen: 2 nodes with room for 3 ranks"},
		{"too few cpus", placement.Job{Nodes: 2, Procs: 5, CPUsPerProc: 1, MemPerProc: 256},
			"could not place the job within 500ms: need 2 nodes with 1 cpu and 256 MB each for 5 ranks; best seen: 2 nodes with room for 4 ranks"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cluster := startCluster(t, 0)
			f := newFakes(t, "ok", "0")
			j := newJob(cluster.URL(), f)
			j.Job, j.Timeout = c.job, 500*time.Millisecond
			r := j.await(t, j.start(context.Background()), 5*time.Second)
			if r.code != 1 || r.err == nil || r.err.Error() != c.err {
				t.Fatalf("Run = %d, %v; want 1, %q", r.code, r.err, c.err)
			}
			if r.took < j.Timeout {
				t.Errorf("Run gave up after %v, before its timeout", r.took)
			}
			if f.exists("mpiexec.pid") {
				t.Errorf("mpiexec was started for a job that was not placed")
			}
			checkReleased(t, cluster, j.frameworkID(t))
		})
	}
}

// Cancelling Run's context (Ctrl-C) while the job runs returns
// ErrInterrupted at once, with mpiexec and the tasks killed.
func TestRun_Interrupted(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "hang", "hang")
	j := newJob(cluster.URL(), f)
	done, cancel := j.startRunning(t, f)
	cancelled := time.Now()
	cancel()
	r := j.await(t, done, 10*time.Second)
	if !errors.Is(r.err, ErrInterrupted) || r.code == 0 {
		t.Fatalf("Run = %d, %v; want non-zero, ErrInterrupted", r.code, r.err)
	}
	if took := time.Since(cancelled); took > 3*time.Second {
		t.Errorf("Run took %v to return after the cancellation", took)
	}
	f.mpiexecGone(t)
	checkReleased(t, cluster, j.frameworkID(t))
}

// A master that goes away mid-job (its event stream ends) fails the job
// instead of leaving it hanging, and kills mpiexec.
func TestRun_MasterCloses(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "hang", "hang")
	j := newJob(cluster.URL(), f)
	done := j.start(context.Background())
	f.waitFor(t, "ran.0", "ran.1")
	cluster.Close()
	r := j.await(t, done, 10*time.Second)
	if r.code == 0 || r.err == nil || !strings.Contains(r.err.Error(), "the master closed the event stream") {
		t.Fatalf("Run = %d, %v; want a failure saying the master closed the event stream", r.code, r.err)
	}
	f.mpiexecGone(t)
}

// A master that goes silent mid-job (no event, not even a heartbeat, on a
// stream that stays open) fails the job after 3 missed heartbeats; Run
// still kills the tasks and tears the framework down.
func TestRun_MasterSilent(t *testing.T) {
	const heartbeat = 250 * time.Millisecond
	cluster := startCluster(t, heartbeat)
	proxy := newSilencer(t, cluster)
	f := newFakes(t, "hang", "hang")
	j := newJob(proxy.URL(), f)
	done := j.start(context.Background())
	f.waitFor(t, "ran.0", "ran.1")
	proxy.silence()
	silenced := time.Now()
	r := j.await(t, done, 10*time.Second)
	if r.code == 0 || r.err == nil || !strings.Contains(r.err.Error(), "(3 missed heartbeats): giving up") {
		t.Fatalf("Run = %d, %v; want a failure after 3 missed heartbeats", r.code, r.err)
	}
	// The last event came at most a heartbeat before the silence, and the
	// watchdog looks once a second.
	if took := time.Since(silenced); took < 2*heartbeat || took > 3*heartbeat+3*time.Second {
		t.Errorf("Run gave up %v after the master went silent; want about 3 heartbeats (%v) plus at most a second or so", took, 3*heartbeat)
	}
	f.mpiexecGone(t)
	checkReleased(t, cluster, j.frameworkID(t))
}

// silencer is a TCP proxy on 127.0.0.1 to the master's unix socket (a
// test's own: the local Mesos has no TCP listener). Once silenced, the subscription
// stream (the connection whose response carries a Mesos-Stream-Id) stays
// open but nothing more comes through it, as from a hung or partitioned
// master; calls on other connections still get through.
type silencer struct {
	ln     net.Listener
	target string

	mu     sync.Mutex
	silent bool
	conns  []net.Conn
}

func newSilencer(t *testing.T, c *localmesos.Cluster) *silencer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &silencer{ln: ln, target: c.Socket()}
	go s.serve()
	t.Cleanup(s.close)
	return s
}

func (s *silencer) URL() string { return "http://" + s.ln.Addr().String() }

func (s *silencer) silence() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.silent = true
}

func (s *silencer) close() {
	s.ln.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.conns {
		c.Close()
	}
}

func (s *silencer) serve() {
	for {
		client, err := s.ln.Accept()
		if err != nil {
			return
		}
		master, err := net.Dial("unix", s.target)
		if err != nil {
			client.Close()
			continue
		}
		s.mu.Lock()
		s.conns = append(s.conns, client, master)
		s.mu.Unlock()
		go func() {
			io.Copy(master, client)
			master.Close()
		}()
		go func() {
			defer client.Close()
			marker := []byte("\r\nMesos-Stream-Id: ")
			stream, seen := false, []byte{}
			buf := make([]byte, 32<<10)
			for {
				n, err := master.Read(buf)
				if !stream { // the marker may straddle two reads
					seen = append(seen, buf[:n]...)
					stream = bytes.Contains(seen, marker)
					seen = seen[max(0, len(seen)-len(marker)):]
				}
				s.mu.Lock()
				drop := stream && s.silent
				s.mu.Unlock()
				if !drop && n > 0 {
					if _, err := client.Write(buf[:n]); err != nil {
						return
					}
				}
				if err != nil {
					return
				}
			}
		}()
	}
}

// A job that runs past its time limit (--time) is killed, every task and
// mpiexec, and Run returns ExitTimeLimit with a line that says so.
func TestRun_TimeLimit(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "hang", "hang")
	j := newJob(cluster.URL(), f)
	j.TimeLimit = time.Second
	done := j.start(context.Background())
	f.waitFor(t, "ran.0", "ran.1")
	r := j.await(t, done, 10*time.Second)
	if r.code != ExitTimeLimit || r.err == nil || r.err.Error() != "the job reached its time limit (--time 1s): killed its 2 tasks and mpiexec" {
		t.Fatalf("Run = %d, %v; want %d and the time limit", r.code, r.err, ExitTimeLimit)
	}
	if r.took < time.Second {
		t.Errorf("Run returned after %v, before the limit", r.took)
	}
	f.mpiexecGone(t)
	checkReleased(t, cluster, j.frameworkID(t))
}

// A node's task that ends normally while mpiexec still runs (the proxy of a
// rank that exited without MPI_Finalize, while mpiexec and the other ranks
// wait forever) ends the job DefaultEndGrace later with status 1: mpiexec
// and the other task killed, nothing left.
func TestRun_TaskFinishesBeforeMpiexec(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "done1", "hang")
	j := newJob(cluster.URL(), f)
	r := j.await(t, j.start(context.Background()), 15*time.Second)
	want := regexp.MustCompile(`^task \S+-proxy-1 on 127\.0\.0\.2 ended \(TASK_FINISHED: Command exited with status 0\) and mpiexec had not ended 3s later: killed the job's other tasks and mpiexec$`)
	if r.code != 1 || r.err == nil || !want.MatchString(r.err.Error()) {
		t.Fatalf("Run = %d, %v; want 1 and an error matching %q", r.code, r.err, want)
	}
	if r.took < DefaultEndGrace || r.took > DefaultEndGrace+3*time.Second {
		t.Errorf("Run took %v to end the job, want about %v", r.took, DefaultEndGrace)
	}
	f.mpiexecGone(t)
	checkReleased(t, cluster, j.frameworkID(t))
}

// Options.EndGrace (--end-grace) sets how long that wait is.
func TestRun_EndGrace(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "done1", "hang")
	j := newJob(cluster.URL(), f)
	j.EndGrace = time.Second
	r := j.await(t, j.start(context.Background()), 15*time.Second)
	if r.code != 1 || r.err == nil || !strings.Contains(r.err.Error(), "and mpiexec had not ended 1s later") {
		t.Fatalf("Run = %d, %v; want 1 and the end grace of 1s", r.code, r.err)
	}
	if r.took < time.Second || r.took > DefaultEndGrace {
		t.Errorf("Run took %v to end the job, want about 1s", r.took)
	}
}
