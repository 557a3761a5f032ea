package placement

import (
	"cmp"
	"slices"
)

// Ranking, the second step of Place: the feasible agents in the order the
// job's strategy prefers them.

// rank orders the feasible agents (in host order) by preference: host order
// for FirstFit, the tightest fit of an even share for BestFit.
func rank(job Job, agents []*agent) []*agent {
	if job.Strategy == BestFit {
		return rankBestFit(job, agents)
	}
	return agents
}

// rankBestFit prefers agents that fit an even share tightly. With
// lo = Procs/Nodes and r = Procs%Nodes, an even split gives r hosts lo+1 ranks
// and Nodes-r hosts lo. Agents are ranked: those with exactly lo slots (at
// most Nodes-r of them, in host order), then those with more, smallest first,
// then the remaining exact ones, then the smaller ones, largest first (host
// order on ties). When enough agents can take an even share the first Nodes
// are the tightest ones; when not, they are the largest Nodes capacities, so
// selecting them succeeds whenever gangFeasible does.
func rankBestFit(job Job, agents []*agent) []*agent {
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
	return ranked
}
