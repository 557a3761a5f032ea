package localmesos

import (
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/sockerhpc/socker/internal/uuid"
)

// The agents and their command executors: launching a task, its stream of
// status updates (each sent only once the previous one is acknowledged,
// re-sent until it is), killing it. Everything runs under Cluster.mu,
// except waiting for a launch or an exit.

// task is a task on an agent, from its ACCEPT until its terminal update is
// acknowledged (or its framework is removed and its process is gone).
type task struct {
	info        mesos.TaskInfo
	fw          *framework
	agent       *agent
	res         resources
	containerID string
	latest      *mesos.TaskStatus   // for reconciliation
	pending     []*mesos.TaskStatus // unacknowledged updates; the first is in flight
	retry       *time.Timer
	backoff     time.Duration
	proc        Process // nil until launched
	killing     bool
	grace       time.Duration
	killTimer   *time.Timer
	ended       bool // the process is gone and its resources are free
}

// executorStatus is an update as the command executor sends it.
func (c *Cluster) executorStatus(t *task, state mesos.TaskState, msg string) *mesos.TaskStatus {
	ts := now()
	st := &mesos.TaskStatus{
		TaskID:     t.info.TaskID,
		State:      state.Enum(),
		Source:     mesos.SOURCE_EXECUTOR.Enum(),
		AgentID:    &mesos.AgentID{Value: t.agent.id},
		ExecutorID: &mesos.ExecutorID{Value: t.info.TaskID.Value},
		Timestamp:  &ts,
		UUID:       uuid.Bytes(),
	}
	if msg != "" {
		st.Message = &msg
	}
	if t.proc != nil {
		st.ContainerStatus = t.containerStatus()
	}
	return st
}

func (t *task) containerStatus() *mesos.ContainerStatus {
	pid := uint32(t.proc.Pid())
	ip := t.agent.ip
	return &mesos.ContainerStatus{
		ContainerID: &mesos.ContainerID{Value: t.containerID},
		NetworkInfos: []mesos.NetworkInfo{{IPAddresses: []mesos.NetworkInfo_IPAddress{
			{Protocol: mesos.IPv4.Enum(), IPAddress: &ip}}}},
		ExecutorPID: &pid,
	}
}

// queueUpdate appends an executor or agent update to the task's stream of
// updates. Only the oldest unacknowledged one is sent; it is re-sent, the
// same bytes, after the retry interval, then twice that, and so on.
func (c *Cluster) queueUpdate(t *task, st *mesos.TaskStatus) {
	t.latest = st
	t.pending = append(t.pending, st)
	if len(t.pending) == 1 {
		t.backoff = c.cfg.UpdateRetryInterval
		c.sendHead(t)
	}
}

func (c *Cluster) sendHead(t *task) {
	if t.fw.gone || c.closed {
		return
	}
	head := t.pending[0]
	c.send(t.fw, updateEvent(head))
	t.retry = time.AfterFunc(t.backoff, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if len(t.pending) > 0 && t.pending[0] == head && !c.closed {
			t.backoff = min(2*t.backoff, maxUpdateBackoff)
			c.sendHead(t)
		}
	})
}

func (c *Cluster) acknowledge(fw *framework, ack *scheduler.Call_Acknowledge) {
	t := fw.tasks[ack.TaskID.Value]
	if t == nil || len(t.pending) == 0 || string(t.pending[0].UUID) != string(ack.UUID) {
		return // unknown or unexpected acknowledgement: ignored, as by the agent
	}
	if t.retry != nil {
		t.retry.Stop()
	}
	acked := t.pending[0]
	t.pending = t.pending[1:]
	if len(t.pending) > 0 {
		t.backoff = c.cfg.UpdateRetryInterval
		c.sendHead(t)
		return
	}
	if isTerminal(acked.GetState()) {
		delete(fw.tasks, t.info.TaskID.Value)
	}
}

func isTerminal(s mesos.TaskState) bool {
	switch s {
	case mesos.TASK_FINISHED, mesos.TASK_FAILED, mesos.TASK_KILLED, mesos.TASK_ERROR,
		mesos.TASK_LOST, mesos.TASK_DROPPED, mesos.TASK_GONE, mesos.TASK_GONE_BY_OPERATOR:
		return true
	}
	return false
}

