package sched

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
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

// maxCap bounds an agent's capacity in slots, so that huge or tiny numbers
// from the master cannot overflow the conversion to an integer.
const maxCap = 1 << 31

// tol is the float tolerance on an amount x of a resource: sums such as
// 0.1+0.2 and quotients such as 0.3/0.1 must not lose a slot. It is relative
// (1e-12): thousands of times float64's rounding error, so sums of many
// offers keep their slots, and, for any amount below 10^8, under a tenth of
// Mesos' fixed-point resolution (0.001), so Mesos never sees a request above
// the offer.
func tol(x float64) float64 { return 1e-12 * math.Max(1, x) }

// fit returns how many times per fits into have: the largest k <= maxCap with
// k*per <= have + tol(have). per == 0 means the resource does not limit.
func fit(have, per float64) int64 {
	if per == 0 {
		return maxCap
	}
	limit := have + tol(have)
	q := limit / per
	if !(q < maxCap) {
		return maxCap
	}
	k := int64(q)
	for k > 0 && float64(k)*per > limit {
		k--
	}
	return k
}

// validHostname accepts what can go into mpiexec's "-hosts h1:k1,h2:k2" list
// unambiguously: letters, digits, '.', '-' and '_', starting with a letter or
// digit, at most 253 bytes. (IPv6 literals, with their ':', cannot.)
func validHostname(h string) bool {
	if len(h) == 0 || len(h) > 253 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

func validAmount(x float64) bool { return x >= 0 && !math.IsInf(x, 0) } // false for NaN

// agent is the pooled, validated offers of one agent.
type agent struct {
	id, host  string
	ok        bool     // hostname valid and consistent
	offerIDs  []string // usable offers, sorted
	cpus, mem float64  // pooled, summed in offer-id order
	raw       int64    // capacity in slots, 1 <= raw <= maxCap
	eff       int64    // min(raw, Procs-Nodes+1): the most one host can take
	order     int      // position in host order
	slots     int64    // assigned
}

// pool validates the untrusted offers and pools them per agent. It returns
// the agents that can take at least one rank, in hostname/agent-id order.
//
// Rules, all independent of the order of the offers:
//   - an offer ID that appears more than once is used once if every copy is
//     identical, and not at all otherwise;
//   - offers with an empty ID or AgentID, or a NaN, infinite or negative
//     amount, are skipped;
//   - an agent whose offers disagree on its hostname, or name one that
//     validHostname refuses, is skipped entirely.
func pool(job Job, unsafeOffers []Offer) []*agent {
	offers := make([]Offer, 0, len(unsafeOffers)) // never sort the caller's slice
	for _, o := range unsafeOffers {
		if o.ID != "" {
			offers = append(offers, o)
		}
	}
	slices.SortFunc(offers, func(a, b Offer) int { return strings.Compare(a.ID, b.ID) })

	byID := make(map[string]*agent)
	var agents []*agent
	for i := 0; i < len(offers); {
		o, j, same := offers[i], i+1, true
		for ; j < len(offers) && offers[j].ID == o.ID; j++ {
			same = same && offers[j] == o
		}
		i = j
		if !same || o.AgentID == "" {
			continue
		}
		a := byID[o.AgentID]
		if a == nil {
			a = &agent{id: o.AgentID, host: o.Hostname, ok: validHostname(o.Hostname)}
			byID[o.AgentID] = a
			agents = append(agents, a)
		} else if a.host != o.Hostname {
			a.ok = false
		}
		if !validAmount(o.CPUs) || !validAmount(o.MemMB) {
			continue
		}
		a.offerIDs = append(a.offerIDs, o.ID) // in ID order: sums are reproducible
		a.cpus += o.CPUs
		a.mem += o.MemMB
	}

	maxEff := int64(job.Procs - job.Nodes + 1)
	usable := agents[:0]
	for _, a := range agents {
		if !a.ok || len(a.offerIDs) == 0 {
			continue
		}
		a.raw = min(fit(a.cpus, job.CPUsPerProc), fit(a.mem, job.MemPerProc))
		if a.raw < 1 {
			continue
		}
		a.eff = min(a.raw, maxEff)
		usable = append(usable, a)
	}
	slices.SortFunc(usable, hostCmp)
	for i, a := range usable {
		a.order = i
	}
	return usable
}

// hostCmp orders agents by hostname, then agent id (unique).
func hostCmp(a, b *agent) int {
	if c := strings.Compare(a.host, b.host); c != 0 {
		return c
	}
	return strings.Compare(a.id, b.id)
}

// byOrder restores host order on chosen agents.
func byOrder(a, b *agent) int { return a.order - b.order }

// Place decides where a gang-scheduled MPI job runs, given the offers in hand.
// It is a pure function: no I/O, and the same set of offers, in any order,
// gives the identical Plan. It never modifies unsafeOffers.
//
// The offers are untrusted. An offer ID given more than once counts once if
// every copy is identical and not at all otherwise. Place skips offers with an
// empty ID or AgentID, or a NaN, infinite or negative amount, and agents whose
// offers name an unusable or inconsistent Hostname (see Offer). The offers of
// one agent are pooled (their cpus and mem summed), and the agent can take
//
//	slots = min(floor(cpus/c), floor(mem/m))   (only cpus when m == 0)
//
// ranks, with a relative tolerance of 1e-12 so that float sums like 0.1+0.2
// do not lose a slot; a Host never requests more than its pooled offers hold.
//
// The Plan has exactly job.Nodes hosts on distinct agents, each with
// 1 <= Slots <= its agent's slots, and Slots adding up to job.Procs; it is
// found whenever one exists, with either Strategy. Otherwise Place returns an
// empty Plan and an error: one that wraps ErrInvalidJob for a malformed job,
// or an *InsufficientError saying what was missing.
//
// The caller declines every offer not named in the Plan.
func Place(job Job, unsafeOffers []Offer) (Plan, error) {
	if err := job.Validate(); err != nil {
		return Plan{}, err
	}
	agents := pool(job, unsafeOffers)
	if err := feasible(job, agents); err != nil {
		return Plan{}, err
	}

	var chosen []*agent
	switch job.Strategy {
	case BestFit:
		chosen = chooseBestFit(job, agents)
		slices.SortFunc(chosen, byOrder)
		dealRoundRobin(job, chosen)
	default:
		chosen = chooseFirstFit(job, agents)
		slices.SortFunc(chosen, byOrder)
		packInOrder(job, chosen)
	}

	plan := Plan{Hosts: make([]Host, len(chosen))}
	for i, a := range chosen {
		plan.Hosts[i] = Host{
			AgentID:  a.id,
			Hostname: a.host,
			OfferIDs: a.offerIDs,
			Slots:    int(a.slots),
			// fit guarantees Slots*c <= pooled+tol; clamping to the pooled
			// amount makes the request never exceed the offers at all.
			CPUs:  math.Min(float64(a.slots)*job.CPUsPerProc, a.cpus),
			MemMB: math.Min(float64(a.slots)*job.MemPerProc, a.mem),
		}
	}
	return plan, nil
}

// feasible returns an *InsufficientError unless some job.Nodes agents can hold
// job.Procs ranks. Since each chosen agent needs at least one rank and
// job.Procs >= job.Nodes, that is so exactly when there are job.Nodes usable
// agents and the largest job.Nodes capacities add up to job.Procs.
func feasible(job Job, agents []*agent) error {
	procs := int64(job.Procs)
	caps := make([]int64, len(agents))
	for i, a := range agents {
		caps[i] = min(a.raw, procs)
	}
	slices.SortFunc(caps, func(a, b int64) int { return cmp.Compare(b, a) })
	k := min(len(caps), job.Nodes)
	var room int64
	for _, c := range caps[:k] {
		room += c // at most MaxProcs terms of at most MaxProcs: no overflow
	}
	if k == job.Nodes && room >= procs {
		return nil
	}
	return &InsufficientError{Job: job, Nodes: k, Ranks: int(min(room, procs))}
}

// chooseFirstFit takes the first job.Nodes agents in host order. If their
// capacities fall short of job.Procs it repairs the choice with the fewest
// swaps: repeatedly the smallest chosen agent (the later one on ties) for the
// largest unchosen one (the earlier one on ties). Done to the end, that gives
// the largest job.Nodes capacities, so it succeeds whenever feasible does.
func chooseFirstFit(job Job, agents []*agent) []*agent {
	chosen := slices.Clone(agents[:job.Nodes])
	var sum int64
	for _, a := range chosen {
		sum += a.eff
	}
	procs := int64(job.Procs)
	if sum >= procs {
		return chosen
	}
	slices.SortFunc(chosen, func(a, b *agent) int {
		if c := cmp.Compare(a.eff, b.eff); c != 0 {
			return c
		}
		return b.order - a.order
	})
	rest := slices.Clone(agents[job.Nodes:])
	slices.SortStableFunc(rest, func(a, b *agent) int { return cmp.Compare(b.eff, a.eff) })
	for i := 0; i < len(chosen) && i < len(rest) && sum < procs && rest[i].eff > chosen[i].eff; i++ {
		sum += rest[i].eff - chosen[i].eff
		chosen[i] = rest[i]
	}
	return chosen
}

// chooseBestFit prefers agents that fit an even share tightly. With
// lo = Procs/Nodes and r = Procs%Nodes, an even split gives r hosts lo+1 ranks
// and Nodes-r hosts lo. Agents are ranked: those with exactly lo slots (at
// most Nodes-r of them, in host order), then those with more, smallest first,
// then the remaining exact ones, then the smaller ones, largest first (host
// order on ties); the first Nodes are taken. When enough agents can take an
// even share this takes the tightest ones; when not, it takes the largest
// Nodes capacities, so it succeeds whenever feasible does.
func chooseBestFit(job Job, agents []*agent) []*agent {
	lo := int64(job.Procs / job.Nodes)
	r := job.Procs % job.Nodes
	var exact, above, below []*agent
	for _, a := range agents { // host order; stable sorts keep it on ties
		switch {
		case a.raw == lo:
			exact = append(exact, a)
		case a.raw > lo:
			above = append(above, a)
		default:
			below = append(below, a)
		}
	}
	slices.SortStableFunc(above, func(a, b *agent) int { return cmp.Compare(a.raw, b.raw) })
	slices.SortStableFunc(below, func(a, b *agent) int { return cmp.Compare(b.raw, a.raw) })
	first := min(len(exact), job.Nodes-r)
	ranked := make([]*agent, 0, len(agents))
	ranked = append(ranked, exact[:first]...)
	ranked = append(ranked, above...)
	ranked = append(ranked, exact[first:]...)
	ranked = append(ranked, below...)
	return ranked[:job.Nodes]
}

// packInOrder gives every host one rank, then fills hosts up to capacity in
// host order.
func packInOrder(job Job, hosts []*agent) {
	left := int64(job.Procs - len(hosts))
	for _, a := range hosts {
		extra := min(a.eff-1, left)
		a.slots = 1 + extra
		left -= extra
	}
}

// dealRoundRobin deals ranks one at a time to the hosts in host order,
// skipping full hosts, as if in rounds: every host gets min(capacity, L) and
// the first hosts with room left get one more, where L is the highest level
// whose rounds do not exceed job.Procs ranks.
func dealRoundRobin(job Job, hosts []*agent) {
	procs := int64(job.Procs)
	level := func(l int64) int64 {
		var s int64
		for _, a := range hosts {
			s += min(a.eff, l)
		}
		return s
	}
	lo, hi := int64(1), procs // level(1) = len(hosts) <= Procs
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if level(mid) <= procs {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	left := procs - level(lo)
	for _, a := range hosts {
		a.slots = min(a.eff, lo)
		if left > 0 && a.eff > lo {
			a.slots++
			left--
		}
	}
}
