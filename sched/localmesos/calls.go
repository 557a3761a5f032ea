package localmesos

import (
	"fmt"
	"strings"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// dispatch carries out a validated call of a subscribed framework. Errors
// in it are not HTTP errors: like the master, it answers 202 and reports
// through the stream (TASK_LOST, TASK_ERROR, reconciliation updates).
func (c *Cluster) dispatch(fw *framework, call *scheduler.Call) {
	switch call.Type {
	case scheduler.Call_TEARDOWN:
		c.removeFramework(fw)
	case scheduler.Call_ACCEPT:
		c.accept(fw, call.Accept)
	case scheduler.Call_DECLINE:
		for _, id := range call.Decline.OfferIDs {
			if o := c.offers[id.Value]; o != nil && o.fw == fw {
				delete(c.offers, id.Value)
				fw.refuse(o.agent, o.res, call.Decline.Filters)
			}
		}
	case scheduler.Call_REVIVE:
		fw.suppressed, fw.filters = false, nil
		c.allocate()
	case scheduler.Call_SUPPRESS:
		fw.suppressed = true
	case scheduler.Call_KILL:
		t := fw.tasks[call.Kill.TaskID.Value]
		if t == nil {
			c.reconcile(fw, call.Kill.TaskID, call.Kill.AgentID)
			return
		}
		grace := defaultKillGrace
		if p := t.info.KillPolicy; p != nil && p.GracePeriod != nil {
			grace = time.Duration(p.GracePeriod.Nanoseconds)
		}
		if p := call.Kill.KillPolicy; p != nil && p.GracePeriod != nil {
			grace = time.Duration(p.GracePeriod.Nanoseconds)
		}
		c.killTask(t, grace)
	case scheduler.Call_SHUTDOWN: // a command executor's id is its task's id
		if t := fw.tasks[call.Shutdown.ExecutorID.Value]; t != nil {
			c.killTask(t, defaultKillGrace)
		}
	case scheduler.Call_ACKNOWLEDGE:
		c.acknowledge(fw, call.Acknowledge)
	case scheduler.Call_RECONCILE:
		if len(call.Reconcile.Tasks) == 0 { // implicit: every task the master knows
			for _, t := range fw.tasks {
				c.reconcile(fw, t.info.TaskID, nil)
			}
		}
		for _, t := range call.Reconcile.Tasks {
			c.reconcile(fw, t.TaskID, t.AgentID)
		}
	default:
		// MESSAGE, REQUEST, inverse offers, operations, UPDATE_FRAMEWORK:
		// accepted and ignored (no custom executors, no maintenance).
	}
}

// accept validates an ACCEPT as the master does and launches its tasks.
func (c *Cluster) accept(fw *framework, acc *scheduler.Call_Accept) {
	offers, invalid := c.takeOffers(fw, acc.OfferIDs)
	if invalid != "" {
		state := mesos.TASK_LOST
		if fw.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE) {
			state = mesos.TASK_DROPPED
		}
		for _, op := range acc.Operations {
			for _, t := range launchedTasks(op) {
				c.send(fw, updateEvent(masterStatus(t.TaskID.Value, &t.AgentID, state,
					mesos.REASON_INVALID_OFFERS, "Task launched with invalid offers: "+invalid)))
			}
		}
		return
	}
	a := offers[0].agent
	var avail resources
	for _, o := range offers {
		avail = avail.plus(o.res)
	}
	for _, op := range acc.Operations {
		for _, t := range launchedTasks(op) {
			res := fromProto(t.Resources)
			if msg := authorizeTask(fw.uid, t.Command, lookupUID); msg != "" {
				c.send(fw, updateEvent(masterStatus(t.TaskID.Value, &t.AgentID, mesos.TASK_ERROR,
					mesos.REASON_TASK_UNAUTHORIZED, msg)))
				continue
			}
			msg := c.validateTask(fw, a, t, res, avail)
			if msg == "" && op.GetType() != mesos.Offer_Operation_LAUNCH {
				msg = "localmesos runs command tasks only: LAUNCH_GROUP is not supported"
			}
			if msg != "" {
				c.send(fw, updateEvent(masterStatus(t.TaskID.Value, &t.AgentID, mesos.TASK_ERROR,
					mesos.REASON_TASK_INVALID, msg)))
				continue
			}
			avail = avail.minus(res)
			c.launch(fw, a, t, res)
		}
	}
	fw.refuse(a, avail, acc.Filters)
}

// takeOffers removes the offers an ACCEPT names, used or not, and returns
// them, or why they cannot be used together (the master's message): an
// offer gone or another framework's, offers of several agents, no offer.
func (c *Cluster) takeOffers(fw *framework, ids []mesos.OfferID) (offers []*offer, invalid string) {
	for _, id := range ids {
		o := c.offers[id.Value]
		switch {
		case o == nil || o.fw != fw:
			if invalid == "" {
				invalid = "Offer " + id.Value + " is no longer valid"
			}
		case len(offers) > 0 && o.agent != offers[0].agent:
			if invalid == "" {
				invalid = "Aggregated offers must belong to one single agent"
			}
			offers = append(offers, o)
		default:
			offers = append(offers, o)
		}
	}
	if len(ids) == 0 {
		invalid = "No offers specified"
	}
	for _, o := range offers { // used or not, the offers are gone
		delete(c.offers, o.id)
	}
	return offers, invalid
}

func launchedTasks(op mesos.Offer_Operation) []mesos.TaskInfo {
	switch {
	case op.GetType() == mesos.Offer_Operation_LAUNCH && op.Launch != nil:
		return op.Launch.TaskInfos
	case op.GetType() == mesos.Offer_Operation_LAUNCH_GROUP && op.LaunchGroup != nil:
		return op.LaunchGroup.TaskGroup.Tasks
	}
	return nil
}

// validateTask returns the master's TASK_ERROR message for an invalid task.
func (c *Cluster) validateTask(fw *framework, a *agent, t mesos.TaskInfo, res, avail resources) string {
	id := t.TaskID.Value
	switch {
	case id == "":
		return "Task ID '' is invalid: ID must not be empty"
	case id == "." || id == "..":
		return fmt.Sprintf("Task ID '%s' is invalid: '%s' is disallowed", id, id)
	case strings.ContainsFunc(id, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '/' || r == '\\' }):
		return fmt.Sprintf("Task ID '%s' is invalid: '%s' contains invalid characters", id, id)
	case fw.tasks[id] != nil:
		return "Task has duplicate ID: " + id
	case t.AgentID.Value != a.id:
		return fmt.Sprintf("Task uses invalid agent %s while agent %s is expected", t.AgentID.Value, a.id)
	case len(t.Resources) == 0:
		return "Task uses no resources"
	case (t.Command == nil) == (t.Executor == nil):
		return "Task should have at least one (but not both) of CommandInfo or ExecutorInfo present"
	case t.Executor != nil:
		return "localmesos runs command tasks only: ExecutorInfo is not supported"
	case t.Command.GetValue() == "":
		return "localmesos: the task's CommandInfo has no value"
	case !avail.contains(res):
		return fmt.Sprintf("Total resources %s required by task and its executor is more than available %s",
			res.String(fw.role()), avail.String(fw.role()))
	}
	return ""
}
