package sched

import (
	"bufio"
	"fmt"
	"io"
	"os/exec"
	"strconv"
	"syscall"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/sockerhpc/socker/sched/placement"
)

// place decides where the job runs on the offers held; it launches nothing.
func (j *jobRun) place() (placement.Plan, error) {
	return placement.Place(j.o.Job, j.heldOffers())
}

// heldOffers are the offers held, as placement reads them: the offer, its
// agent and hostname, and its scalar cpus and mem. placement checks them.
func (j *jobRun) heldOffers() []placement.Offer {
	var offers []placement.Offer
	for _, of := range j.offers {
		o := placement.Offer{ID: of.GetID().Value, AgentID: of.GetAgentID().Value, Hostname: of.GetHostname()}
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
	return offers
}

// launch runs the job as plan says: it starts mpiexec for the plan, launches
// one proxy task per host on that host's offers, and declines the other
// offers held.
func (j *jobRun) launch(plan placement.Plan) error {
	j.plan = plan
	j.progress("placed: %s", HostsArg(plan))
	launches, err := j.startMpiexec()
	if err != nil {
		j.declineAll()
		return err
	}
	j.o.Timings.Mark("mpiexec started (launch lines read)")
	j.agentOf, j.hostOf = map[string]mesos.AgentID{}, map[string]string{}
	for i, h := range plan.Hosts {
		if err := j.launchProxy(i, h, launches[i]); err != nil {
			return err
		}
	}
	j.o.Timings.Mark("tasks launched (ACCEPT sent)")
	j.declineAll()
	j.progress("launched %d tasks", len(plan.Hosts))
	if j.o.TimeLimit > 0 {
		j.limit = time.After(j.o.TimeLimit)
	}
	return nil
}

// launchProxy accepts host h's offers with one task, the job's i-th, which
// runs proxy p through socker.
func (j *jobRun) launchProxy(i int, h placement.Host, p ProxyLaunch) error {
	task := j.proxyTask(i, h, p)
	id := task.TaskID.Value
	var ids []mesos.OfferID
	for _, oid := range h.OfferIDs {
		ids = append(ids, mesos.OfferID{Value: oid})
		delete(j.offers, oid)
	}
	j.tasks[id] = nil
	j.agentOf[id] = task.AgentID
	j.hostOf[id] = h.Hostname
	if err := j.call(calls.Accept(calls.OfferOperations{calls.OpLaunch(task)}.WithOffers(ids...))); err != nil {
		return fmt.Errorf("launching on %s: %w", h.Hostname, err)
	}
	return nil
}

// proxyTask is the job's i-th task: on host h, with h's resources, running
// `socker run ... IMAGE -- hydra_pmi_proxy ARGS` without a shell, killed
// with the job's kill grace.
func (j *jobRun) proxyTask(i int, h placement.Host, p ProxyLaunch) mesos.TaskInfo {
	argv := ProxyCommand(j.o.Socker, j.o.Image, j.o.Mounts, p)
	shell := false
	return mesos.TaskInfo{
		Name:    fmt.Sprintf("mrun proxy %d", i),
		TaskID:  mesos.TaskID{Value: fmt.Sprintf("%s-proxy-%d", j.fwID, i)},
		AgentID: mesos.AgentID{Value: h.AgentID},
		Resources: []mesos.Resource{
			scalar("cpus", h.CPUs), scalar("mem", h.MemMB),
		},
		Command:    &mesos.CommandInfo{Shell: &shell, Value: &argv[0], Arguments: argv},
		KillPolicy: &mesos.KillPolicy{GracePeriod: &mesos.DurationInfo{Nanoseconds: j.killGrace().Nanoseconds()}},
	}
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
	var stdout io.Writer = j.o.Stdout
	if t := j.o.Timings; t != nil {
		stdout = &firstWrite{w: stdout, first: func() { t.Mark("first output") }}
	}
	go func() {
		defer close(j.copied)
		io.Copy(stdout, r)
		j.mpiDone <- cmd.Wait()
	}()
	return launches, nil
}
