package sched

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/sockerhpc/socker/sched/placement"
)

// The event handlers, fed events one at a time without a master: a fake
// caller records the calls they make.

// recordingCaller records every call as "TYPE id..." (the task of KILL and
// ACKNOWLEDGE, the offers of DECLINE), and the framework id of each.
type recordingCaller struct {
	calls []string
	fwIDs []string
}

func (r *recordingCaller) Call(_ context.Context, c *scheduler.Call) (mesos.Response, error) {
	s := c.GetType().String()
	switch c.GetType() {
	case scheduler.Call_KILL:
		s += " " + c.GetKill().GetTaskID().Value
	case scheduler.Call_ACKNOWLEDGE:
		s += " " + c.GetAcknowledge().GetTaskID().Value
	case scheduler.Call_DECLINE:
		for _, id := range c.GetDecline().GetOfferIDs() {
			s += " " + id.Value
		}
	}
	r.calls = append(r.calls, s)
	r.fwIDs = append(r.fwIDs, c.GetFrameworkID().GetValue())
	return nil, nil
}

// launchedJob is a job of framework "fw" whose two tasks, t0 on agent a0
// (host n0) and t1 on a1 (n1), were launched and are running.
func launchedJob(cli *recordingCaller, stderr *bytes.Buffer) *jobRun {
	j := newJobRun(Options{Job: placement.Job{Nodes: 2, Procs: 2, CPUsPerProc: 1}, Stderr: stderr}, cli, nil)
	j.fwID = "fw"
	j.plan = placement.Plan{Hosts: []placement.Host{{AgentID: "a0", Hostname: "n0", Slots: 1}, {AgentID: "a1", Hostname: "n1", Slots: 1}}}
	j.agentOf = map[string]mesos.AgentID{"t0": {Value: "a0"}, "t1": {Value: "a1"}}
	j.hostOf = map[string]string{"t0": "n0", "t1": "n1"}
	running := mesos.TaskStatus{State: mesos.TASK_RUNNING.Enum()}
	j.tasks = map[string]*mesos.TaskStatus{"t0": &running, "t1": &running}
	return j
}

func update(task, agent string, state mesos.TaskState, uuid []byte, message string) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: mesos.TaskStatus{
		TaskID: mesos.TaskID{Value: task}, AgentID: &mesos.AgentID{Value: agent}, State: state.Enum(), UUID: uuid, Message: &message,
	}}}
}

func offers(ids ...string) *scheduler.Event {
	var os []mesos.Offer
	for _, id := range ids {
		os = append(os, mesos.Offer{ID: mesos.OfferID{Value: id}, AgentID: mesos.AgentID{Value: "a-" + id}, Hostname: "h-" + id,
			Resources: []mesos.Resource{scalar("cpus", 1), scalar("mem", 1024)}})
	}
	return &scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: os}}
}

var uuid1 = []byte("0123456789abcdef")

