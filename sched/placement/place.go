package placement

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
	agents := feasibleAgents(job, unsafeOffers)
	if err := gangFeasible(job, agents); err != nil {
		return Plan{}, err
	}
	return planOf(job, selectGang(job, rank(job, agents))), nil
}
