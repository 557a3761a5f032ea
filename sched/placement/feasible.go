package placement

import (
	"cmp"
	"math"
	"slices"
	"strings"
)

// Feasibility, the first step of Place: which agents can take a share of
// the job, and whether together they can hold it.

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

// feasibleAgents validates the untrusted offers and pools them per agent
// (uniqueOffers gives each offer once). It returns the agents that can take
// at least one rank, in hostname/agent-id order.
//
// Rules, all independent of the order of the offers:
//   - an offer ID that appears more than once is used once if every copy is
//     identical, and not at all otherwise;
//   - offers with an empty ID or AgentID, or a NaN, infinite or negative
//     amount, are skipped;
//   - an agent whose offers disagree on its hostname, or name one that
//     validHostname refuses, is skipped entirely.
func feasibleAgents(job Job, unsafeOffers []Offer) []*agent {
	byID := make(map[string]*agent)
	var agents []*agent
	for _, o := range uniqueOffers(unsafeOffers) {
		if o.AgentID == "" {
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

// uniqueOffers returns the offers with a non-empty ID sorted by ID, each ID
// once: an ID given more than once is kept if every copy is identical, and
// dropped otherwise. It never sorts the caller's slice.
func uniqueOffers(unsafeOffers []Offer) []Offer {
	offers := make([]Offer, 0, len(unsafeOffers))
	for _, o := range unsafeOffers {
		if o.ID != "" {
			offers = append(offers, o)
		}
	}
	slices.SortFunc(offers, func(a, b Offer) int { return strings.Compare(a.ID, b.ID) })
	unique := offers[:0]
	for i := 0; i < len(offers); {
		o, j, same := offers[i], i+1, true
		for ; j < len(offers) && offers[j].ID == o.ID; j++ {
			same = same && offers[j] == o
		}
		i = j
		if same {
			unique = append(unique, o)
		}
	}
	return unique
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

// gangFeasible returns an *InsufficientError unless some job.Nodes agents can hold
// job.Procs ranks. Since each chosen agent needs at least one rank and
// job.Procs >= job.Nodes, that is so exactly when there are job.Nodes usable
// agents and the largest job.Nodes capacities add up to job.Procs.
func gangFeasible(job Job, agents []*agent) error {
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
