package sched

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/sched/placement"
)

// jobRun is the state of one job between SUBSCRIBED and TEARDOWN.
type jobRun struct {
	o          Options
	cli        calls.Caller
	progress   func(string, ...any)
	fwID       string
	offers     map[string]mesos.Offer       // held offers
	heldAt     map[string]time.Time         // when each held offer arrived
	plan       placement.Plan               // once placed
	tasks      map[string]*mesos.TaskStatus // task id → latest status
	agentOf    map[string]mesos.AgentID
	hostOf     map[string]string
	mpiexec    *exec.Cmd
	mpiDone    chan error
	copied     chan struct{} // closed once mpiexec is reaped and its output copied
	events     <-chan *scheduler.Event
	killed     bool // killAll sent a KILL
	streamGone bool // the master's event stream closed or fell silent

	heartbeat time.Duration    // the master's heartbeat interval
	lastEvent time.Time        // when the last event came
	lastShort error            // why the last offers could not hold the job
	limit     <-chan time.Time // set at launch when the job has a time limit
	finishing <-chan time.Time // set once mpiexec has exited
	early     *earlyEnd        // the first task that ended while mpiexec ran
	status    int              // mpiexec's exit status, once it has exited
}

func newJobRun(o Options, cli calls.Caller, events <-chan *scheduler.Event) *jobRun {
	return &jobRun{
		o: o, cli: cli, events: events,
		progress:  func(format string, a ...any) { fmt.Fprintf(o.Stderr, "mrun: "+format+"\n", a...) },
		offers:    map[string]mesos.Offer{},
		heldAt:    map[string]time.Time{},
		tasks:     map[string]*mesos.TaskStatus{},
		heartbeat: 15 * time.Second,
	}
}

// result ends the job: Run's exit status and error.
type result struct {
	code int
	err  error
}

func fail(err error) *result { return &result{1, err} }

func (j *jobRun) call(c *scheduler.Call) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := j.cli.Call(ctx, c.With(calls.Framework(j.fwID)))
	if resp != nil {
		resp.Close()
	}
	return err
}

// loop waits for what can happen to the job and hands each to its step, the
// master's events to their handlers (handlers.go), until one ends the job.
func (j *jobRun) loop(ctx context.Context, streamErr <-chan error) (int, error) {
	var deadline <-chan time.Time // Timeout <= 0: no bound
	if j.o.Timeout > 0 {
		deadline = time.After(j.o.Timeout)
	}
	j.lastEvent = time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		var r *result
		select {
		case <-ctx.Done():
			j.killAll()
			r = &result{1, ErrInterrupted}
		case err := <-streamErr:
			r = j.streamClosed(err)
		case <-tick.C:
			r = j.watch()
		case <-deadline:
			r = j.placementTimedOut()
		case <-j.limit:
			r = j.timeLimitExpired()
		case err := <-j.mpiDone:
			r = j.mpiexecExited(err)
		case <-j.finishing:
			j.killAll()
			r = &result{j.status, nil}
		case <-j.early.after():
			r = j.earlyEndExpired()
		case e := <-j.events:
			j.lastEvent = time.Now()
			r = j.handle(handlers, e)
		}
		if r != nil {
			return r.code, r.err
		}
	}
}

// streamClosed fails the job whose event stream ended.
func (j *jobRun) streamClosed(err error) *result {
	j.streamGone = true
	j.killAll()
	return fail(fmt.Errorf("the master closed the event stream: %v", err))
}

// watch, every second, fails the job when the master has been silent for 3
// heartbeats, and declines the offers held too long while the job is not
// placed.
func (j *jobRun) watch() *result {
	if silent := time.Since(j.lastEvent); silent > 3*j.heartbeat {
		j.streamGone = true
		j.killAll()
		return fail(fmt.Errorf("no event from the master for %v (3 missed heartbeats): giving up", silent.Round(time.Second)))
	}
	if !j.placed() {
		j.declineOld()
	}
	return nil
}

// placementTimedOut fails a job not placed within Options.Timeout, saying
// what the offers lacked.
func (j *jobRun) placementTimedOut() *result {
	if j.placed() {
		return nil
	}
	msg := "no offers"
	if j.lastShort != nil {
		msg = j.lastShort.Error()
	}
	return fail(fmt.Errorf("could not place the job within %v: %s", j.o.Timeout, msg))
}