func TestHandlers(t *testing.T) {
	ended := func(j *jobRun) { j.finishing, j.status = make(chan time.Time), 3 } // mpiexec exited 3
	oneRunning := func(j *jobRun) {
		done := mesos.TaskStatus{State: mesos.TASK_FINISHED.Enum()}
		j.tasks["t1"] = &done
	}
	for _, tc := range []struct {
		name   string
		setup  func(*jobRun) // after launchedJob; nil: none
		event  *scheduler.Event
		calls  []string // in order
		code   int      // of the result, when err is set or ends
		ends   bool     // the handler ends the job
		err    string   // the result's error, "" for none
		stderr string   // a progress line the handler writes
		check  func(*testing.T, *jobRun)
	}{
		{name: "SUBSCRIBED", setup: func(j *jobRun) { j.fwID = "" },
			event: &scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
				FrameworkID: &mesos.FrameworkID{Value: "fw2"}, HeartbeatIntervalSeconds: func() *float64 { h := 2.5; return &h }()}},
			stderr: "mrun: subscribed as framework fw2; waiting for offers: 2 nodes with 1 cpus and 0 MB for 2 ranks\n",
			check: func(t *testing.T, j *jobRun) {
				if j.fwID != "fw2" || j.heartbeat != 2500*time.Millisecond {
					t.Errorf("framework %q, heartbeat %v; want fw2, 2.5s", j.fwID, j.heartbeat)
				}
			}},
		{name: "HEARTBEAT", event: &scheduler.Event{Type: scheduler.Event_HEARTBEAT}},
		{name: "an update is acknowledged and recorded", event: update("t0", "a0", mesos.TASK_RUNNING, uuid1, ""),
			calls: []string{"ACKNOWLEDGE t0"}, stderr: "mrun: task t0 running on n0\n"},
		{name: "an update without a uuid is not acknowledged", event: update("t0", "a0", mesos.TASK_RUNNING, nil, ""),
			stderr: "mrun: task t0 running on n0\n"},
		{name: "another framework's task: acknowledged, not recorded", event: update("x", "a0", mesos.TASK_FAILED, uuid1, ""),
			calls: []string{"ACKNOWLEDGE x"},
			check: func(t *testing.T, j *jobRun) {
				if _, ok := j.tasks["x"]; ok {
					t.Errorf("recorded another framework's task")
				}
			}},
		{name: "a task ends before mpiexec: the job fails", event: update("t0", "a0", mesos.TASK_FAILED, uuid1, "Command exited with status 77"),
			calls: []string{"ACKNOWLEDGE t0", "KILL t1"}, ends: true, code: 1,
			err: "task t0 on n0 ended (TASK_FAILED) before the job did: Command exited with status 77 (socker refused the container by the site's policy (its audit log on that node has the reason); the task's stderr in its sandbox says why)"},
		{name: "a task finishes while others run: the grace starts", event: update("t0", "a0", mesos.TASK_FINISHED, uuid1, "Command exited with status 0"),
			calls:  []string{"ACKNOWLEDGE t0"},
			stderr: "mrun: task t0 on n0 ended (TASK_FINISHED: Command exited with status 0) while mpiexec runs: the job ends in 3s unless mpiexec does\n",
			check: func(t *testing.T, j *jobRun) {
				if j.early == nil || j.early.id != "t0" || j.tasks["t0"].GetState() != mesos.TASK_FINISHED {
					t.Errorf("no grace started, or the update not recorded")
				}
			}},
		{name: "a proxy fails with its own status: the grace starts", event: update("t0", "a0", mesos.TASK_FAILED, uuid1, "Command exited with status 5"),
			calls:  []string{"ACKNOWLEDGE t0"},
			stderr: "mrun: task t0 on n0 ended (TASK_FAILED: Command exited with status 5) while mpiexec runs: the job ends in 3s unless mpiexec does\n",
			check: func(t *testing.T, j *jobRun) {
				if j.early == nil {
					t.Errorf("no grace started")
				}
			}},
		{name: "the last task finishes before mpiexec exits", setup: oneRunning, event: update("t0", "a0", mesos.TASK_FINISHED, uuid1, ""),
			calls: []string{"ACKNOWLEDGE t0"}, stderr: "mrun: task t0 on n0 ended (TASK_FINISHED) while mpiexec runs: the job ends in 3s unless mpiexec does\n",
			check: func(t *testing.T, j *jobRun) {
				if j.early == nil {
					t.Errorf("no grace started: nothing bounds the wait for mpiexec")
				}
			}},
		{name: "a task killed before mpiexec: the job fails", event: update("t0", "a0", mesos.TASK_KILLED, uuid1, "Command terminated with signal Killed"),
			calls: []string{"ACKNOWLEDGE t0", "KILL t1"}, ends: true, code: 1,
			err: "task t0 on n0 ended (TASK_KILLED) before the job did: Command terminated with signal Killed"},
		{name: "the last task ends after mpiexec: the job ends with its status", setup: func(j *jobRun) { ended(j); oneRunning(j) },
			event: update("t0", "a0", mesos.TASK_KILLED, uuid1, ""), calls: []string{"ACKNOWLEDGE t0"}, ends: true, code: 3},
		{name: "a task ends after mpiexec, another runs", setup: ended, event: update("t0", "a0", mesos.TASK_FAILED, uuid1, ""),
			calls: []string{"ACKNOWLEDGE t0"}},
		{name: "ERROR", setup: oneRunning, event: &scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: "Framework has been removed"}},
			calls: []string{"KILL t0"}, ends: true, code: 1, err: "the master refused the framework: Framework has been removed"},
		{name: "FAILURE of an agent the job uses", setup: oneRunning,
			event: &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: "a1"}}},
			calls: []string{"KILL t0"}, ends: true, code: 1, err: "agent a1 failed"},
		{name: "FAILURE of another agent",
			event: &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: "a9"}}}},
		{name: "FAILURE of an executor",
			event: &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: "a0"}, ExecutorID: &mesos.ExecutorID{Value: "t0"}}}},
		{name: "FAILURE of a used agent after mpiexec exited", setup: ended,
			event: &scheduler.Event{Type: scheduler.Event_FAILURE, Failure: &scheduler.Event_Failure{AgentID: &mesos.AgentID{Value: "a0"}}}},
		{name: "OFFERS once placed are declined", event: offers("o1"), calls: []string{"DECLINE o1"}},
		{name: "OFFERS that cannot hold the job are held", setup: func(j *jobRun) { j.plan = placement.Plan{}; j.tasks = map[string]*mesos.TaskStatus{} },
			event: offers("o1"), stderr: "mrun: waiting for offers: need 2 nodes with 1 cpu and 0 MB each for 2 ranks; best seen: 1 node with room for 1 rank\n",
			check: func(t *testing.T, j *jobRun) {
				if _, held := j.offers["o1"]; !held || j.lastShort == nil {
					t.Errorf("offer not held, or the shortfall not kept for the timeout's message")
				}
			}},
		{name: "RESCIND", setup: func(j *jobRun) { j.offers["o1"] = mesos.Offer{}; j.heldAt["o1"] = time.Now() },
			event: &scheduler.Event{Type: scheduler.Event_RESCIND, Rescind: &scheduler.Event_Rescind{OfferID: mesos.OfferID{Value: "o1"}}},
			check: func(t *testing.T, j *jobRun) {
				if len(j.offers) != 0 || len(j.heldAt) != 0 {
					t.Errorf("rescinded offer still held")
				}
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := &recordingCaller{}
			var stderr bytes.Buffer
			j := launchedJob(cli, &stderr)
			if tc.setup != nil {
				tc.setup(j)
			}
			r := j.handle(handlers, tc.event)
			if strings.Join(cli.calls, ", ") != strings.Join(tc.calls, ", ") {
				t.Errorf("calls %q, want %q", cli.calls, tc.calls)
			}
			for i, id := range cli.fwIDs {
				if id != j.fwID {
					t.Errorf("call %s names framework %q, want %q", cli.calls[i], id, j.fwID)
				}
			}
			switch {
			case !tc.ends && r != nil:
				t.Errorf("the job ended: %d, %v", r.code, r.err)
			case tc.ends && r == nil:
				t.Errorf("the job goes on, want it to end with %d, %q", tc.code, tc.err)
			case tc.ends && (r.code != tc.code || (r.err == nil) != (tc.err == "") || r.err != nil && r.err.Error() != tc.err):
				t.Errorf("the job ended with %d, %v; want %d, %q", r.code, r.err, tc.code, tc.err)
			}
			if stderr.String() != tc.stderr {
				t.Errorf("stderr %q, want %q", stderr.String(), tc.stderr)
			}
			if tc.check != nil {
				tc.check(t, j)
			}
		})
	}
}

// While teardown waits for the killed tasks, updates are acknowledged and
// recorded, and nothing else is handled.
func TestTeardownHandlers(t *testing.T) {
	cli := &recordingCaller{}
	j := launchedJob(cli, &bytes.Buffer{})
	for _, e := range []*scheduler.Event{
		update("t0", "a0", mesos.TASK_KILLED, uuid1, ""),
		offers("o1"),
		{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: "x"}},
		update("t1", "a1", mesos.TASK_KILLED, uuid1, ""),
	} {
		if r := j.handle(teardownHandlers, e); r != nil {
			t.Errorf("%s ended the job: %v", e.GetType(), r.err)
		}
	}
	if want := []string{"ACKNOWLEDGE t0", "ACKNOWLEDGE t1"}; strings.Join(cli.calls, ", ") != strings.Join(want, ", ") {
		t.Errorf("calls %q, want %q", cli.calls, want)
	}
	if !j.allEnded() || len(j.offers) != 0 {
		t.Errorf("updates not recorded, or an offer held")
	}
}
