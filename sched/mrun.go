package sched

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/sockerhpc/socker/internal/exitcode"
)

// Options is one mrun job.
type Options struct {
	Job     Job
	Image   string   // the MPI image each proxy's container runs
	Master  string   // as the user gave it: host[:port] or http[s]://host[:port][/path] (see masterEndpoint); the caller starts an embedded local Mesos
	Program []string // the MPI program and its arguments, as mpiexec runs them in the containers
	Socker  string   // socker's path on the agents
	Mounts  []string // passed to socker run --mount
	Mpiexec string   // mpiexec.hydra's path on this machine
	// Timeout bounds the wait for offers that can hold the job.
	Timeout time.Duration
	// OfferHold bounds how long an offer is kept while the job does not fit
	// (default DefaultOfferHold); then it is declined, for a second, so that
	// two gang jobs never hoard each other's resources.
	OfferHold time.Duration
	// KillGrace is every task's kill_policy.grace_period (default
	// DefaultKillGrace): when the task is killed, the agent sends socker
	// SIGTERM and SIGKILLs it only after this long, which socker needs to
	// stop and remove its container and write its exit record.
	KillGrace time.Duration
	// Principal and Secret authenticate the framework (HTTP basic), if set.
	Principal, Secret string
	Stdout, Stderr    io.Writer
}

// DefaultOfferHold is Options.OfferHold's default.
const DefaultOfferHold = 10 * time.Second

// DefaultKillGrace is Options.KillGrace's default: socker's default
// container.stop_grace_seconds (10 s, SIGTERM to SIGKILL of the container)
// plus time for socker to remove the container and write its exit record.
// Without a kill policy a command task's grace period is 3 s, after which
// socker is SIGKILLed and its container left to socker gc.
const DefaultKillGrace = 15 * time.Second

// MaxKillGrace bounds --kill-grace (socker's stop_grace_seconds is at most
// 3600).
const MaxKillGrace = time.Hour

// terminal reports whether a task state ends the task.
func terminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_LOST,
		mesos.TASK_ERROR, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR, mesos.TASK_UNKNOWN:
		return true
	}
	return false
}

// frameworkUser is the invoking user's name, from the kernel uid.
func frameworkUser() (string, error) {
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return "", fmt.Errorf("looking up uid %d: %w", os.Getuid(), err)
	}
	return u.Username, nil
}

// Run runs one MPI job through the Mesos master: it subscribes, collects
// offers until Place can hold the whole job (gang), starts mpiexec.hydra with
// the manual launcher, launches one command task per host running the proxy
// through socker, acknowledges every update, and returns mpiexec's exit
// status. A task that ends before mpiexec does fails the job; ctx being done
// (Ctrl-C) kills everything. It always tears the framework down.
func Run(ctx context.Context, o Options) (int, error) {
	if err := o.Job.Validate(); err != nil {
		return 2, err
	}
	endpoint, err := masterEndpoint(o.Master)
	if err != nil {
		return 2, err
	}
	// Run's progress lines and mpiexec's copied output come from different
	// goroutines: the caller's writers see one write at a time.
	var outMu sync.Mutex
	o.Stdout, o.Stderr = &lockedWriter{&outMu, o.Stdout}, &lockedWriter{&outMu, o.Stderr}
	name, err := frameworkUser()
	if err != nil {
		return 2, err
	}
	progress := func(format string, a ...any) { fmt.Fprintf(o.Stderr, "mrun: "+format+"\n", a...) }

	cfgOpts := []httpcli.ConfigOpt{}
	if o.Principal != "" {
		cfgOpts = append(cfgOpts, httpcli.BasicAuth(o.Principal, o.Secret))
	}
	cli := httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(endpoint),
		// mesos-go v0.0.11's JSON decoder rejects Mesos 1.12's SUBSCRIBED
		// (an unknown master capability): use protobuf.
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(cfgOpts...)),
	))
	failover := 0.0
	info := &mesos.FrameworkInfo{User: name, Name: "mrun " + strings.Join(o.Program, " "), FailoverTimeout: &failover}
	if o.Principal != "" {
		info.Principal = &o.Principal
	}
	subCtx, cancelSub := context.WithCancel(context.Background())
	defer cancelSub()
	resp, err := cli.Call(subCtx, calls.Subscribe(info))
	if err != nil {
		return 1, fmt.Errorf("subscribing to %s: %w", o.Master, err)
	}
	defer resp.Close()

	events := make(chan *scheduler.Event)
	streamErr := make(chan error, 1)
	loopDone := make(chan struct{})
	defer close(loopDone)
	go func() {
		for {
			var e scheduler.Event
			if err := resp.Decode(&e); err != nil {
				streamErr <- err
				return
			}
			select {
			case events <- &e:
			case <-loopDone:
				return
			}
		}
	}()

	j := &jobRun{o: o, cli: cli, progress: progress, offers: map[string]mesos.Offer{}, heldAt: map[string]time.Time{}, tasks: map[string]*mesos.TaskStatus{}, events: events}
	defer j.teardown()
	defer j.waitOutput()
	return j.loop(ctx, events, streamErr)
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
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