// timeLimitExpired kills the whole gang of a job that ran for its
// Options.TimeLimit.
func (j *jobRun) timeLimitExpired() *result {
	j.killAll()
	return &result{ExitTimeLimit, fmt.Errorf("the job reached its time limit (--time %v): killed its %d tasks and mpiexec", j.o.TimeLimit, len(j.tasks))}
}

// mpiexecExited records mpiexec's exit status, the job's: the job ends when
// every task has ended too, or 10 s later.
func (j *jobRun) mpiexecExited(waitErr error) *result {
	j.o.Timings.Mark("mpiexec exited")
	code, err := exitStatus(waitErr)
	if err != nil {
		j.killAll()
		return fail(err)
	}
	if code != 0 {
		j.progress("mpiexec exited with status %d", code)
	}
	j.finishing, j.status = time.After(10*time.Second), code
	j.mpiexec = nil
	if j.allEnded() {
		return &result{j.status, nil}
	}
	return nil
}

// DefaultEndGrace is Options.EndGrace's default: how long a job whose node
// task ended while mpiexec ran waits for mpiexec to end by itself (hydra
// reporting the ranks' statuses) before mrun kills it. MPICH 4.0's hydra
// never ends when a rank of one proxy exits with a status (not a signal)
// while ranks of other proxies wait for it; a rank that keeps running after
// MPI_Finalize while another node's have exited looks the same to mrun,
// hence --end-grace.
const DefaultEndGrace = 3 * time.Second

// endGrace is the job's Options.EndGrace or its default.
func (j *jobRun) endGrace() time.Duration {
	if j.o.EndGrace <= 0 {
		return DefaultEndGrace
	}
	return j.o.EndGrace
}

// earlyEnd is a task that ended while mpiexec still ran: a proxy whose
// ranks are gone. Unless mpiexec ends within the end grace, the job is
// killed.
type earlyEnd struct {
	id, host string
	status   mesos.TaskStatus
	timer    <-chan time.Time
}

// after is when the grace of e ends (never for none).
func (e *earlyEnd) after() <-chan time.Time {
	if e == nil {
		return nil
	}
	return e.timer
}

// endedEarly starts the grace of the first task that ended while mpiexec
// ran.
func (j *jobRun) endedEarly(id string, st mesos.TaskStatus) {
	if j.early != nil {
		return
	}
	j.early = &earlyEnd{id: id, host: j.hostOf[id], status: st, timer: time.After(j.endGrace())}
	j.progress("task %s on %s ended (%s) while mpiexec runs: the job ends in %v unless mpiexec does", id, j.hostOf[id], describe(st), j.endGrace())
}

// earlyEndExpired kills the job whose task ended the end grace ago while
// mpiexec still runs. Its status is the task's exit status if it failed,
// else 1: mpiexec, which would know the ranks', never reported them.
func (j *jobRun) earlyEndExpired() *result {
	if j.finishing != nil {
		return nil
	}
	j.killAll()
	e := j.early
	code := 1
	if n, ok := commandStatus(e.status.GetMessage()); ok && n > 0 && n < 256 {
		code = n
	}
	return &result{code, fmt.Errorf("task %s on %s ended (%s) and mpiexec had not ended %v later: killed the job's other tasks and mpiexec",
		e.id, e.host, describe(e.status), j.endGrace())}
}

// describe is a task status as mrun prints it: the state and the message.
func describe(st mesos.TaskStatus) string {
	if st.GetMessage() == "" {
		return st.GetState().String()
	}
	return st.GetState().String() + ": " + st.GetMessage()
}

// exitStatus turns mpiexec's wait error into its exit status (128+N when
// killed by signal N).
func exitStatus(waitErr error) (int, error) {
	var ee *exec.ExitError
	if errors.As(waitErr, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return 128 + int(ws.Signal()), nil
		}
		return ee.ExitCode(), nil
	}
	return 0, waitErr
}

// terminal reports whether a task state ends the task.
func terminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_LOST,
		mesos.TASK_ERROR, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_UNKNOWN:
		return true
	}
	return false
}

// placed reports whether the job has been placed and its tasks launched.
func (j *jobRun) placed() bool { return len(j.plan.Hosts) > 0 }

// allEnded reports whether every launched task has reached a terminal state.
func (j *jobRun) allEnded() bool {
	for _, st := range j.tasks {
		if st == nil || !terminal(st.GetState()) {
			return false
		}
	}
	return true
}

