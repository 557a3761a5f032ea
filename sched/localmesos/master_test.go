package localmesos

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

const subscribeBarsuser = `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"barsuser","name":"localmesos-test","failover_timeout":0%s}}}`

func launchCall(fwID, offerID, agentID, taskID, cmd string) string {
	return fmt.Sprintf(`{"framework_id":{"value":%q},"type":"ACCEPT","accept":{"offer_ids":[{"value":%q}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":%q,"task_id":{"value":%q},"agent_id":{"value":%q},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.5}},{"name":"mem","type":"SCALAR","scalar":{"value":64}}],"command":{"value":%q,"shell":true}}]}}],"filters":{"refuse_seconds":0}}}`,
		fwID, offerID, taskID, taskID, agentID, cmd)
}

// startOneTask starts a cluster of the captured agent (capturedConfig,
// changed by adjust if not nil) with a fake launcher, subscribes barsuser
// and launches task id running cmd on the first offer.
func startOneTask(t *testing.T, adjust func(*Config), id, cmd string) (*fakeLauncher, *Cluster, *sub) {
	t.Helper()
	fake := newFakeLauncher()
	cfg := capturedConfig(fake)
	if adjust != nil {
		adjust(&cfg)
	}
	c := start(t, cfg)
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, ""))
	s.launchOnOffer(id, cmd)
	return fake, c, s
}

// launchOnOffer waits for an offer and launches one command task on it.
func (s *sub) launchOnOffer(taskID, cmd string) mesos.Offer {
	s.t.Helper()
	o := s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers[0]
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, taskID, cmd))
	return o
}

// expectNoOffer fails if an OFFERS event arrives within d.
func (s *sub) expectNoOffer(d time.Duration) {
	s.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ev, err := s.tryNext(time.Until(deadline))
		if err != nil {
			return
		}
		if ev.Type == scheduler.Event_OFFERS {
			s.t.Fatalf("unexpected offer after %v: %s", d-time.Until(deadline), ev.rec)
		}
	}
}

// Decline filters, SUPPRESS and REVIVE as in 03-decline.txt: refuse N
// re-offers after N s plus at most an allocation interval, refuse 0 at the
// next allocation, the default is 5 s; SUPPRESS stops offers, REVIVE sends
// one at once.
func TestOffers_DeclineFiltersSuppressRevive(t *testing.T) {
	t.Parallel()
	cfg := capturedConfig(nil)
	cfg.AllocationInterval = 100 * time.Millisecond
	c := start(t, cfg)
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, ""))
	o := s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers[0]
	decline := func(id string, filters string) time.Time {
		s.mustCall(`{"framework_id":{"value":%q},"type":"DECLINE","decline":{"offer_ids":[{"value":%q}]%s}}`, s.fwID, id, filters)
		return time.Now()
	}
	for _, tc := range []struct {
		filters  string
		min, max time.Duration
	}{
		{`,"filters":{"refuse_seconds":0.5}`, 500 * time.Millisecond, 800 * time.Millisecond},
		{`,"filters":{"refuse_seconds":0}`, 0, 250 * time.Millisecond},
		{``, 5 * time.Second, 5250 * time.Millisecond}, // the default of Filters.refuse_seconds
	} {
		at := decline(o.ID.Value, tc.filters)
		next := s.await(scheduler.Event_OFFERS, 10*time.Second).Offers.Offers[0]
		if d := time.Since(at); d < tc.min || d > tc.max {
			t.Errorf("DECLINE%s: re-offered after %v, want %v..%v", tc.filters, d, tc.min, tc.max)
		}
		if next.ID.Value == o.ID.Value {
			t.Errorf("offer id %s re-used", o.ID.Value)
		}
		o = next
	}
	decline(o.ID.Value, `,"filters":{"refuse_seconds":0.2}`)
	s.mustCall(`{"framework_id":{"value":%q},"type":"SUPPRESS"}`, s.fwID)
	s.expectNoOffer(700 * time.Millisecond)
	at := time.Now()
	s.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID)
	s.await(scheduler.Event_OFFERS, time.Second)
	if d := time.Since(at); d > 150*time.Millisecond {
		t.Errorf("REVIVE: offer after %v, want at once", d)
	}
	// An unanswered offer is neither rescinded nor re-sent.
	s.expectNoOffer(400 * time.Millisecond)
}

