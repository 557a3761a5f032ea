package placement

import (
	"errors"
	"fmt"
	"math"
	"math/rand"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
)

// ---- table tests -----------------------------------------------------------

func off(id, agentID, host string, cpus, mem float64) Offer {
	return Offer{ID: id, AgentID: agentID, Hostname: host, CPUs: cpus, MemMB: mem}
}

func TestPlaceTable(t *testing.T) {
	nan, inf := math.NaN(), math.Inf(1)
	good := []Offer{off("o1", "a1", "n1", 2, 1024), off("o2", "a2", "n2", 2, 1024)}
	goodPlan := Plan{Hosts: []Host{
		{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 2, CPUs: 2, MemMB: 1024},
		{AgentID: "a2", Hostname: "n2", OfferIDs: []string{"o2"}, Slots: 2, CPUs: 2, MemMB: 1024},
	}}
	both := []Strategy{FirstFit, BestFit}

	tests := []struct {
		name       string
		job        Job
		strategies []Strategy // the job's Strategy is overwritten by each
		offers     []Offer
		want       Plan
		wantErr    string
	}{
		{
			name: "exact fit", job: Job{Nodes: 2, Procs: 4, CPUsPerProc: 1, MemPerProc: 512}, strategies: both,
			offers: good, want: goodPlan,
		},
		{
			name: "one node short", job: Job{Nodes: 4, Procs: 10, CPUsPerProc: 2, MemPerProc: 512}, strategies: both,
			offers: []Offer{
				off("o1", "a1", "n1", 6, 4096), // 3 slots
				off("o2", "a2", "n2", 4, 2048), // 2
				off("o3", "a3", "n3", 4, 1024), // 2
				off("o4", "a4", "n4", 1, 8192), // 0: too few cpus
				off("o5", "a5", "n5", 8, 511),  // 0: too little memory
			},
			wantErr: "need 4 nodes with 2 cpus and 512 MB each for 10 ranks; best seen: 3 nodes with room for 7 ranks",
		},
		{
			name: "capacity short", job: Job{Nodes: 2, Procs: 5, CPUsPerProc: 1}, strategies: both,
			offers:  []Offer{off("o1", "a1", "n1", 2, 0), off("o2", "a2", "n2", 2, 0), off("o3", "a3", "n3", 1, 0)},
			wantErr: "need 2 nodes with 1 cpu and 0 MB each for 5 ranks; best seen: 2 nodes with room for 4 ranks",
		},
		{
			name: "nodes short, capacity plenty", job: Job{Nodes: 3, Procs: 3, CPUsPerProc: 1}, strategies: both,
			offers:  []Offer{off("o1", "a1", "n1", 64, 0), off("o2", "a2", "n2", 64, 0)},
			wantErr: "need 3 nodes with 1 cpu and 0 MB each for 3 ranks; best seen: 2 nodes with room for 3 ranks",
		},
		{
			name: "no offers", job: Job{Nodes: 1, Procs: 1, CPUsPerProc: 1}, strategies: both,
			wantErr: "need 1 node with 1 cpu and 0 MB each for 1 rank; best seen: 0 nodes with room for 0 ranks",
		},
		{
			name: "offers of one agent pooled", job: Job{Nodes: 1, Procs: 3, CPUsPerProc: 1, MemPerProc: 256}, strategies: both,
			offers: []Offer{off("o3", "a1", "n1", 1, 256), off("o1", "a1", "n1", 1, 256), off("o2", "a1", "n1", 1, 256)},
			want:   Plan{Hosts: []Host{{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1", "o2", "o3"}, Slots: 3, CPUs: 3, MemMB: 768}}},
		},
		{
			name: "pooling makes a slot", job: Job{Nodes: 1, Procs: 1, CPUsPerProc: 2, MemPerProc: 1000}, strategies: both,
			offers: []Offer{off("x", "a1", "n1", 1, 600), off("y", "a1", "n1", 1, 400)},
			want:   Plan{Hosts: []Host{{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"x", "y"}, Slots: 1, CPUs: 2, MemMB: 1000}}},
		},
		{
			name: "fractional cpus", job: Job{Nodes: 1, Procs: 3, CPUsPerProc: 0.5, MemPerProc: 100}, strategies: both,
			offers: []Offer{off("o1", "a1", "n1", 1.5, 1000)},
			want:   Plan{Hosts: []Host{{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 3, CPUs: 1.5, MemMB: 300}}},
		},
		{
			// 0.3/0.1 == 2.9999999999999996: the tolerance keeps the third
			// slot, and the request is clamped to the offer (3*0.1 > 0.3).
			name: "float tolerance, single offer", job: Job{Nodes: 1, Procs: 3, CPUsPerProc: 0.1}, strategies: both,
			offers: []Offer{off("o1", "a1", "n1", 0.3, 0)},
			want:   Plan{Hosts: []Host{{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 3, CPUs: 0.3, MemMB: 0}}},
		},
		{
			name: "float tolerance, pooled 0.1+0.2", job: Job{Nodes: 1, Procs: 1, CPUsPerProc: 0.3}, strategies: both,
			offers: []Offer{off("o1", "a1", "n1", 0.1, 0), off("o2", "a1", "n1", 0.2, 0)},
			want:   Plan{Hosts: []Host{{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1", "o2"}, Slots: 1, CPUs: 0.1 + 0.2, MemMB: 0}}},
		},
		{
			name: "tolerance never makes a slot that is not there", job: Job{Nodes: 1, Procs: 3, CPUsPerProc: 0.1}, strategies: both,
			offers:  []Offer{off("o1", "a1", "n1", 0.299, 0)},
			wantErr: "need 1 node with 0.1 cpus and 0 MB each for 3 ranks; best seen: 1 node with room for 2 ranks",
		},
		{
			name: "m = 0: memory does not count", job: Job{Nodes: 2, Procs: 2, CPUsPerProc: 1}, strategies: both,
			offers: []Offer{off("o1", "a1", "n1", 1, 0), off("o2", "a2", "n2", 1, 0)},
			want: Plan{Hosts: []Host{
				{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 1, CPUs: 1},
				{AgentID: "a2", Hostname: "n2", OfferIDs: []string{"o2"}, Slots: 1, CPUs: 1},
			}},
		},
		{
			name: "m > 0 and no memory", job: Job{Nodes: 1, Procs: 1, CPUsPerProc: 1, MemPerProc: 1}, strategies: both,
			offers:  []Offer{off("o1", "a1", "n1", 4, 0)},
			wantErr: "need 1 node with 1 cpu and 1 MB each for 1 rank; best seen: 0 nodes with room for 0 ranks",
		},
		{
			name: "bad offers skipped", job: Job{Nodes: 2, Procs: 4, CPUsPerProc: 1, MemPerProc: 512}, strategies: both,
			offers: append(slices.Clone(good),
				off("", "a9", "n0", 64, 1<<20),         // no offer id
				off("e1", "", "n0", 64, 1<<20),         // no agent id
				off("e2", "a1", "n1", nan, 4096),       // NaN cpus on a good agent
				off("e3", "a1", "n1", 64, inf),         // infinite memory
				off("e4", "a2", "n2", -1, 4096),        // negative cpus
				off("e5", "a2", "n2", 8, math.Inf(-1)), // -Inf memory
				off("o1", "a1", "n1", 2, 1024),         // identical duplicate: counts once
				off("d1", "a1", "n1", 8, 8192),         // conflicting duplicates:
				off("d1", "a1", "n1", 16, 8192),        //   neither counts
				off("h1", "a7", "n0,n1:64", 64, 1<<20), // hostname that would extend -hosts
				off("h2", "a8", "-n0", 64, 1<<20),      // hostname starting with '-'
				off("h3", "a6", "", 64, 1<<20),         // no hostname
				off("h4", "a5", "n0", 64, 1<<20),       // agent with two hostnames:
				off("h5", "a5", "n00", 64, 1<<20),      //   skipped entirely
				off("h6", "a4", "n0\n", 64, 1<<20),     // control character
			),
			want: goodPlan,
		},
		{
			name: "first fit packs the first hosts", job: Job{Nodes: 2, Procs: 4, CPUsPerProc: 1}, strategies: []Strategy{FirstFit},
			offers: []Offer{off("o1", "a1", "n1", 8, 0), off("o2", "a2", "n2", 2, 0), off("o3", "a3", "n3", 2, 0), off("o4", "a4", "n4", 2, 0)},
			want: Plan{Hosts: []Host{
				{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 3, CPUs: 3},
				{AgentID: "a2", Hostname: "n2", OfferIDs: []string{"o2"}, Slots: 1, CPUs: 1},
			}},
		},
		{
			name: "best fit takes the tight hosts", job: Job{Nodes: 2, Procs: 4, CPUsPerProc: 1, Strategy: BestFit}, strategies: []Strategy{BestFit},
			offers: []Offer{off("o1", "a1", "n1", 8, 0), off("o2", "a2", "n2", 2, 0), off("o3", "a3", "n3", 2, 0), off("o4", "a4", "n4", 2, 0)},
			want: Plan{Hosts: []Host{
				{AgentID: "a2", Hostname: "n2", OfferIDs: []string{"o2"}, Slots: 2, CPUs: 2},
				{AgentID: "a3", Hostname: "n3", OfferIDs: []string{"o3"}, Slots: 2, CPUs: 2},
			}},
		},
		{
			// 10 ranks on 4 nodes: two hosts of 2 and two of 3 fit exactly.
			name: "best fit, even split with remainder", job: Job{Nodes: 4, Procs: 10, CPUsPerProc: 1}, strategies: []Strategy{BestFit},
			offers: []Offer{
				off("o1", "a1", "n1", 2, 0), off("o2", "a2", "n2", 2, 0), off("o3", "a3", "n3", 2, 0),
				off("o4", "a4", "n4", 3, 0), off("o5", "a5", "n5", 3, 0), off("o6", "a6", "n6", 8, 0),
			},
			want: Plan{Hosts: []Host{
				{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 2, CPUs: 2},
				{AgentID: "a2", Hostname: "n2", OfferIDs: []string{"o2"}, Slots: 2, CPUs: 2},
				{AgentID: "a4", Hostname: "n4", OfferIDs: []string{"o4"}, Slots: 3, CPUs: 3},
				{AgentID: "a5", Hostname: "n5", OfferIDs: []string{"o5"}, Slots: 3, CPUs: 3},
			}},
		},
		{
			// Round-robin: 7 ranks on 3 hosts of room 8, 8, 1 -> 3, 3, 1.
			name: "best fit deals round-robin", job: Job{Nodes: 3, Procs: 7, CPUsPerProc: 1}, strategies: []Strategy{BestFit},
			offers: []Offer{off("o1", "a1", "n1", 8, 0), off("o2", "a2", "n2", 8, 0), off("o3", "a3", "n3", 1, 0)},
			want: Plan{Hosts: []Host{
				{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1"}, Slots: 3, CPUs: 3},
				{AgentID: "a2", Hostname: "n2", OfferIDs: []string{"o2"}, Slots: 3, CPUs: 3},
				{AgentID: "a3", Hostname: "n3", OfferIDs: []string{"o3"}, Slots: 1, CPUs: 1},
			}},
		},
		{
			// Several agents on one host (a local Mesos) are distinct hosts,
			// ordered by agent id.
			name: "agents sharing a hostname", job: Job{Nodes: 2, Procs: 2, CPUsPerProc: 1}, strategies: both,
			offers: []Offer{off("o1", "S1", "localhost", 1, 0), off("o0", "S0", "localhost", 1, 0)},
			want: Plan{Hosts: []Host{
				{AgentID: "S0", Hostname: "localhost", OfferIDs: []string{"o0"}, Slots: 1, CPUs: 1},
				{AgentID: "S1", Hostname: "localhost", OfferIDs: []string{"o1"}, Slots: 1, CPUs: 1},
			}},
		},
		{
			name: "extreme amounts do not overflow", job: Job{Nodes: 1, Procs: MaxProcs, CPUsPerProc: 1e-300, MemPerProc: 1e-300}, strategies: both,
			offers: []Offer{off("o1", "a1", "n1", math.MaxFloat64, math.MaxFloat64), off("o2", "a1", "n1", math.MaxFloat64, 1)},
			want:   Plan{Hosts: []Host{{AgentID: "a1", Hostname: "n1", OfferIDs: []string{"o1", "o2"}, Slots: MaxProcs, CPUs: MaxProcs * 1e-300, MemMB: MaxProcs * 1e-300}}},
		},
	}
	for _, tc := range tests {
		for _, s := range tc.strategies {
			t.Run(tc.name+"/"+s.String(), func(t *testing.T) {
				job := tc.job
				job.Strategy = s
				before := slices.Clone(tc.offers)
				got, err := Place(job, tc.offers)
				if !reflect.DeepEqual(tc.offers, before) && !hasNaN(before) {
					t.Errorf("Place modified its offers")
				}
				if tc.wantErr != "" {
					if err == nil || err.Error() != tc.wantErr {
						t.Fatalf("Place error = %v, want %q", err, tc.wantErr)
					}
					var ie *InsufficientError
					if !errors.As(err, &ie) {
						t.Errorf("error %T is not an *InsufficientError", err)
					}
					if !reflect.DeepEqual(got, Plan{}) {
						t.Errorf("Plan with an error = %+v, want empty", got)
					}
					return
				}
				if err != nil {
					t.Fatalf("Place: %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Errorf("Place =\n%+v\nwant\n%+v", got, tc.want)
				}
			})
		}
	}
}

// Seven ranks on three of five hosts of 1, 1, 1, 5 and 3 cpus, whose first
// three hold only 3 ranks. (Cases of TestPlaceTable, apart for their shared
// offers.)
func TestPlace_SevenRanksOnThreeOfFive(t *testing.T) {
	offers := []Offer{off("o1", "a1", "n1", 1, 0), off("o2", "a2", "n2", 1, 0), off("o3", "a3", "n3", 1, 0), off("o4", "a4", "n4", 5, 0), off("o5", "a5", "n5", 3, 0)}
	host := func(i string, slots int) Host {
		return Host{AgentID: "a" + i, Hostname: "n" + i, OfferIDs: []string{"o" + i}, Slots: slots, CPUs: float64(slots)}
	}
	for _, tc := range []struct {
		name     string
		strategy Strategy
		want     []Host
	}{
		// One swap (n3 for n4) suffices.
		{"first fit repaired with the fewest swaps", FirstFit, []Host{host("1", 1), host("2", 1), host("4", 5)}},
		{"best fit when shares cannot be even", BestFit, []Host{host("1", 1), host("4", 3), host("5", 3)}},
	} {
		before := slices.Clone(offers)
		got, err := Place(Job{Nodes: 3, Procs: 7, CPUsPerProc: 1, Strategy: tc.strategy}, offers)
		if err != nil || !reflect.DeepEqual(got, Plan{Hosts: tc.want}) {
			t.Errorf("%s: Place =\n%+v, %v\nwant\n%+v", tc.name, got, err, Plan{Hosts: tc.want})
		}
		if !reflect.DeepEqual(offers, before) {
			t.Errorf("%s: Place modified its offers", tc.name)
		}
	}
}

func hasNaN(offers []Offer) bool {
	for _, o := range offers {
		if math.IsNaN(o.CPUs) || math.IsNaN(o.MemMB) {
			return true
		}
	}
	return false
}

func TestPlaceDoesNotModifyOffers(t *testing.T) {
	offers := []Offer{off("o3", "a3", "n3", 2, 0), off("o1", "a1", "n1", 2, 0), off("o2", "a2", "n2", 2, 0)}
	before := slices.Clone(offers)
	for _, s := range []Strategy{FirstFit, BestFit} {
		if _, err := Place(Job{Nodes: 2, Procs: 3, CPUsPerProc: 1, Strategy: s}, offers); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(offers, before) {
			t.Fatalf("offers changed: %v", offers)
		}
	}
}

func TestInvalidJobs(t *testing.T) {
	offers := []Offer{off("o1", "a1", "n1", 64, 1<<20)}
	tests := []struct {
		job  Job
		want string
	}{
		{Job{Nodes: 0, Procs: 1, CPUsPerProc: 1}, "invalid job: 0 nodes: need at least 1"},
		{Job{Nodes: -1, Procs: 1, CPUsPerProc: 1}, "invalid job: -1 nodes: need at least 1"},
		{Job{Nodes: 4, Procs: 3, CPUsPerProc: 1}, "invalid job: 3 procs for 4 nodes: need at least one proc per node"},
		{Job{Nodes: 1, Procs: MaxProcs + 1, CPUsPerProc: 1}, "invalid job: 1073741825 procs: at most 1073741824"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: 0}, "invalid job: cpus per proc 0: need a finite number > 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: -1}, "invalid job: cpus per proc -1: need a finite number > 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: math.NaN()}, "invalid job: cpus per proc NaN: need a finite number > 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: math.Inf(1)}, "invalid job: cpus per proc +Inf: need a finite number > 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: 1, MemPerProc: -1}, "invalid job: memory per proc -1 MB: need a finite number >= 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: 1, MemPerProc: math.NaN()}, "invalid job: memory per proc NaN MB: need a finite number >= 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: 1, MemPerProc: math.Inf(1)}, "invalid job: memory per proc +Inf MB: need a finite number >= 0"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: 1, Strategy: 2}, "invalid job: unknown placement strategy 2"},
		{Job{Nodes: 1, Procs: 1, CPUsPerProc: 1, Strategy: -1}, "invalid job: unknown placement strategy -1"},
	}
	for _, tc := range tests {
		plan, err := Place(tc.job, offers)
		if err == nil || err.Error() != tc.want {
			t.Errorf("Place(%+v) error = %v, want %q", tc.job, err, tc.want)
			continue
		}
		if !errors.Is(err, ErrInvalidJob) {
			t.Errorf("Place(%+v) error %v does not wrap ErrInvalidJob", tc.job, err)
		}
		if !reflect.DeepEqual(plan, Plan{}) {
			t.Errorf("Place(%+v) plan = %+v, want empty", tc.job, plan)
		}
		if err := tc.job.Validate(); err == nil || err.Error() != tc.want {
			t.Errorf("Validate(%+v) = %v, want %q", tc.job, err, tc.want)
		}
	}
	ie := &InsufficientError{Job: Job{Nodes: 1, Procs: 2, CPUsPerProc: 1e-9, MemPerProc: 2e15}, Nodes: 1, Ranks: 1}
	if got, want := ie.Error(), "need 1 node with 1e-09 cpus and 2e+15 MB each for 2 ranks; best seen: 1 node with room for 1 rank"; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
	if err := (Job{Nodes: 2, Procs: 2, CPUsPerProc: 0.001, Strategy: BestFit}).Validate(); err != nil {
		t.Errorf("Validate of a good job: %v", err)
	}
}

func TestStrategyString(t *testing.T) {
	for s, want := range map[Strategy]string{FirstFit: "first-fit", BestFit: "best-fit", 7: "Strategy(7)"} {
		if got := s.String(); got != want {
			t.Errorf("%d.String() = %q, want %q", int(s), got, want)
		}
	}
	var zero Job
	if zero.Strategy != FirstFit {
		t.Errorf("zero Strategy is %v, want first-fit", zero.Strategy)
	}
}

// ---- property tests --------------------------------------------------------

// The oracle's tolerance, written out independently of tol().
func oracleTol(x float64) float64 { return 1e-12 * math.Max(1, x) }

// oracleCap counts slots one by one (no division, no floor).
func oracleCap(cpus, mem, c, m float64) int {
	k := 0
	for k < 100000 && float64(k+1)*c <= cpus+oracleTol(cpus) && (m == 0 || float64(k+1)*m <= mem+oracleTol(mem)) {
		k++
	}
	return k
}

type oracleAgent struct {
	id, host  string
	cpus, mem float64
	cap       int
}

// randCase is one random instance: a job, the clean offers, and clean plus
// junk that Place must ignore.
type randCase struct {
	job    Job
	clean  []Offer
	all    []Offer
	agents []oracleAgent // pooled clean agents with cap >= 1, in host order
}

var (
	cpuChoices = []float64{0, 0.1, 0.2, 0.3, 0.5, 1, 1.5, 2, 3, 4, 8}
	memChoices = []float64{0, 64, 100, 128, 256, 512, 1000, 1024, 2048}
	cChoices   = []float64{0.1, 0.25, 0.3, 0.5, 1, 2}
	mChoices   = []float64{0, 0, 64, 128, 256, 512}
	hostnames  = []string{"n1", "n2", "n3", "n4", "node-a", "node-b", "localhost"}
)

func genCase(rng *rand.Rand) randCase {
	var rc randCase
	nodes := 1 + rng.Intn(5)
	rc.job = Job{
		Nodes:       nodes,
		Procs:       nodes + rng.Intn(3*nodes+1),
		CPUsPerProc: cChoices[rng.Intn(len(cChoices))],
		MemPerProc:  mChoices[rng.Intn(len(mChoices))],
		Strategy:    Strategy(rng.Intn(2)),
	}
	nAgents := rng.Intn(11)
	agentIDs := rng.Perm(100)[:nAgents] // agent ids do not follow hostnames
	offerIDs := rng.Perm(1000)
	next := 0
	pooled := map[string]*oracleAgent{}
	var order []*oracleAgent
	for _, n := range agentIDs {
		a := &oracleAgent{id: fmt.Sprintf("agent-%02d", n), host: hostnames[rng.Intn(len(hostnames))]}
		pooled[a.id], order = a, append(order, a)
		for k := 1 + rng.Intn(3); k > 0; k-- {
			o := off(fmt.Sprintf("offer-%03d", offerIDs[next]), a.id, a.host,
				cpuChoices[rng.Intn(len(cpuChoices))], memChoices[rng.Intn(len(memChoices))])
			next++
			rc.clean = append(rc.clean, o)
			a.cpus += o.CPUs
			a.mem += o.MemMB
		}
	}
	for _, a := range order {
		a.cap = oracleCap(a.cpus, a.mem, rc.job.CPUsPerProc, rc.job.MemPerProc)
		if a.cap >= 1 {
			rc.agents = append(rc.agents, *a)
		}
	}
	sort.Slice(rc.agents, func(i, j int) bool {
		if rc.agents[i].host != rc.agents[j].host {
			return rc.agents[i].host < rc.agents[j].host
		}
		return rc.agents[i].id < rc.agents[j].id
	})

	// Junk: all of it must be ignored.
	rc.all = slices.Clone(rc.clean)
	big := func() float64 { return float64(1 + rng.Intn(64)) }
	for k := rng.Intn(6); k > 0; k-- {
		id := fmt.Sprintf("junk-%03d", rng.Intn(1000))
		var a oracleAgent
		if len(order) > 0 {
			a = *order[rng.Intn(len(order))]
		} else {
			a = oracleAgent{id: "agent-x", host: "n1"}
		}
		switch rng.Intn(9) {
		case 0:
			rc.all = append(rc.all, off("", a.id, a.host, big(), 1<<20))
		case 1:
			rc.all = append(rc.all, off(id, "", a.host, big(), 1<<20))
		case 2:
			rc.all = append(rc.all, off(id, a.id, a.host, math.NaN(), 1<<20))
		case 3:
			rc.all = append(rc.all, off(id, a.id, a.host, big(), math.Inf(1)))
		case 4:
			rc.all = append(rc.all, off(id, a.id, a.host, -big(), 1<<20))
		case 5: // conflicting copies of one id: none counts
			rc.all = append(rc.all, off(id+"-dup", a.id, a.host, big(), 1<<20), off(id+"-dup", a.id, a.host, 100, 1<<20))
		case 6: // an identical copy of a clean offer
			if len(rc.clean) > 0 {
				rc.all = append(rc.all, rc.clean[rng.Intn(len(rc.clean))])
			}
		case 7: // an agent with an unusable hostname
			rc.all = append(rc.all, off(id, "bad-"+id, []string{"a,b", "a:1", "", "-x", "a b", ".a", "a\x00"}[rng.Intn(7)], 64, 1<<20))
		case 8: // an agent whose offers disagree on its hostname
			rc.all = append(rc.all, off(id+"-a", "two-"+id, "n1", 64, 1<<20), off(id+"-b", "two-"+id, "n2", 64, 1<<20))
		}
	}
	rng.Shuffle(len(rc.all), func(i, j int) { rc.all[i], rc.all[j] = rc.all[j], rc.all[i] })
	return rc
}

// topFeasible: Nodes usable agents whose largest capacities sum to Procs.
func topFeasible(job Job, agents []oracleAgent) bool {
	if len(agents) < job.Nodes {
		return false
	}
	caps := make([]int, len(agents))
	for i, a := range agents {
		caps[i] = a.cap
	}
	sort.Sort(sort.Reverse(sort.IntSlice(caps)))
	sum := 0
	for _, c := range caps[:job.Nodes] {
		sum += c
	}
	return sum >= job.Procs
}

// bruteFeasible searches every assignment: exactly nodes agents with
// 1..cap ranks each, procs in total.
func bruteFeasible(caps []int, nodes, procs int) bool {
	if nodes == 0 {
		return procs == 0
	}
	if len(caps) == 0 || procs < nodes {
		return false
	}
	if bruteFeasible(caps[1:], nodes, procs) {
		return true
	}
	for s := 1; s <= caps[0] && s <= procs; s++ {
		if bruteFeasible(caps[1:], nodes-1, procs-s) {
			return true
		}
	}
	return false
}

// checkPlan checks the properties every result of Place must have.
func checkPlan(t *testing.T, rc randCase, plan Plan, err error) {
	t.Helper()
	job := rc.job
	if err != nil {
		if strings.ContainsAny(err.Error(), "\n\r") {
			t.Fatalf("multi-line error %q", err)
		}
		if !reflect.DeepEqual(plan, Plan{}) {
			t.Fatalf("error %v with a non-empty plan %+v", err, plan)
		}
		return
	}
	if len(plan.Hosts) != job.Nodes {
		t.Fatalf("%d hosts, want %d", len(plan.Hosts), job.Nodes)
	}
	// Offers by id, from everything Place was given, with validity.
	type seen struct {
		o        Offer
		conflict bool
	}
	byID := map[string]*seen{}
	for _, o := range rc.all {
		if s := byID[o.ID]; s != nil {
			s.conflict = s.conflict || s.o != o
		} else {
			byID[o.ID] = &seen{o: o}
		}
	}
	caps := map[string]int{}
	for _, a := range rc.agents {
		caps[a.id] = a.cap
	}
	usedAgent, usedOffer := map[string]bool{}, map[string]bool{}
	total := 0
	for i, h := range plan.Hosts {
		if i > 0 {
			p := plan.Hosts[i-1]
			if p.Hostname > h.Hostname || (p.Hostname == h.Hostname && p.AgentID >= h.AgentID) {
				t.Fatalf("hosts out of order: %q/%q before %q/%q", p.Hostname, p.AgentID, h.Hostname, h.AgentID)
			}
		}
		if usedAgent[h.AgentID] {
			t.Fatalf("two hosts on agent %q", h.AgentID)
		}
		usedAgent[h.AgentID] = true
		if h.Slots < 1 {
			t.Fatalf("host %q has %d slots", h.AgentID, h.Slots)
		}
		if c, ok := caps[h.AgentID]; !ok || h.Slots > c {
			t.Fatalf("host %q: %d slots, capacity %d (known %v)", h.AgentID, h.Slots, c, ok)
		}
		total += h.Slots
		if len(h.OfferIDs) == 0 || !slices.IsSorted(h.OfferIDs) {
			t.Fatalf("host %q: offer ids %q not sorted or empty", h.AgentID, h.OfferIDs)
		}
		var cpus, mem float64
		for _, id := range h.OfferIDs {
			s := byID[id]
			switch {
			case usedOffer[id]:
				t.Fatalf("offer %q used twice", id)
			case s == nil:
				t.Fatalf("host %q uses unknown offer %q", h.AgentID, id)
			case s.conflict:
				t.Fatalf("host %q uses conflicting duplicate offer %q", h.AgentID, id)
			case s.o.AgentID != h.AgentID || s.o.Hostname != h.Hostname:
				t.Fatalf("host %q/%q uses offer %q of %q/%q", h.AgentID, h.Hostname, id, s.o.AgentID, s.o.Hostname)
			case !(s.o.CPUs >= 0 && s.o.MemMB >= 0) || math.IsInf(s.o.CPUs, 0) || math.IsInf(s.o.MemMB, 0):
				t.Fatalf("host %q uses invalid offer %+v", h.AgentID, s.o)
			}
			usedOffer[id] = true
			cpus += s.o.CPUs
			mem += s.o.MemMB
		}
		// Never over an offer: the request is within the pooled offers, and
		// Slots*(c, m) within them up to the tolerance.
		wantCPUs, wantMem := float64(h.Slots)*job.CPUsPerProc, float64(h.Slots)*job.MemPerProc
		if h.CPUs > cpus || h.MemMB > mem {
			t.Fatalf("host %q requests %v cpus %v MB, offers hold %v, %v", h.AgentID, h.CPUs, h.MemMB, cpus, mem)
		}
		if wantCPUs > cpus+oracleTol(cpus) || wantMem > mem+oracleTol(mem) {
			t.Fatalf("host %q: %d slots need %v cpus %v MB, offers hold %v, %v", h.AgentID, h.Slots, wantCPUs, wantMem, cpus, mem)
		}
		if math.Abs(h.CPUs-wantCPUs) > oracleTol(cpus) || math.Abs(h.MemMB-wantMem) > oracleTol(mem) {
			t.Fatalf("host %q requests %v cpus %v MB, want %v, %v", h.AgentID, h.CPUs, h.MemMB, wantCPUs, wantMem)
		}
	}
	if total != job.Procs {
		t.Fatalf("%d ranks placed, want %d", total, job.Procs)
	}
}

func TestPlaceProperties(t *testing.T) {
	rng := rand.New(rand.NewSource(20240601))
	const cases = 20000
	placed := 0
	for i := 0; i < cases; i++ {
		rc := genCase(rng)
		for _, s := range []Strategy{FirstFit, BestFit} {
			rc.job.Strategy = s
			before := slices.Clone(rc.all)
			plan, err := Place(rc.job, rc.all)
			if !hasNaN(before) && !reflect.DeepEqual(before, rc.all) {
				t.Fatalf("case %d: Place modified its offers", i)
			}
			checkPlan(t, rc, plan, err)

			// Completeness, against two oracles that must agree.
			caps := make([]int, len(rc.agents))
			for k, a := range rc.agents {
				caps[k] = a.cap
			}
			want := topFeasible(rc.job, rc.agents)
			if len(caps) <= 8 && rc.job.Procs <= 16 {
				if b := bruteFeasible(caps, rc.job.Nodes, rc.job.Procs); b != want {
					t.Fatalf("case %d: oracles disagree: brute %v, top %v (caps %v, job %+v)", i, b, want, caps, rc.job)
				}
			}
			if want != (err == nil) {
				t.Fatalf("case %d %v: feasible %v but Place error = %v (caps %v, job %+v)", i, s, want, err, caps, rc.job)
			}
			if err != nil {
				var ie *InsufficientError
				if !errors.As(err, &ie) {
					t.Fatalf("case %d: error %v is not an *InsufficientError", i, err)
				}
				if ie.Nodes > rc.job.Nodes || ie.Ranks > rc.job.Procs || (ie.Nodes == rc.job.Nodes && ie.Ranks >= rc.job.Procs) {
					t.Fatalf("case %d: inconsistent %+v", i, ie)
				}
			} else {
				placed++
			}

			// Junk changes nothing: the clean offers alone give the same answer.
			cleanPlan, cleanErr := Place(rc.job, rc.clean)
			if !reflect.DeepEqual(plan, cleanPlan) || fmt.Sprint(err) != fmt.Sprint(cleanErr) {
				t.Fatalf("case %d %v: junk changed the result:\n%+v %v\nclean:\n%+v %v", i, s, plan, err, cleanPlan, cleanErr)
			}

			// Deterministic under any order of the offers.
			for k := 0; k < 3; k++ {
				shuffled := slices.Clone(rc.all)
				rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
				p2, err2 := Place(rc.job, shuffled)
				if !reflect.DeepEqual(plan, p2) || fmt.Sprint(err) != fmt.Sprint(err2) {
					t.Fatalf("case %d %v: order changed the result:\n%+v %v\n%+v %v", i, s, plan, err, p2, err2)
				}
			}

			if err == nil {
				checkStrategy(t, rc, plan)
			}
		}
	}
	if placed < cases/4 || placed > 2*cases*3/4 {
		t.Errorf("only %d of %d placements succeeded: the generator is unbalanced", placed, 2*cases)
	}
	t.Logf("%d random cases x 2 strategies, %d placed", cases, placed)
}

// checkStrategy checks what each strategy promises beyond validity.
func checkStrategy(t *testing.T, rc randCase, plan Plan) {
	t.Helper()
	job := rc.job
	eff := map[string]int{}
	for _, a := range rc.agents {
		eff[a.id] = min(a.cap, job.Procs-job.Nodes+1)
	}
	switch job.Strategy {
	case FirstFit:
		// If the first Nodes usable agents suffice, they are the ones.
		sum := 0
		for _, a := range rc.agents[:job.Nodes] {
			sum += eff[a.id]
		}
		if sum >= job.Procs {
			for k, a := range rc.agents[:job.Nodes] {
				if plan.Hosts[k].AgentID != a.id {
					t.Fatalf("first fit chose %q, want %q (job %+v)", plan.Hosts[k].AgentID, a.id, job)
				}
			}
		}
		// Packed in host order: full hosts, at most one partial, then ones.
		phase := 0
		for _, h := range plan.Hosts {
			full := h.Slots == eff[h.AgentID]
			switch {
			case phase == 0 && full:
			case phase == 0:
				phase = 1
			case h.Slots != 1:
				t.Fatalf("first fit not packed in order: %+v", plan.Hosts)
			}
		}
	case BestFit:
		// Round-robin: a host has two ranks more than another only if that
		// other one is full.
		for _, a := range plan.Hosts {
			for _, b := range plan.Hosts {
				if a.Slots > b.Slots+1 && b.Slots != eff[b.AgentID] {
					t.Fatalf("best fit unbalanced: %q %d vs %q %d (room %d)", a.AgentID, a.Slots, b.AgentID, b.Slots, eff[b.AgentID])
				}
			}
		}
		// If an even split is possible (r hosts with lo+1 ranks, the rest lo),
		// it is the one chosen.
		lo, r := job.Procs/job.Nodes, job.Procs%job.Nodes
		nHi, nLo := 0, 0
		for _, a := range rc.agents {
			if a.cap > lo {
				nHi++
			} else if a.cap == lo {
				nLo++
			}
		}
		if nHi >= r && nHi+nLo >= job.Nodes {
			for _, h := range plan.Hosts {
				if h.Slots != lo && h.Slots != lo+1 {
					t.Fatalf("best fit uneven although an even split exists: %+v", plan.Hosts)
				}
			}
			// Least leftover: no Nodes agents that allow an even split have
			// less capacity in total than the ones chosen (exhaustive).
			capOf := map[string]int{}
			for _, a := range rc.agents {
				capOf[a.id] = a.cap
			}
			got := 0
			for _, h := range plan.Hosts {
				got += capOf[h.AgentID]
			}
			if best := minEvenCapacity(rc.agents, job.Nodes, lo, r); got != best {
				t.Fatalf("best fit chose capacity %d, an even split fits in %d: %+v", got, best, plan.Hosts)
			}
		}
	}
}

// minEvenCapacity is the least total capacity of nodes agents of which all
// can take lo ranks and at least r can take lo+1, by trying every subset.
func minEvenCapacity(agents []oracleAgent, nodes, lo, r int) int {
	best := math.MaxInt
	var walk func(i, left, hi, sum int)
	walk = func(i, left, hi, sum int) {
		if left == 0 {
			if hi >= r {
				best = min(best, sum)
			}
			return
		}
		if i == len(agents) {
			return
		}
		walk(i+1, left, hi, sum)
		if c := agents[i].cap; c >= lo {
			h := hi
			if c > lo {
				h++
			}
			walk(i+1, left-1, h, sum+c)
		}
	}
	walk(0, nodes, 0, 0)
	return best
}

// ---- benchmark -------------------------------------------------------------

// benchOffers: 10,000 offers from 10,000 agents, 1-64 cpus, 1-256 GB.
func benchOffers() []Offer {
	rng := rand.New(rand.NewSource(1))
	offers := make([]Offer, 10000)
	for i := range offers {
		offers[i] = Offer{
			ID:       fmt.Sprintf("0f5d5e8a-1b2c-4d3e-9f40-%012d-O%d", rng.Int63n(1e12), i),
			AgentID:  fmt.Sprintf("6a1c3f2e-7b8d-4e9f-a0b1-c2d3e4f5a6b7-S%d", i),
			Hostname: fmt.Sprintf("node%05d.cluster.example", rng.Intn(100000)),
			CPUs:     float64(1 + rng.Intn(64)),
			MemMB:    float64(1+rng.Intn(256)) * 1024,
		}
	}
	return offers
}

func BenchmarkPlace(b *testing.B) {
	offers := benchOffers()
	for _, s := range []Strategy{FirstFit, BestFit} {
		job := Job{Nodes: 1000, Procs: 4000, CPUsPerProc: 1, MemPerProc: 1024, Strategy: s}
		b.Run(s.String(), func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				plan, err := Place(job, offers)
				if err != nil || len(plan.Hosts) != job.Nodes {
					b.Fatalf("Place: %d hosts, %v", len(plan.Hosts), err)
				}
			}
		})
	}
}
