// Package placement decides where a gang-scheduled MPI job runs: Place, a
// pure function from a Job (`mrun -N -n -c -m --strategy`) and the offers in
// hand to a Plan of exactly Job.Nodes hosts, or nothing. It has no I/O, no
// clock and no randomness: the same set of offers, in any order, gives the
// same Plan, so it is table- and property-tested (and benchmarked,
// BenchmarkPlace).
//
// Place runs in three steps, as Nomad's scheduler does:
//   - feasible (feasible.go): validate the untrusted offers, pool them per
//     agent, keep the agents that can take at least one rank, and check that
//     Job.Nodes of them can hold Job.Procs ranks (else an *InsufficientError);
//   - rank (rank.go): order those agents as the strategy prefers them: host
//     order for first fit, the tightest fit of an even share for best fit;
//   - select (select.go): take Job.Nodes of them (first fit repairs its
//     choice with the fewest swaps), give each its ranks, and make the Plan.
//
// What belongs here: the job and offer types Place reads, the Plan it
// returns, and the arithmetic of fitting ranks into offers.
//
// What does not: anything that talks to Mesos (turning mesos.Offer into
// Offer, accepting and declining, launching: package sched), hydra's
// arguments for a Plan (package sched), and the command line.
package placement