// allReached reports whether every launched task has reported state s or
// has ended.
func (j *jobRun) allReached(s mesos.TaskState) bool {
	for _, st := range j.tasks {
		if st == nil || st.GetState() != s && !terminal(st.GetState()) {
			return false
		}
	}
	return true
}

// usesAgent reports whether one of the job's tasks was launched on agent id.
func (j *jobRun) usesAgent(id string) bool {
	for _, a := range j.agentOf {
		if a.Value == id {
			return true
		}
	}
	return false
}

// killAll kills mpiexec, then the job's tasks that have not ended. mpiexec
// goes first: its proxies kill their ranks and exit as soon as its
// connections close (hydra_pmi_proxy ignores the SIGTERM a Mesos kill
// brings, so a kill alone takes the container's stop grace).
func (j *jobRun) killAll() {
	if j.mpiexec != nil && j.mpiexec.Process != nil {
		syscall.Kill(-j.mpiexec.Process.Pid, syscall.SIGKILL)
	}
	for id, st := range j.tasks {
		if st == nil || !terminal(st.GetState()) {
			j.call(calls.Kill(id, j.agentOf[id].Value))
			j.killed = true
		}
	}
}

func (j *jobRun) declineAll() {
	if len(j.offers) == 0 {
		return
	}
	var ids []mesos.OfferID
	for id := range j.offers {
		ids = append(ids, mesos.OfferID{Value: id})
	}
	j.offers = map[string]mesos.Offer{}
	j.call(calls.Decline(ids...).With(calls.RefuseSeconds(30 * time.Second)))
}

// declineOld declines the offers held longer than the hold bound; the
// master offers them again a second later.
func (j *jobRun) declineOld() {
	hold := j.o.OfferHold
	if hold <= 0 {
		hold = DefaultOfferHold
	}
	var ids []mesos.OfferID
	for id := range j.offers {
		if time.Since(j.heldAt[id]) > hold {
			ids = append(ids, mesos.OfferID{Value: id})
			delete(j.offers, id)
			delete(j.heldAt, id)
		}
	}
	if len(ids) > 0 {
		j.progress("declined %d offers held for more than %v without a placement", len(ids), hold)
		j.call(calls.Decline(ids...).With(calls.RefuseSeconds(time.Second)))
	}
}

// killGrace is the tasks' kill grace period.
func (j *jobRun) killGrace() time.Duration {
	if j.o.KillGrace <= 0 {
		return DefaultKillGrace
	}
	return j.o.KillGrace
}

// teardown ends the framework. Tasks it killed are first given their kill
// grace (and 5 s more) to end, their updates acknowledged: a TEARDOWN makes
// a Mesos agent shut their executors down after its
// --executor_shutdown_grace_period (5 s by default), which would cut
// socker's time to stop and remove its container short.
func (j *jobRun) teardown() {
	if j.fwID == "" {
		return
	}
	if j.killed && !j.streamGone {
		j.awaitKilled()
	}
	j.call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
	j.o.Timings.Mark("framework torn down (TEARDOWN sent)")
}

// awaitKilled waits up to the kill grace and 5 s more for the tasks to
// end, acknowledging their updates.
func (j *jobRun) awaitKilled() {
	if j.allEnded() {
		return
	}
	wait := j.killGrace() + 5*time.Second
	j.progress("waiting up to %v for the killed tasks to end", wait)
	deadline := time.After(wait)
	for !j.allEnded() {
		select {
		case e := <-j.events:
			j.handle(teardownHandlers, e)
		case <-deadline:
			return
		}
	}
}

// waitOutput waits until mpiexec (killed, or exited) has been reaped and
// its output copied, so that nothing writes to o.Stdout or o.Stderr after
// Run returns.
func (j *jobRun) waitOutput() {
	if j.copied == nil {
		return
	}
	select {
	case <-j.copied:
	case <-time.After(5 * time.Second): // a grandchild holding the pipes open
	}
}

// sockerHint explains a command task's exit status that is one of socker's
// own (see socker(8)): the task's stderr, in its sandbox on the agent, has
// socker's one-line reason.
func sockerHint(message string) string {
	code, ok := commandStatus(message)
	if !ok {
		return ""
	}
	what := exitcode.Meaning(code)
	if what == "" {
		return ""
	}
	return " (" + what + "; the task's stderr in its sandbox says why)"
}

// commandStatus is the exit status in a command executor's message
// ("Command exited with status N").
func commandStatus(message string) (int, bool) {
	var code int
	_, err := fmt.Sscanf(message, "Command exited with status %d", &code)
	return code, err == nil
}