// launch starts a validated task on an agent.
func (c *Cluster) launch(fw *framework, a *agent, info mesos.TaskInfo, res resources) {
	t := &task{info: info, fw: fw, agent: a, res: res, containerID: uuid.New()}
	ts := now()
	t.latest = &mesos.TaskStatus{TaskID: info.TaskID, State: mesos.TASK_STAGING.Enum(), Timestamp: &ts,
		AgentID: &mesos.AgentID{Value: a.id}}
	fw.tasks[info.TaskID.Value] = t
	c.live[t] = true
	a.used = a.used.plus(res)
	cmd := *info.Command
	user := fw.info.User
	if cmd.User != nil {
		user = *cmd.User
	}
	sandbox := filepath.Join(c.cfg.WorkDir, "slaves", a.id, "frameworks", fw.id,
		"executors", info.TaskID.Value, "runs", t.containerID)
	// What a Mesos agent's command executor passes on to its task (it has no
	// MESOS_TASK_ID: for a command task the executor id is the task id),
	// then the task's own variables.
	env := []string{
		"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
		"MESOS_SANDBOX=" + sandbox,
		"MESOS_DIRECTORY=" + sandbox,
		"MESOS_FRAMEWORK_ID=" + fw.id,
		"MESOS_EXECUTOR_ID=" + info.TaskID.Value,
		"MESOS_SLAVE_ID=" + a.id,
	}
	if cmd.Environment != nil {
		for _, v := range cmd.Environment.Variables {
			env = append(env, v.Name+"="+v.GetValue())
		}
	}
	spec := LaunchSpec{
		TaskID: info.TaskID.Value, FrameworkID: fw.id, AgentID: a.id, ContainerID: t.containerID,
		User: user, SubscriberUID: fw.uid, Command: cmd, CPUs: res.scalars["cpus"], MemMB: res.scalars["mem"],
		Sandbox: sandbox, Env: env,
	}
	c.tasks.Add(1)
	go c.run(t, spec)
}

// run is the agent's and the command executor's part of one task.
func (c *Cluster) run(t *task, spec LaunchSpec) {
	defer c.tasks.Done()
	proc, err := c.cfg.Launcher.Launch(spec)
	c.mu.Lock()
	if err != nil {
		if se, ok := err.(*SandboxError); ok {
			st := c.executorStatus(t, mesos.TASK_LOST, se.Error())
			st.Source, st.Reason = mesos.SOURCE_AGENT.Enum(), mesos.REASON_EXECUTOR_TERMINATED.Enum()
			c.finish(t, st)
		} else {
			st := c.executorStatus(t, mesos.TASK_FAILED, "Failed to launch container: "+err.Error())
			st.Source, st.Reason = mesos.SOURCE_AGENT.Enum(), mesos.REASON_CONTAINER_LAUNCH_FAILED.Enum()
			c.finish(t, st)
		}
		c.mu.Unlock()
		return
	}
	t.proc = proc
	c.queueUpdate(t, c.executorStatus(t, mesos.TASK_STARTING, ""))
	c.queueUpdate(t, c.executorStatus(t, mesos.TASK_RUNNING, ""))
	if c.closed {
		proc.Signal(syscall.SIGKILL)
	} else if t.killing {
		c.signalKill(t)
	}
	c.mu.Unlock()

	ws, err := proc.Wait()
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.killTimer != nil {
		t.killTimer.Stop()
	}
	state, msg := mesos.TASK_FAILED, "Failed to get exit status for Command"
	if err == nil {
		msg = "Command " + describeStatus(ws)
		switch {
		case ws.Exited() && ws.ExitStatus() == 0:
			state = mesos.TASK_FINISHED
		case t.killing:
			state = mesos.TASK_KILLED
		}
	}
	c.finish(t, c.executorStatus(t, state, msg))
}

// describeStatus words a wait status as the command executor does.
func describeStatus(ws syscall.WaitStatus) string {
	if ws.Signaled() {
		name := ws.Signal().String() // "terminated", "killed"
		return "terminated with signal " + strings.ToUpper(name[:1]) + name[1:]
	}
	return fmt.Sprintf("exited with status %d", ws.ExitStatus())
}

// finish frees a task's resources and queues its terminal update.
func (c *Cluster) finish(t *task, st *mesos.TaskStatus) {
	t.ended = true
	delete(c.live, t)
	t.agent.used = t.agent.used.minus(t.res)
	c.queueUpdate(t, st)
}

// killTask starts killing a task: TASK_KILLING if the framework wants it,
// SIGTERM to the task's process group, SIGKILL after the grace period.
func (c *Cluster) killTask(t *task, grace time.Duration) {
	if t.ended || t.killing {
		return
	}
	t.killing, t.grace = true, grace
	if t.proc != nil { // else run() does it once the task is launched
		c.signalKill(t)
	}
}

func (c *Cluster) signalKill(t *task) {
	if t.fw.hasCapability(mesos.FrameworkInfo_Capability_TASK_KILLING_STATE) {
		c.queueUpdate(t, c.executorStatus(t, mesos.TASK_KILLING, ""))
	}
	t.proc.Signal(syscall.SIGTERM)
	t.killTimer = time.AfterFunc(t.grace, func() {
		c.mu.Lock()
		defer c.mu.Unlock()
		if !t.ended {
			t.proc.Signal(syscall.SIGKILL)
		}
	})
}