// jobRun is the state of one job between SUBSCRIBED and TEARDOWN.
type jobRun struct {
	o          Options
	cli        calls.Caller
	progress   func(string, ...any)
	fwID       string
	offers     map[string]mesos.Offer       // held offers
	heldAt     map[string]time.Time         // when each held offer arrived
	plan       Plan                         // once placed
	tasks      map[string]*mesos.TaskStatus // task id → latest status
	agentOf    map[string]mesos.AgentID
	hostOf     map[string]string
	mpiexec    *exec.Cmd
	mpiDone    chan error
	copied     chan struct{} // closed once mpiexec is reaped and its output copied
	events     <-chan *scheduler.Event
	killed     bool // killAll sent a KILL
	streamGone bool // the master's event stream closed or fell silent
}

func (j *jobRun) call(c *scheduler.Call) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := j.cli.Call(ctx, c.With(calls.Framework(j.fwID)))
	if resp != nil {
		resp.Close()
	}
	return err
}

func (j *jobRun) loop(ctx context.Context, events <-chan *scheduler.Event, streamErr <-chan error) (int, error) {
	var deadline <-chan time.Time // Timeout <= 0: no bound
	if j.o.Timeout > 0 {
		deadline = time.After(j.o.Timeout)
	}
	heartbeat := 15 * time.Second
	lastEvent := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	var lastShort error
	var finishing <-chan time.Time // set once mpiexec has exited
	var orphaned <-chan time.Time  // set once every task has finished before mpiexec exited
	status := 0
	for {
		select {
		case <-ctx.Done():
			j.killAll()
			return 1, ErrInterrupted
		case err := <-streamErr:
			j.streamGone = true
			j.killAll()
			return 1, fmt.Errorf("the master closed the event stream: %v", err)
		case <-tick.C:
			if time.Since(lastEvent) > 3*heartbeat {
				j.streamGone = true
				j.killAll()
				return 1, fmt.Errorf("no event from the master for %v (3 missed heartbeats): giving up", time.Since(lastEvent).Round(time.Second))
			}
			if !j.placed() {
				j.declineOld()
			}
		case <-deadline:
			if !j.placed() {
				msg := "no offers"
				if lastShort != nil {
					msg = lastShort.Error()
				}
				return 1, fmt.Errorf("could not place the job within %v: %s", j.o.Timeout, msg)
			}
		case err := <-j.mpiDone:
			code, ferr := exitStatus(err)
			if ferr != nil {
				j.killAll()
				return 1, ferr
			}
			if code != 0 {
				j.progress("mpiexec exited with status %d", code)
			}
			finishing, status = time.After(10*time.Second), code
			j.mpiexec = nil
			if j.allEnded() {
				return status, nil
			}
		case <-finishing:
			j.killAll()
			return status, nil
		case <-orphaned:
			if finishing == nil {
				j.killAll()
				return 1, fmt.Errorf("every task finished but mpiexec did not exit within 10s")
			}
		case e := <-events:
			lastEvent = time.Now()
			switch e.GetType() {
			case scheduler.Event_SUBSCRIBED:
				s := e.GetSubscribed()
				j.fwID = s.GetFrameworkID().GetValue()
				if h := s.GetHeartbeatIntervalSeconds(); h > 0 {
					heartbeat = time.Duration(h * float64(time.Second))
				}
				j.progress("subscribed as framework %s; waiting for offers: %d nodes with %g cpus and %g MB for %d ranks", j.fwID, j.o.Job.Nodes, j.o.Job.CPUsPerProc, j.o.Job.MemPerProc, j.o.Job.Procs)
			case scheduler.Event_OFFERS:
				for _, of := range e.GetOffers().GetOffers() {
					j.offers[of.GetID().Value] = of
					j.heldAt[of.GetID().Value] = time.Now()
				}
				if j.placed() {
					j.declineAll()
					continue
				}
				if err := j.tryPlace(); err != nil {
					var short *InsufficientError
					if errors.As(err, &short) {
						lastShort = err
						j.progress("waiting for offers: %s", err)
						continue
					}
					j.killAll()
					return 1, err
				}
			case scheduler.Event_RESCIND:
				delete(j.offers, e.GetRescind().GetOfferID().Value)
				delete(j.heldAt, e.GetRescind().GetOfferID().Value)
			case scheduler.Event_UPDATE:
				st := e.GetUpdate().GetStatus()
				id := st.GetTaskID().Value
				if !j.update(st) {
					continue
				}
				if st.GetState() == mesos.TASK_RUNNING {
					j.progress("task %s running on %s", id, j.hostOf[id])
				}
				if finishing != nil {
					if j.allEnded() {
						return status, nil
					}
					continue
				}
				if st.GetState() == mesos.TASK_FINISHED {
					// A proxy exits 0 once its ranks are done, which can be
					// before mpiexec has collected every proxy's status and
					// exited: the job ends, with mpiexec's status, when
					// mpiexec does.
					if j.allEnded() {
						orphaned = time.After(10 * time.Second)
					}
					continue
				}
				if terminal(st.GetState()) {
					j.killAll()
					return 1, fmt.Errorf("task %s on %s ended (%s) before the job did: %s%s", id, j.hostOf[id], st.GetState(), st.GetMessage(), sockerHint(st.GetMessage()))
				}
			case scheduler.Event_ERROR:
				j.killAll()
				return 1, fmt.Errorf("the master refused the framework: %s", e.GetError().GetMessage())
			case scheduler.Event_FAILURE:
				f := e.GetFailure()
				if f.GetExecutorID() == nil && f.GetAgentID() != nil && j.usesAgent(f.GetAgentID().GetValue()) && finishing == nil {
					j.killAll()
					return 1, fmt.Errorf("agent %s failed", f.GetAgentID().GetValue())
				}
			}
		}
	}
}

