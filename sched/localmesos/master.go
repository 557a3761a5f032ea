package localmesos

import (
	"encoding/binary"
	"fmt"
	"net"
	"sort"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// The master: offers and the allocator, framework subscriptions, the
// updates the master makes up itself. Everything runs under Cluster.mu.

// masterPort is the port MasterInfo and the offers' agent URLs name
// (mesos-local's agents share the master's): the master has no TCP port
// (access.go), so they name Mesos' default.
const masterPort = 5050

func (c *Cluster) masterInfo() mesos.MasterInfo {
	ip, port := "127.0.0.1", uint32(masterPort)
	host := "localhost"
	return mesos.MasterInfo{
		ID:       c.masterID,
		IP:       binary.LittleEndian.Uint32(net.ParseIP(ip).To4()), // network byte order, as Mesos stores it
		Port:     &port,
		PID:      strptr(fmt.Sprintf("master@%s:%d", ip, masterPort)),
		Hostname: &host,
		Version:  strptr(version),
		Address:  &mesos.Address{Hostname: &host, IP: &ip, Port: masterPort},
		Capabilities: []mesos.MasterInfo_Capability{
			{Type: mesos.MasterInfo_Capability_AGENT_UPDATE},
			{Type: mesos.MasterInfo_Capability_AGENT_DRAINING},
			{Type: mesos.MasterInfo_Capability_Type(3)}, // QUOTA_V2, newer than mesos-go
		},
	}
}

func (c *Cluster) send(fw *framework, ev *scheduler.Event) {
	if fw.stream != nil && !fw.gone {
		fw.stream.send(ev)
	}
}

func updateEvent(st *mesos.TaskStatus) *scheduler.Event {
	return &scheduler.Event{Type: scheduler.Event_UPDATE, Update: &scheduler.Event_Update{Status: *st}}
}

// masterStatus is an update the master makes up: no uuid, no acknowledgement.
func masterStatus(taskID string, agentID *mesos.AgentID, state mesos.TaskState, reason mesos.TaskStatus_Reason, msg string) *mesos.TaskStatus {
	ts := now()
	return &mesos.TaskStatus{
		TaskID:    mesos.TaskID{Value: taskID},
		State:     state.Enum(),
		Message:   &msg,
		Source:    mesos.SOURCE_MASTER.Enum(),
		Reason:    reason.Enum(),
		AgentID:   agentID,
		Timestamp: &ts,
	}
}

func (c *Cluster) allocationLoop() {
	tick := time.NewTicker(c.cfg.AllocationInterval)
	defer tick.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-tick.C:
			c.mu.Lock()
			c.allocate()
			c.mu.Unlock()
		}
	}
}

// allocate offers each agent's free resources to one framework that has no
// outstanding offer there, has not suppressed offers and has not filtered
// them; frameworks holding the smallest share of CPUs go first.
func (c *Cluster) allocate() {
	if c.closed {
		return
	}
	fws, share := c.offerable(time.Now())
	offered := map[*framework][]mesos.Offer{}
	for _, a := range c.agents {
		free := c.free(a)
		if !free.allocatable() {
			continue
		}
		sort.Slice(fws, func(i, j int) bool {
			if share[fws[i]] != share[fws[j]] {
				return share[fws[i]] < share[fws[j]]
			}
			return fws[i].id < fws[j].id
		})
		for _, fw := range fws {
			if fw.filtered(a, free) {
				continue
			}
			o := &offer{id: fmt.Sprintf("%s-O%d", c.masterID, c.nextOffer), fw: fw, agent: a, res: free}
			c.nextOffer++
			c.offers[o.id] = o
			share[fw] += free.scalars["cpus"]
			offered[fw] = append(offered[fw], c.offerProto(o))
			break
		}
	}
	for _, fw := range fws {
		if len(offered[fw]) > 0 {
			c.send(fw, &scheduler.Event{Type: scheduler.Event_OFFERS, Offers: &scheduler.Event_Offers{Offers: offered[fw]}})
		}
	}
}