// Two agents by default, each with its share of the machine, a loopback
// hostname, its own ports and an id <uuid>-S<n>; one offer per agent, and
// a task's resources come back to the next offer when it ends.
func TestOffers_AgentsAndResources(t *testing.T) {
	t.Parallel()
	fake := newFakeLauncher()
	c := start(t, Config{Launcher: fake, AllocationInterval: 50 * time.Millisecond})
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, ""))
	offers := s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers
	if len(offers) != 2 || offers[0].AgentID == offers[1].AgentID {
		t.Fatalf("want one offer per agent, got %d", len(offers))
	}
	var ports []string
	for i, o := range offers {
		a := c.agent(o.AgentID.Value)
		if a == nil || o.AgentID.Value != fmt.Sprintf("%s-S%d", c.masterID, a.index) {
			t.Errorf("offer %d: agent id %q", i, o.AgentID.Value)
		}
		addrs, err := net.LookupHost(o.Hostname)
		if err != nil || !strings.HasPrefix(addrs[0], "127.") {
			t.Errorf("agent hostname %q resolves to %v %v", o.Hostname, addrs, err)
		}
		res := fromProto(o.Resources)
		if res.scalars["cpus"] <= 0 || res.scalars["mem"] <= 0 || res.scalars["disk"] <= 0 {
			t.Errorf("offer %d resources: %s", i, res.String("*"))
		}
		ports = append(ports, res.String("*"))
	}
	if offers[0].Hostname == offers[1].Hostname {
		t.Errorf("both agents are %q", offers[0].Hostname)
	}
	t.Logf("offers: %s | %s", ports[0], ports[1])

	o := offers[0]
	full := fromProto(o.Resources)
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, "t1", "sleep 100"))
	s.ack(s.await(scheduler.Event_UPDATE, time.Second)) // STARTING
	s.ack(s.await(scheduler.Event_UPDATE, time.Second)) // RUNNING
	// The remainder of the offer comes back (refuse_seconds 0): 0.5 cpus and 64 MB less.
	next := s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers
	if len(next) != 1 || next[0].AgentID != o.AgentID {
		t.Fatalf("want the remainder of agent %s, got %d offers", o.AgentID.Value, len(next))
	}
	if got, want := fromProto(next[0].Resources).scalars["cpus"], fixed(full.scalars["cpus"]-0.5); got != want {
		t.Errorf("remainder cpus %v, want %v", got, want)
	}
	fake.proc(t, "t1").finish(0)
	fin := s.await(scheduler.Event_UPDATE, time.Second)
	if fin.Update.Status.GetState() != mesos.TASK_FINISHED || fin.Update.Status.GetMessage() != "Command exited with status 0" {
		t.Fatalf("got %s", fin.rec)
	}
	s.ack(fin)
	s.mustCall(`{"framework_id":{"value":%q},"type":"DECLINE","decline":{"offer_ids":[{"value":%q}],"filters":{"refuse_seconds":0}}}`, s.fwID, next[0].ID.Value)
	again := s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers
	if got := fromProto(again[0].Resources).String("*"); got != full.String("*") {
		t.Errorf("after the task: %s, want %s", got, full.String("*"))
	}
}