// tryPlace places the job on the held offers; when it fits, it declines the
// rest, starts mpiexec and launches the proxies.
func (j *jobRun) tryPlace() error {
	var offers []Offer
	for _, of := range j.offers {
		o := Offer{ID: of.GetID().Value, AgentID: of.GetAgentID().Value, Hostname: of.GetHostname()}
		for _, r := range of.GetResources() {
			switch r.GetName() {
			case "cpus":
				o.CPUs += r.GetScalar().GetValue()
			case "mem":
				o.MemMB += r.GetScalar().GetValue()
			}
		}
		offers = append(offers, o)
	}
	plan, err := Place(j.o.Job, offers)
	if err != nil {
		return err
	}
	j.plan = plan
	j.progress("placed: %s", HostsArg(plan))
	launches, err := j.startMpiexec()
	if err != nil {
		j.declineAll()
		return err
	}
	j.agentOf, j.hostOf = map[string]mesos.AgentID{}, map[string]string{}
	used := map[string]bool{}
	grace := j.o.KillGrace
	if grace <= 0 {
		grace = DefaultKillGrace
	}
	for i, h := range plan.Hosts {
		id := fmt.Sprintf("%s-proxy-%d", j.fwID, i)
		argv := ProxyCommand(j.o.Socker, j.o.Image, j.o.Mounts, launches[i])
		shell := false
		task := mesos.TaskInfo{
			Name:    fmt.Sprintf("mrun proxy %d", i),
			TaskID:  mesos.TaskID{Value: id},
			AgentID: mesos.AgentID{Value: h.AgentID},
			Resources: []mesos.Resource{
				scalar("cpus", h.CPUs), scalar("mem", h.MemMB),
			},
			Command:    &mesos.CommandInfo{Shell: &shell, Value: &argv[0], Arguments: argv},
			KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: grace.Nanoseconds()}},
		}
		var ids []mesos.OfferID
		for _, oid := range h.OfferIDs {
			ids = append(ids, mesos.OfferID{Value: oid})
			used[oid] = true
			delete(j.offers, oid)
		}
		j.tasks[id] = nil
		j.agentOf[id] = task.AgentID
		j.hostOf[id] = h.Hostname
		if err := j.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(ids...))); err != nil {
			return fmt.Errorf("launching on %s: %w", h.Hostname, err)
		}
	}
	j.declineAll()
	j.progress("launched %d tasks", len(plan.Hosts))
	return nil
}