// offerable returns the subscribed frameworks that have not suppressed
// offers, each with its share of CPUs (its running tasks' and outstanding
// offers'), and drops their filters that expired by now.
func (c *Cluster) offerable(now time.Time) ([]*framework, map[*framework]float64) {
	var fws []*framework
	share := map[*framework]float64{}
	for _, fw := range c.frameworks {
		if fw.stream == nil || fw.suppressed {
			continue
		}
		fws = append(fws, fw)
		for _, t := range fw.tasks {
			if !t.ended {
				share[fw] += t.res.scalars["cpus"]
			}
		}
		kept := fw.filters[:0]
		for _, f := range fw.filters {
			if now.Before(f.expires) {
				kept = append(kept, f)
			}
		}
		fw.filters = kept
	}
	for _, o := range c.offers {
		share[o.fw] += o.res.scalars["cpus"]
	}
	return fws, share
}

// free is what agent a has neither in use nor offered. Like Mesos'
// hierarchical allocator, allocate offers it even to a framework that holds
// an older offer of a: a framework may get several offers of one agent (and
// accept them together).
func (c *Cluster) free(a *agent) resources {
	free := a.total.minus(a.used)
	for _, o := range c.offers {
		if o.agent == a {
			free = free.minus(o.res)
		}
	}
	return free
}

func (fw *framework) filtered(a *agent, res resources) bool {
	for _, f := range fw.filters {
		if f.agent == a && f.res.contains(res) {
			return true
		}
	}
	return false
}

func (fw *framework) refuse(a *agent, res resources, filters *mesos.Filters) {
	secs := filters.GetRefuseSeconds() // 5 s when unset, as in the .proto
	if secs > 0 && !res.empty() {
		fw.filters = append(fw.filters, filter{a, res, time.Now().Add(time.Duration(secs * float64(time.Second)))})
	}
}

func (c *Cluster) offerProto(o *offer) mesos.Offer {
	multiRole := o.fw.hasCapability(mesos.FrameworkInfo_Capability_MULTI_ROLE)
	a := o.agent
	p := mesos.Offer{
		ID:          mesos.OfferID{Value: o.id},
		FrameworkID: mesos.FrameworkID{Value: o.fw.id},
		AgentID:     mesos.AgentID{Value: a.id},
		Hostname:    a.hostname,
		URL: &mesos.URL{Scheme: "http", Path: strptr(fmt.Sprintf("/slave(%d)", a.index+1)),
			Address: mesos.Address{Hostname: strptr(a.hostname), IP: strptr(a.ip), Port: masterPort}},
		Resources: o.res.toProto(o.fw.role(), multiRole),
	}
	if multiRole {
		p.AllocationInfo = &mesos.Resource_AllocationInfo{Role: strptr(o.fw.role())}
	}
	return p
}

// dropOffers withdraws a framework's outstanding offers (their resources
// go back to the pool).
func (c *Cluster) dropOffers(fw *framework) {
	for id, o := range c.offers {
		if o.fw == fw {
			delete(c.offers, id)
		}
	}
}