// 05-no-ack.txt: without ACKNOWLEDGE the oldest update is re-sent, the
// same bytes, after the retry interval, then twice it, ...; later updates
// wait; each comes right after the previous one is acknowledged.
func TestUpdates_AckGatedAndResent(t *testing.T) {
	t.Parallel()
	fake, _, s := startOneTask(t, func(cfg *Config) { cfg.UpdateRetryInterval = 150 * time.Millisecond }, "t05-noack", "sleep 20")
	first := s.await(scheduler.Event_UPDATE, time.Second)
	t0 := time.Now()
	fake.proc(t, "t05-noack").finish(0) // RUNNING and FINISHED are queued behind STARTING
	for _, want := range []time.Duration{150, 450, 1050} {
		ev := s.await(scheduler.Event_UPDATE, 2*time.Second)
		at := time.Since(t0)
		if !bytes.Equal(ev.chunk, first.chunk) {
			t.Fatalf("re-sent update differs:\n%s\n%s", ev.chunk, first.chunk)
		}
		if d := at - want*time.Millisecond; d < -30*time.Millisecond || d > 120*time.Millisecond {
			t.Errorf("re-sent at %v, want ~%vms", at, want)
		}
	}
	if st := first.Update.Status.GetState(); st != mesos.TASK_STARTING {
		t.Fatalf("first update %v", st)
	}
	for _, want := range []mesos.TaskState{mesos.TASK_RUNNING, mesos.TASK_FINISHED} {
		at := time.Now()
		s.ack(first)
		next := s.await(scheduler.Event_UPDATE, time.Second)
		if next.Update.Status.GetState() != want || time.Since(at) > 100*time.Millisecond {
			t.Fatalf("after the ACK: %v after %v, want %v at once", next.Update.Status.GetState(), time.Since(at), want)
		}
		first = next
	}
	s.ack(first)
	// Acknowledged terminal update: the task is forgotten.
	s.mustCall(`{"framework_id":{"value":%q},"type":"RECONCILE","reconcile":{"tasks":[{"task_id":{"value":"t05-noack"}}]}}`, s.fwID)
	if r := s.await(scheduler.Event_UPDATE, time.Second); r.Update.Status.GetMessage() != "Reconciliation: Task is unknown" {
		t.Errorf("reconciliation: %s", r.rec)
	}
}

// 05-teardown.txt, first part: TEARDOWN kills the running task, ends the
// stream before the 202, and the framework is gone for good.
func TestTeardown_KillsTasksAndForgetsFramework(t *testing.T) {
	t.Parallel()
	cap := readTranscript(t, "05-teardown.txt")
	fake, c, s := startOneTask(t, nil, "t05-sleep", "sleep 100")
	s.ack(s.await(scheduler.Event_UPDATE, time.Second))
	s.ack(s.await(scheduler.Event_UPDATE, time.Second))
	s.mustCall(`{"framework_id":{"value":%q},"type":"TEARDOWN"}`, s.fwID)
	chunk, err := s.stream.chunk(50 * time.Millisecond)
	if err != nil || string(chunk) != "0\r\n\r\n" {
		t.Fatalf("stream after TEARDOWN: %q %v", chunk, err)
	}
	if sigs := fake.proc(t, "t05-sleep").Signals(); len(sigs) == 0 || sigs[0] != syscall.SIGTERM {
		t.Errorf("task got %v, want SIGTERM", sigs)
	}
	for _, call := range []string{"REVIVE", "TEARDOWN"} {
		r := s.call(fmt.Sprintf(`{"framework_id":{"value":%q},"type":%q}`, s.fwID, call))
		if r.status != "HTTP/1.1 400 Bad Request" || string(r.body) != "Framework cannot be found" {
			t.Errorf("%s after TEARDOWN: %s %q", call, r.status, r.body)
		}
	}
	// Re-subscribing with the removed id: 200, ERROR, end of stream.
	conn := dial(t, c)
	conn.send(request([]byte(fmt.Sprintf(`{"framework_id":{"value":%[1]q},"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"barsuser","name":"wire-capture","failover_timeout":0,"id":{"value":%[1]q}}}}`, s.fwID)),
		jsonType, jsonType, "", true))
	if r := conn.read(time.Second); r.status != "HTTP/1.1 200 OK" {
		t.Fatalf("re-SUBSCRIBE: %s", r.status)
	}
	wantErr := find(t, cap, "<<<", "stream chunk [ERROR]").data
	if chunk, _ := conn.chunk(time.Second); !bytes.Equal(chunk, wantErr) {
		t.Errorf("re-SUBSCRIBE: %q, want %q", chunk, wantErr)
	}
	if chunk, _ := conn.chunk(time.Second); string(chunk) != "0\r\n\r\n" {
		t.Errorf("re-SUBSCRIBE: stream not ended: %q", chunk)
	}
}