func scalar(name string, v float64) mesos.Resource {
	return mesos.Resource{Name: name, Type: mesos.SCALAR.Enum(), Scalar: &mesos.Value_Scalar{Value: v}}
}

// startMpiexec starts `mpiexec.hydra -launcher manual` for the plan and
// reads its proxy launch lines; the rest of its output is copied through.
func (j *jobRun) startMpiexec() ([]ProxyLaunch, error) {
	args := append([]string{"-launcher", "manual", "-hosts", HostsArg(j.plan), "-n", strconv.Itoa(j.o.Job.Procs), "-wdir", "/tmp"}, j.o.Program...)
	cmd := exec.Command(j.o.Mpiexec, args...)
	cmd.Stderr = j.o.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", j.o.Mpiexec, err)
	}
	r := bufio.NewReader(out)
	launches, other, err := ReadLaunches(r, len(j.plan.Hosts))
	for _, l := range other {
		fmt.Fprintln(j.o.Stderr, l)
	}
	if err != nil {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		return nil, err
	}
	j.mpiexec = cmd
	j.mpiDone = make(chan error, 1)
	j.copied = make(chan struct{})
	go func() {
		defer close(j.copied)
		io.Copy(j.o.Stdout, r)
		j.mpiDone <- cmd.Wait()
	}()
	return launches, nil
}

// ErrInterrupted is returned by Run when its context is cancelled (Ctrl-C,
// SIGTERM): the tasks were killed and the framework torn down.
var ErrInterrupted = errors.New("interrupted: killed the job's tasks")

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

// update acknowledges a status update and records it; it reports whether
// the update is of one of the job's tasks.
func (j *jobRun) update(st mesos.TaskStatus) bool {
	if uuid := st.GetUUID(); len(uuid) > 0 {
		j.call(calls.Acknowledge(st.GetAgentID().GetValue(), st.GetTaskID().Value, uuid))
	}
	id := st.GetTaskID().Value
	if _, ours := j.tasks[id]; !ours {
		return false
	}
	j.tasks[id] = &st
	return true
}

// killAll kills the job's tasks that have not ended, and mpiexec.
func (j *jobRun) killAll() {
	for id, st := range j.tasks {
		if st == nil || !terminal(st.GetState()) {
			j.call(calls.Kill(id, j.agentOf[id].Value))
			j.killed = true
		}
	}
	if j.mpiexec != nil && j.mpiexec.Process != nil {
		syscall.Kill(-j.mpiexec.Process.Pid, syscall.SIGKILL)
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

// teardown ends the framework. Tasks it killed are first given their kill
// grace (and 5 s more) to end, their updates acknowledged: a TEARDOWN makes
// a Mesos agent shut their executors down after its
// --executor_shutdown_grace_period (5 s by default), which would cut
// socker's time to stop and remove its container short.
func (j *jobRun) teardown() {
	if j.fwID == "" {
		return
	}
	if j.killed && !j.streamGone && !j.allEnded() {
		grace := j.o.KillGrace
		if grace <= 0 {
			grace = DefaultKillGrace
		}
		j.progress("waiting up to %v for the killed tasks to end", grace+5*time.Second)
		deadline := time.After(grace + 5*time.Second)
	wait:
		for !j.allEnded() {
			select {
			case e := <-j.events:
				if e.GetType() == scheduler.Event_UPDATE {
					j.update(e.GetUpdate().GetStatus())
				}
			case <-deadline:
				break wait
			}
		}
	}
	j.call(&scheduler.Call{Type: scheduler.Call_TEARDOWN})
}

// sockerHint explains a command task's exit status that is one of socker's
// own (see socker(8)): the task's stderr, in its sandbox on the agent, has
// socker's one-line reason.
func sockerHint(message string) string {
	var code int
	if _, err := fmt.Sscanf(message, "Command exited with status %d", &code); err != nil {
		return ""
	}
	what := exitcode.Meaning(code)
	if what == "" {
		return ""
	}
	return " (" + what + "; the task's stderr in its sandbox says why)"
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
