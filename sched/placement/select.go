package placement

import (
	"cmp"
	"math"
	"slices"
)

// Selection, the last step of Place: the gang (job.Nodes of the ranked
// agents, all or nothing), each host's ranks, and the Plan.

// selectGang takes job.Nodes of the ranked agents, in host order, and gives
// each its slots: BestFit takes the first ones and deals the ranks out
// round-robin; FirstFit takes the first ones, repaired with the fewest swaps
// if they cannot hold the job, and packs the ranks in host order.
func selectGang(job Job, ranked []*agent) []*agent {
	if job.Strategy == BestFit {
		chosen := ranked[:job.Nodes]
		slices.SortFunc(chosen, byOrder)
		dealRoundRobin(job, chosen)
		return chosen
	}
	chosen := selectFirstFit(job, ranked)
	slices.SortFunc(chosen, byOrder)
	packInOrder(job, chosen)
	return chosen
}

// planOf is the Plan of the chosen agents, in host order.
func planOf(job Job, chosen []*agent) Plan {
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
	return plan
}

// selectFirstFit takes the first job.Nodes agents in host order. If their
// capacities fall short of job.Procs it repairs the choice with the fewest
// swaps: repeatedly the smallest chosen agent (the later one on ties) for the
// largest unchosen one (the earlier one on ties). Done to the end, that gives
// the largest job.Nodes capacities, so it succeeds whenever gangFeasible
// does.
func selectFirstFit(job Job, agents []*agent) []*agent {
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
