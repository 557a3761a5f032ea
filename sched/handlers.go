package sched

import (
	"errors"
	"fmt"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/sockerhpc/socker/sched/placement"
)

// A handler reacts to one event from the master; a non-nil result ends the
// job.
type handler func(*jobRun, *scheduler.Event) *result

// handlers are the job's handlers, one per event type, as in mesos-go's
// events.HandlerSet. Every status update is acknowledged (acknowledged)
// before it is handled.
var handlers = map[scheduler.Event_Type]handler{
	scheduler.Event_SUBSCRIBED: (*jobRun).subscribed,
	scheduler.Event_OFFERS:     (*jobRun).offered,
	scheduler.Event_RESCIND:    (*jobRun).rescinded,
	scheduler.Event_UPDATE:     acknowledged((*jobRun).updated),
	scheduler.Event_ERROR:      (*jobRun).refused,
	scheduler.Event_FAILURE:    (*jobRun).failed,
	scheduler.Event_HEARTBEAT:  (*jobRun).alive,
}

// teardownHandlers are the handlers while teardown waits for the killed
// tasks to end: updates are acknowledged and recorded, nothing else.
var teardownHandlers = map[scheduler.Event_Type]handler{
	scheduler.Event_UPDATE: acknowledged(func(j *jobRun, e *scheduler.Event) *result {
		j.record(e.GetUpdate().GetStatus())
		return nil
	}),
}

// handle hands e to its handler in hs; an event without one is ignored.
func (j *jobRun) handle(hs map[scheduler.Event_Type]handler, e *scheduler.Event) *result {
	if h := hs[e.GetType()]; h != nil {
		return h(j, e)
	}
	return nil
}

// acknowledged is the rule for every status update: acknowledge it to the
// master (if it carries a uuid, as the agent's do) whoever's task it is,
// then handle it with h.
func acknowledged(h handler) handler {
	return func(j *jobRun, e *scheduler.Event) *result {
		st := e.GetUpdate().GetStatus()
		if uuid := st.GetUUID(); len(uuid) > 0 {
			j.call(calls.Acknowledge(st.GetAgentID().GetValue(), st.GetTaskID().Value, uuid))
		}
		return h(j, e)
	}
}

// subscribed records the framework id and the heartbeat interval.
func (j *jobRun) subscribed(e *scheduler.Event) *result {
	s := e.GetSubscribed()
	j.fwID = s.GetFrameworkID().GetValue()
	j.o.Timings.Mark("subscribed")
	if h := s.GetHeartbeatIntervalSeconds(); h > 0 {
		j.heartbeat = time.Duration(h * float64(time.Second))
	}
	j.progress("subscribed as framework %s; waiting for offers: %d nodes with %g cpus and %g MB for %d ranks",
		j.fwID, j.o.Job.Nodes, j.o.Job.CPUsPerProc, j.o.Job.MemPerProc, j.o.Job.Procs)
	return nil
}

// offered holds the new offers and places the job on the offers held; once
// it fits, it launches it. Offers that come after that are declined.
func (j *jobRun) offered(e *scheduler.Event) *result {
	j.o.Timings.Mark("first offers")
	for _, of := range e.GetOffers().GetOffers() {
		j.offers[of.GetID().Value] = of
		j.heldAt[of.GetID().Value] = time.Now()
	}
	if j.placed() {
		j.declineAll()
		return nil
	}
	plan, err := j.place()
	var short *placement.InsufficientError
	if errors.As(err, &short) {
		j.lastShort = err
		j.progress("waiting for offers: %s", err)
		return nil
	}
	if err == nil {
		err = j.launch(plan)
	}
	if err != nil {
		j.killAll()
		return fail(err)
	}
	return nil
}

// rescinded forgets an offer the master took back.
func (j *jobRun) rescinded(e *scheduler.Event) *result {
	delete(j.offers, e.GetRescind().GetOfferID().Value)
	delete(j.heldAt, e.GetRescind().GetOfferID().Value)
	return nil
}

// updated records a status update of one of the job's tasks. Once
// mpiexec has exited, the job ends with the last task. Before that, a task
// that socker refused, or that was killed, lost or dropped, fails the job at
// once; one whose command ended (a proxy whose ranks are gone, normally or
// not) ends it unless mpiexec ends within the end grace: a proxy exits once
// its ranks are done, which can be just before mpiexec has collected every
// proxy's status and exited, but a rank that dies without MPI_Finalize may
// leave mpiexec and the other ranks waiting forever.
func (j *jobRun) updated(e *scheduler.Event) *result {
	st := e.GetUpdate().GetStatus()
	id := st.GetTaskID().Value
	if !j.record(st) {
		return nil
	}
	state := st.GetState()
	if state == mesos.TASK_RUNNING {
		j.progress("task %s running on %s", id, j.hostOf[id])
		if j.allReached(mesos.TASK_RUNNING) {
			j.o.Timings.Mark("tasks running (TASK_RUNNING)")
		}
	}
	if terminal(state) && j.allEnded() {
		j.o.Timings.Mark("tasks ended")
	}
	switch {
	case j.finishing != nil:
		if j.allEnded() {
			return &result{j.status, nil}
		}
	case !terminal(state):
	case (state == mesos.TASK_FINISHED || state == mesos.TASK_FAILED) && sockerHint(st.GetMessage()) == "":
		j.endedEarly(id, st)
	default:
		j.killAll()
		return fail(fmt.Errorf("task %s on %s ended (%s) before the job did: %s%s", id, j.hostOf[id], state, st.GetMessage(), sockerHint(st.GetMessage())))
	}
	return nil
}

// record keeps the latest status of each of the job's tasks; it reports
// whether st is of one of them.
func (j *jobRun) record(st mesos.TaskStatus) bool {
	id := st.GetTaskID().Value
	if _, ours := j.tasks[id]; !ours {
		return false
	}
	j.tasks[id] = &st
	return true
}

// refused fails the job the master refused (an ERROR event).
func (j *jobRun) refused(e *scheduler.Event) *result {
	j.killAll()
	return fail(fmt.Errorf("the master refused the framework: %s", e.GetError().GetMessage()))
}

// failed fails the job when an agent it runs on fails before mpiexec has
// exited; an executor's failure is reported by its task's update instead.
func (j *jobRun) failed(e *scheduler.Event) *result {
	f := e.GetFailure()
	if f.GetExecutorID() == nil && f.GetAgentID() != nil && j.usesAgent(f.GetAgentID().GetValue()) && j.finishing == nil {
		j.killAll()
		return fail(fmt.Errorf("agent %s failed", f.GetAgentID().GetValue()))
	}
	return nil
}

// alive does nothing: like every event, it tells the loop's watchdog
// that the master is alive.
func (j *jobRun) alive(*scheduler.Event) *result { return nil }
