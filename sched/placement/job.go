package placement

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// Strategy selects which agents Place chooses when more can hold the job
// than it needs. Both strategies find a placement whenever one exists.
type Strategy int

const (
	// FirstFit (the zero value, the default) takes the first Job.Nodes usable
	// agents in hostname/agent-id order and packs ranks onto them in that
	// order. If those agents cannot hold Job.Procs ranks, it swaps as few of
	// them as possible for larger agents.
	FirstFit Strategy = iota
	// BestFit takes the agents whose capacity fits an even share of the
	// ranks most tightly (least left over) and deals the ranks out round-robin,
	// so that every host gets the same number of ranks (±1) when it can.
	BestFit
)

// String returns "first-fit", "best-fit" or "Strategy(N)".
func (s Strategy) String() string {
	switch s {
	case FirstFit:
		return "first-fit"
	case BestFit:
		return "best-fit"
	}
	return "Strategy(" + strconv.Itoa(int(s)) + ")"
}

// MaxProcs is the largest Job.Procs Place accepts. It keeps every sum of
// slots far from integer overflow.
const MaxProcs = 1 << 30

// Job is what an MPI job needs from the cluster: `mrun -N Nodes -n Procs
// -c CPUsPerProc -m MemPerProc`.
type Job struct {
	// Nodes (N) is the number of distinct agents the job runs on, all or
	// nothing (gang): one task, one container and one hydra proxy per agent.
	Nodes int
	// Procs (n) is the number of MPI ranks in total; Procs >= Nodes, since
	// every node runs at least one rank.
	Procs int
	// CPUsPerProc (c) is the cpus each rank needs; it must be > 0.
	CPUsPerProc float64
	// MemPerProc (m) is the memory each rank needs, in MB; 0 means memory
	// does not limit how many ranks fit on an agent.
	MemPerProc float64
	// Strategy chooses the agents; the zero value is FirstFit.
	Strategy Strategy
}

// ErrInvalidJob is wrapped by every error Job.Validate (and so Place)
// returns for a job that can never be placed, whatever the offers.
var ErrInvalidJob = errors.New("invalid job")

// Validate reports whether the job is well formed: 1 <= Nodes <= Procs <=
// MaxProcs, CPUsPerProc finite and > 0, MemPerProc finite and >= 0, and a
// known Strategy. The error wraps ErrInvalidJob.
func (j Job) Validate() error {
	switch {
	case j.Nodes < 1:
		return fmt.Errorf("%w: %d nodes: need at least 1", ErrInvalidJob, j.Nodes)
	case j.Procs < j.Nodes:
		return fmt.Errorf("%w: %d procs for %d nodes: need at least one proc per node", ErrInvalidJob, j.Procs, j.Nodes)
	case j.Procs > MaxProcs:
		return fmt.Errorf("%w: %d procs: at most %d", ErrInvalidJob, j.Procs, MaxProcs)
	case !(j.CPUsPerProc > 0) || math.IsInf(j.CPUsPerProc, 0):
		return fmt.Errorf("%w: cpus per proc %v: need a finite number > 0", ErrInvalidJob, j.CPUsPerProc)
	case !(j.MemPerProc >= 0) || math.IsInf(j.MemPerProc, 0):
		return fmt.Errorf("%w: memory per proc %v MB: need a finite number >= 0", ErrInvalidJob, j.MemPerProc)
	case j.Strategy != FirstFit && j.Strategy != BestFit:
		return fmt.Errorf("%w: unknown placement strategy %d", ErrInvalidJob, int(j.Strategy))
	}
	return nil
}

// Offer is the part of a Mesos resource offer Place looks at. Offers come from
// the master and are untrusted: see Place for what is checked.
type Offer struct {
	// ID is the offer id; an offer is accepted or declined by it.
	ID string
	// AgentID is the id of the agent the resources are on.
	AgentID string
	// Hostname is the agent's hostname, as given to mpiexec's -hosts list.
	// Place uses an agent only if all its offers name the same hostname made
	// of letters, digits, '.', '-' and '_' (starting with a letter or digit,
	// at most 253 bytes): nothing that could break or extend that list.
	Hostname string
	// CPUs is the scalar "cpus" resource offered.
	CPUs float64
	// MemMB is the scalar "mem" resource offered, in MB.
	MemMB float64
}

// Host is one agent of a Plan: one Mesos task, one container, one hydra proxy.
type Host struct {
	// AgentID is the agent the task is launched on.
	AgentID string
	// Hostname is the agent's hostname.
	Hostname string
	// OfferIDs lists, sorted, every usable offer of this agent. They are
	// pooled: the task's ACCEPT names all of them (Mesos accepts several
	// offers of one agent in one call).
	OfferIDs []string
	// Slots is the number of ranks placed here (>= 1).
	Slots int
	// CPUs is the cpus the task requests: Slots*CPUsPerProc, never more than
	// the offers pooled in OfferIDs hold.
	CPUs float64
	// MemMB is the memory the task requests, in MB: Slots*MemPerProc, never
	// more than the offers pooled in OfferIDs hold.
	MemMB float64
}

// Plan is a gang placement: exactly Job.Nodes hosts on distinct agents whose
// Slots add up to Job.Procs.
type Plan struct {
	// Hosts is ordered by hostname, then agent id; Hosts[i] runs hydra
	// proxy i.
	Hosts []Host
}

// InsufficientError is Place's error when the offers cannot hold the job. The
// scheduler keeps waiting for offers on it (until its timeout), unlike an
// invalid job.
type InsufficientError struct {
	// Job is the job that did not fit.
	Job Job
	// Nodes is the number of agents that could take at least one rank, at
	// most Job.Nodes.
	Nodes int
	// Ranks is the number of ranks those Nodes agents could hold together
	// (each counted at most Job.Procs), at most Job.Procs.
	Ranks int
}

// Error says, on one line, what was needed and the best the offers gave, e.g.
// "need 4 nodes with 2 cpus and 512 MB each for 10 ranks; best seen: 3 nodes
// with room for 7 ranks".
func (e *InsufficientError) Error() string {
	return fmt.Sprintf("need %s with %s and %s MB each for %s; best seen: %s with room for %s",
		plural(e.Job.Nodes, "node"), plural(e.Job.CPUsPerProc, "cpu"), num(e.Job.MemPerProc),
		plural(e.Job.Procs, "rank"), plural(e.Nodes, "node"), plural(e.Ranks, "rank"))
}

// num formats an amount as short as it can be read back: 0.5, 512, 1e-09.
func num(f float64) string {
	if a := math.Abs(f); a != 0 && (a < 1e-4 || a >= 1e15) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

func plural[T int | float64](n T, unit string) string {
	s := num(float64(n)) + " " + unit
	if n != 1 {
		s += "s"
	}
	return s
}