// subscribe registers a framework (or fails one over) on stream s.
func (c *Cluster) subscribe(uid uint32, info mesos.FrameworkInfo, s *stream) {
	var fw *framework
	refuse := func(msg string) {
		s.send(&scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: msg}})
		s.end()
	}
	var prior *uint32
	if info.ID != nil {
		if fw := c.frameworks[info.ID.Value]; fw != nil {
			prior = &fw.uid
		}
	}
	if msg := authorizeFramework(uid, info.User, prior, lookupUID); msg != "" {
		refuse(msg)
		return
	}
	if info.ID != nil {
		id := info.ID.Value
		if c.removed[id] {
			refuse("Framework has been removed")
			return
		}
		if fw = c.frameworks[id]; fw != nil { // failover
			if fw.stream != nil {
				fw.stream.send(&scheduler.Event{Type: scheduler.Event_ERROR, Error: &scheduler.Event_Error{Message: "Framework failed over"}})
				fw.stream.end()
			}
			if fw.failover != nil {
				fw.failover.Stop()
			}
			c.dropOffers(fw)
		}
	}
	if fw == nil {
		id := ""
		if info.ID != nil {
			id = info.ID.Value // an id this master never saw is taken as is
		} else {
			id = fmt.Sprintf("%s-%04d", c.masterID, c.nextFW)
			c.nextFW++
		}
		fw = &framework{id: id, tasks: map[string]*task{}}
		c.frameworks[id] = fw
	}
	info.ID = &mesos.FrameworkID{Value: fw.id}
	fw.info, fw.stream, fw.uid = info, s, uid
	hb := c.cfg.HeartbeatInterval.Seconds()
	mi := c.masterInfo()
	s.send(&scheduler.Event{Type: scheduler.Event_SUBSCRIBED, Subscribed: &scheduler.Event_Subscribed{
		FrameworkID: info.ID, HeartbeatIntervalSeconds: &hb, MasterInfo: &mi}})
	s.send(&scheduler.Event{Type: scheduler.Event_HEARTBEAT})
	for _, t := range fw.tasks { // re-send what the old stream did not get acknowledged
		if len(t.pending) > 0 {
			c.send(fw, updateEvent(t.pending[0]))
		}
	}
	c.allocate()
}

// streamBroken is called when writing to a framework's stream failed: the
// scheduler went away. As the master, remove the framework now if its
// failover timeout is 0, else after the timeout unless it re-subscribes.
func (c *Cluster) streamBroken(s *stream) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, fw := range c.frameworks {
		if fw.stream != s {
			continue
		}
		fw.stream = nil
		c.dropOffers(fw)
		timeout := time.Duration(fw.info.GetFailoverTimeout() * float64(time.Second))
		if timeout <= 0 {
			c.removeFramework(fw)
			return
		}
		fw.failover = time.AfterFunc(timeout, func() {
			c.mu.Lock()
			defer c.mu.Unlock()
			if fw.stream == nil && !fw.gone {
				c.removeFramework(fw)
			}
		})
	}
}

// removeFramework ends its stream, withdraws its offers and kills its
// tasks; their resources return when the processes are gone.
func (c *Cluster) removeFramework(fw *framework) {
	fw.gone = true
	if fw.stream != nil {
		fw.stream.end()
	}
	c.dropOffers(fw)
	for _, t := range fw.tasks {
		c.killTask(t, teardownKillGrace)
		if t.retry != nil {
			t.retry.Stop()
		}
	}
	delete(c.frameworks, fw.id)
	c.removed[fw.id] = true
}

// reconcile answers for one task as the master does.
func (c *Cluster) reconcile(fw *framework, taskID mesos.TaskID, agentID *mesos.AgentID) {
	if t := fw.tasks[taskID.Value]; t != nil {
		st := masterStatus(taskID.Value, &mesos.AgentID{Value: t.agent.id}, t.latest.GetState(),
			mesos.REASON_RECONCILIATION, "Reconciliation: Latest task state")
		st.ContainerStatus = t.latest.ContainerStatus
		c.send(fw, updateEvent(st))
		return
	}
	partitionAware := fw.hasCapability(mesos.FrameworkInfo_Capability_PARTITION_AWARE)
	if agentID != nil && c.agent(agentID.Value) != nil {
		state := mesos.TASK_LOST
		if partitionAware {
			state = mesos.TASK_GONE
		}
		c.send(fw, updateEvent(masterStatus(taskID.Value, agentID, state, mesos.REASON_RECONCILIATION,
			"Reconciliation: Task is unknown to the agent")))
		return
	}
	state := mesos.TASK_LOST
	if partitionAware {
		state = mesos.TASK_UNKNOWN
	}
	c.send(fw, updateEvent(masterStatus(taskID.Value, agentID, state, mesos.REASON_RECONCILIATION,
		"Reconciliation: Task is unknown")))
}

func (c *Cluster) agent(id string) *agent {
	for _, a := range c.agents {
		if a.id == id {
			return a
		}
	}
	return nil
}