// 05-teardown.txt, last part: a second SUBSCRIBE with the framework's id
// fails the first stream over; the old stream id is refused.
func TestSubscribe_FailoverEndsTheOldStream(t *testing.T) {
	t.Parallel()
	cap := readTranscript(t, "05-teardown.txt")
	c := start(t, capturedConfig(nil))
	old := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, "")[:len(subscribeBarsuser)-6]+`60}}}`)
	old.await(scheduler.Event_OFFERS, time.Second)
	neu := subscribe(t, c, fmt.Sprintf(`{"framework_id":{"value":%[1]q},"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"barsuser","name":"wire-capture","failover_timeout":60,"id":{"value":%[1]q}}}}`, old.fwID))
	if neu.fwID != old.fwID || neu.streamID == old.streamID {
		t.Fatalf("failover: id %s stream %s", neu.fwID, neu.streamID)
	}
	var failover []byte
	for _, b := range cap {
		if b.label == "stream chunk [ERROR]" && bytes.Contains(b.data, []byte("failed over")) {
			failover = b.data
		}
	}
	if chunk, _ := old.stream.chunk(time.Second); !bytes.Equal(chunk, failover) {
		t.Errorf("old stream: %q, want %q", chunk, failover)
	}
	if chunk, _ := old.stream.chunk(time.Second); string(chunk) != "0\r\n\r\n" {
		t.Errorf("old stream not ended: %q", chunk)
	}
	neu.await(scheduler.Event_HEARTBEAT, time.Second)
	neu.await(scheduler.Event_OFFERS, time.Second)
	r := old.call(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"REVIVE"}`, old.fwID))
	want := fmt.Sprintf("The stream ID '%s' included in this request didn't match the stream ID currently associated with framework ID %s", old.streamID, old.fwID)
	if r.status != "HTTP/1.1 400 Bad Request" || string(r.body) != want {
		t.Errorf("old stream id: %s %q", r.status, r.body)
	}
	neu.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, neu.fwID)
}

// A scheduler that closes its stream (failover_timeout 0) is noticed at the
// next write, a heartbeat at the latest; its tasks are killed.
func TestSubscribe_ClosedStreamRemovesFramework(t *testing.T) {
	t.Parallel()
	fake, _, s := startOneTask(t, func(cfg *Config) { cfg.HeartbeatInterval = 200 * time.Millisecond }, "t1", "sleep 100")
	s.await(scheduler.Event_UPDATE, time.Second)
	s.stream.conn.Close()
	s.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID) // not noticed yet
	deadline := time.Now().Add(3 * time.Second)
	for {
		r := s.call(fmt.Sprintf(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID))
		if string(r.body) == "Framework cannot be found" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("framework still there: %s %q", r.status, r.body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if sigs := fake.proc(t, "t1").Signals(); len(sigs) == 0 {
		t.Errorf("task not killed")
	}
}

// The default heartbeat interval is the master's 15 s.
func TestSubscribe_DefaultHeartbeat(t *testing.T) {
	t.Parallel()
	c := start(t, Config{Launcher: newFakeLauncher()})
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, ""))
	if ev := s.next(time.Second); ev.Type != scheduler.Event_HEARTBEAT {
		t.Fatalf("second event %v, want HEARTBEAT", ev.Type)
	}
	conn := dial(t, c)
	conn.send(request([]byte(fmt.Sprintf(subscribeBarsuser, "")), jsonType, "*/*", "", true))
	conn.read(time.Second)
	ss := &sub{t: t, stream: conn, json: true}
	if ev := ss.next(time.Second); !bytes.Contains(ev.rec, []byte(`"heartbeat_interval_seconds":15.0,`)) {
		t.Errorf("SUBSCRIBED: %s", ev.rec)
	}
}

// KILL with the TASK_KILLING_STATE capability: TASK_KILLING first; a task
// that ignores SIGTERM is SIGKILLed after the kill policy's grace period.
func TestKill_KillingStateAndGracePeriod(t *testing.T) {
	t.Parallel()
	fake := newFakeLauncher()
	c := start(t, capturedConfig(fake))
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, `,"capabilities":[{"type":"TASK_KILLING_STATE"}]`))
	s.launchOnOffer("t1", "trap '' TERM; sleep 100")
	s.ack(s.await(scheduler.Event_UPDATE, time.Second))
	s.ack(s.await(scheduler.Event_UPDATE, time.Second))
	at := time.Now()
	s.mustCall(`{"framework_id":{"value":%q},"type":"KILL","kill":{"task_id":{"value":"t1"},"kill_policy":{"grace_period":{"nanoseconds":300000000}}}}`, s.fwID)
	killing := s.await(scheduler.Event_UPDATE, time.Second)
	if killing.Update.Status.GetState() != mesos.TASK_KILLING {
		t.Fatalf("got %s", killing.rec)
	}
	s.ack(killing)
	killed := s.await(scheduler.Event_UPDATE, 2*time.Second)
	d := time.Since(at)
	if killed.Update.Status.GetState() != mesos.TASK_KILLED || killed.Update.Status.GetMessage() != "Command terminated with signal Killed" {
		t.Fatalf("got %s", killed.rec)
	}
	if d < 300*time.Millisecond || d > 600*time.Millisecond {
		t.Errorf("TASK_KILLED after %v, want ~300ms", d)
	}
	if sigs := fake.proc(t, "t1").Signals(); len(sigs) != 2 || sigs[0] != syscall.SIGTERM || sigs[1] != syscall.SIGKILL {
		t.Errorf("signals %v", sigs)
	}
}

// A task id still in use is refused; a finished (acknowledged) one may be
// used again, as 04-invalid-launch.txt shows the real master doing.
func TestAccept_DuplicateTaskID(t *testing.T) {
	t.Parallel()
	c := start(t, capturedConfig(nil))
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, ""))
	o := s.launchOnOffer("t1", "sleep 100")
	s.ack(s.await(scheduler.Event_UPDATE, time.Second))
	s.ack(s.await(scheduler.Event_UPDATE, time.Second))
	o = s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers[0]
	s.mustCall("%s", launchCall(s.fwID, o.ID.Value, o.AgentID.Value, "t1", "true"))
	ev := s.await(scheduler.Event_UPDATE, time.Second)
	if st := ev.Update.Status; st.GetState() != mesos.TASK_ERROR || st.GetMessage() != "Task has duplicate ID: t1" || st.GetReason() != mesos.REASON_TASK_INVALID {
		t.Errorf("got %s", ev.rec)
	}
}

// Close kills every task and ends every stream.
func TestClose_KillsEverything(t *testing.T) {
	t.Parallel()
	fake := newFakeLauncher()
	c, err := Start(capturedConfig(fake))
	if err != nil {
		t.Fatal(err)
	}
	s := subscribe(t, c, fmt.Sprintf(subscribeBarsuser, ""))
	s.launchOnOffer("t1", "trap '' TERM; sleep 100")
	s.await(scheduler.Event_UPDATE, time.Second)
	done := make(chan error)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if sigs := fake.proc(t, "t1").Signals(); len(sigs) == 0 || sigs[len(sigs)-1] != syscall.SIGKILL {
		t.Errorf("signals %v, want SIGKILL", sigs)
	}
	for {
		chunk, err := s.stream.chunk(time.Second)
		if err != nil {
			t.Fatalf("stream not ended: %v", err)
		}
		if string(chunk) == "0\r\n\r\n" {
			break
		}
	}
}

func TestLauncher_UserChecks(t *testing.T) {
	spec := LaunchSpec{User: "nosuchuser-localmesos", Sandbox: "/W/runs/x"}
	_, err := TaskCredential(spec, false)
	want := "Failed to create executor directory '/W/runs/x': Failed to chown directory to 'nosuchuser-localmesos': No such user 'nosuchuser-localmesos'"
	if _, ok := err.(*SandboxError); !ok || err.Error() != want {
		t.Errorf("unknown user: %v, want %s", err, want)
	}
	spec.User = "root"
	if _, err := TaskCredential(spec, false); err == nil || !strings.Contains(err.Error(), "root") {
		t.Errorf("root without AllowRoot: %v", err)
	}
	if _, err := (&ExecLauncher{}).Launch(spec); err == nil {
		t.Errorf("ExecLauncher ran a task as root without AllowRoot")
	}
}

func TestResources_Arithmetic(t *testing.T) {
	var a resources
	a.addRanges("ports", []mesos.Value_Range{{Begin: 31000, End: 32000}})
	a.addScalar("cpus", 2)
	var b resources
	b.addRanges("ports", []mesos.Value_Range{{Begin: 31010, End: 31020}})
	b.addScalar("cpus", 0.1)
	d := a.minus(b)
	if got := d.String("*"); got != "ports(allocated: *):[31000-31009, 31021-32000]; cpus(allocated: *):1.9" {
		t.Errorf("minus: %s", got)
	}
	if !a.contains(b) || d.contains(b) || !d.plus(b).contains(a) {
		t.Errorf("contains/plus")
	}
	if (resources{}).allocatable() || !d.allocatable() {
		t.Errorf("allocatable")
	}
}

// Not root, the real launcher runs tasks as the invoking user only, with no
// cgroup (the quickstart's case). As root this path is not taken; the
// integration test covers the root one.
func TestExecLauncher_AsInvokingUser(t *testing.T) {
	if os.Geteuid() == 0 {
		// As root the launcher takes the other path; run this test again
		// as nobody, in a copy of the test binary nobody can execute.
		rerunAsNobody(t, "^TestExecLauncher_AsInvokingUser$")
		return
	}
	me, err := user.Current()
	if err != nil {
		t.Fatal(err)
	}
	c := start(t, Config{Agents: 1, Launcher: &ExecLauncher{}, AllocationInterval: 50 * time.Millisecond})
	s := subscribe(t, c, fmt.Sprintf(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":%q,"name":"t"}}}`, me.Username))
	o := s.launchOnOffer("t1", `echo "$MESOS_SANDBOX"; exit 3`)
	var last event
	for i := 0; i < 3; i++ {
		last = s.await(scheduler.Event_UPDATE, 5*time.Second)
		s.ack(last)
	}
	if st := last.Update.Status; st.GetState() != mesos.TASK_FAILED || st.GetMessage() != "Command exited with status 3" {
		t.Fatalf("got %s", last.rec)
	}
	cid := last.Update.Status.ContainerStatus.ContainerID.Value
	sandbox := filepath.Join(c.WorkDir(), "slaves", o.AgentID.Value, "frameworks", s.fwID, "executors", "t1", "runs", cid)
	if out, err := os.ReadFile(filepath.Join(sandbox, "stdout")); err != nil || string(out) != sandbox+"\n" {
		t.Errorf("stdout %q %v", out, err)
	}
	// Another user's task cannot run here.
	s.mustCall(`{"framework_id":{"value":%q},"type":"REVIVE"}`, s.fwID)
	o = s.await(scheduler.Event_OFFERS, time.Second).Offers.Offers[0]
	s.mustCall(`{"framework_id":{"value":%q},"type":"ACCEPT","accept":{"offer_ids":[{"value":%q}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"t2","task_id":{"value":"t2"},"agent_id":{"value":%q},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}}],"command":{"value":"id","user":"root"}}]}}]}}`,
		s.fwID, o.ID.Value, o.AgentID.Value)
	if st := s.await(scheduler.Event_UPDATE, 5*time.Second).Update.Status; st.GetState() != mesos.TASK_LOST || st.GetSource() != mesos.SOURCE_AGENT {
		t.Errorf("task as root: %v %s", st.GetState(), st.GetMessage())
	}
}

// rerunAsNobody runs the tests matching pattern in this test binary as uid
// and gid 65534 and fails if they fail.
func rerunAsNobody(t *testing.T, pattern string) {
	t.Helper()
	dir, err := os.MkdirTemp("", "localmesos-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "localmesos.test")
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run="+pattern, "-test.v", "-test.count=1")
	cmd.Dir = dir
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "TMPDIR=/tmp"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), "--- PASS") {
		t.Fatalf("as nobody: %v\n%s", err, out)
	}
}
