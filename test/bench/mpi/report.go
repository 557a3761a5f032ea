package main

import (
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// perfMetrics are mpi-perf's lines (packaging/mpi-image/mpi-perf.c), in
// its order.
var perfMetrics = []struct {
	name string
	kind string // "latency", "bandwidth" (higher is better) or "allreduce"
}{
	{"latency 0B", "latency"}, {"latency 8B", "latency"}, {"latency 1KiB", "latency"},
	{"bandwidth 64KiB", "bandwidth"}, {"bandwidth 1MiB", "bandwidth"}, {"bandwidth 4MiB", "bandwidth"},
	{"allreduce 8B", "allreduce"}, {"allreduce 64KiB", "allreduce"},
}

var perfLine = regexp.MustCompile(`(?m)^((?:latency|bandwidth|allreduce) \S+): ([0-9.]+) (?:us|MB/s)$`)

// parsePerf reads mpi-perf's output: every metric, once.
func parsePerf(out string) (map[string]float64, error) {
	p := map[string]float64{}
	for _, m := range perfLine.FindAllStringSubmatch(out, -1) {
		v, err := strconv.ParseFloat(m[2], 64)
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("mpi-perf: bad value in %q", m[0])
		}
		p[m[1]] = v
	}
	for _, m := range perfMetrics {
		if _, ok := p[m.name]; !ok {
			return nil, fmt.Errorf("mpi-perf printed no %q: %q", m.name, out)
		}
	}
	return p, nil
}

func checkPerf(r result) error {
	_, err := parsePerf(r.out)
	return err
}

// medians is each variant's median of every metric.
func medians(res [][]result) []map[string]float64 {
	var ms []map[string]float64
	for _, runs := range res {
		vals := map[string][]float64{}
		for _, r := range runs {
			p, _ := parsePerf(r.out) // checked by checkPerf
			for k, v := range p {
				vals[k] = append(vals[k], v)
			}
		}
		m := map[string]float64{}
		for k, v := range vals {
			m[k] = medianF(v)
		}
		ms = append(ms, m)
	}
	return ms
}

// perfTable prints the median of every metric for each variant and, for
// the others, the ratio to the first; for a variant that is judged, whether
// the ratio meets the target (latency at most latMax, bandwidth at least
// bwMin; allreduce has none). Then a one-line verdict per judged variant.
func perfTable(w io.Writer, vs []variant, judged []bool, res [][]result, latMax, bwMin float64) {
	m := medians(res)
	for v, vr := range vs {
		fmt.Fprintf(w, "    [%d] %s\n", v+1, vr.name)
	}
	row := fmt.Sprintf("  %-16s", "metric")
	for v := range vs {
		row += fmt.Sprintf(" %-28s", fmt.Sprintf("%11s", fmt.Sprintf("[%d]", v+1)))
	}
	fmt.Fprintln(w, strings.TrimRight(row, " "))
	misses := make([][]string, len(vs))
	for _, pm := range perfMetrics {
		row := fmt.Sprintf("  %-16s", pm.name)
		for v := range vs {
			val := m[v][pm.name]
			cell := fmt.Sprintf("%8.2f us", val)
			if pm.kind == "bandwidth" {
				cell = fmt.Sprintf("%6.0f MB/s", val)
			}
			if v > 0 {
				ratio := val / m[0][pm.name]
				cell += fmt.Sprintf("  x%.2f", ratio)
				ok := true
				switch pm.kind {
				case "latency":
					ok = ratio <= latMax
				case "bandwidth":
					ok = ratio >= bwMin
				}
				if judged[v] && pm.kind != "allreduce" {
					if ok {
						cell += " ok"
					} else {
						cell += " MISS"
						misses[v] = append(misses[v], fmt.Sprintf("%s x%.2f", pm.name, ratio))
					}
				}
			}
			row += fmt.Sprintf(" %-28s", cell)
		}
		fmt.Fprintln(w, strings.TrimRight(row, " "))
	}
	for v := range vs {
		if !judged[v] {
			continue
		}
		if len(misses[v]) == 0 {
			fmt.Fprintf(w, "    [%d] meets every latency and bandwidth target\n", v+1)
		} else {
			fmt.Fprintf(w, "    [%d] misses: %s\n", v+1, strings.Join(misses[v], ", "))
		}
	}
}

func verdict(ok bool, target string) string {
	if ok {
		return "meets the " + target
	}
	return "MISSES the " + target
}

// mrunPhases says what happens in the part of a job that ends with each
// phase of mrun --timings (docs/mrun.go), in their usual order.
var mrunPhases = map[string]string{
	"local Mesos started":                 "mrun's start-up, the embedded local Mesos' start (master, agents)",
	"subscribed":                          "SUBSCRIBE to the master",
	"first offers":                        "the master's first offers",
	"mpiexec started (launch lines read)": "placement, mpiexec.hydra until it printed its proxy launch lines",
	"tasks launched (ACCEPT sent)":        "one ACCEPT per node",
	"tasks running (TASK_RUNNING)":        "the agent makes the task's sandbox and cgroup and starts socker in it (RUNNING then, before socker makes the container)",
	"first output":                        "socker's checks, container create and start, hydra_pmi_proxy connecting back, MPI_Init, the first print",
	"mpiexec exited":                      "the ranks finishing (MPI_Finalize), the proxies' exit, mpiexec collecting their statuses",
	"tasks ended":                         "socker: the container's exit and removal, the exit record; the agent's status update",
	"framework torn down (TEARDOWN sent)": "TEARDOWN",
	"local Mesos stopped":                 "stopping the local Mesos",
	"done":                                "",
	"outside mrun's clock":                "setpriv, exec and Go start-up of mrun before its clock starts, and its exit",
}

var timingLine = regexp.MustCompile(`(?m)^mrun: +([0-9.]+) +\+([0-9.]+)  (.+)$`)

// mrunParts prints the median of each part of mrun's runs, from their
// --timings reports, next to the median wall time, and names the largest.
func mrunParts(w io.Writer, runs []result) error {
	var order []string
	parts := map[string][]float64{}
	varied := false
	for _, r := range runs {
		_, report, ok := strings.Cut(r.stderr, "mrun: timings (")
		if !ok {
			return fmt.Errorf("mrun printed no timings: %q", r.stderr)
		}
		var phases []string
		last := 0.0
		for _, m := range timingLine.FindAllStringSubmatch(report, -1) {
			at, _ := strconv.ParseFloat(m[1], 64)
			delta, _ := strconv.ParseFloat(m[2], 64)
			parts[m[3]] = append(parts[m[3]], delta)
			phases = append(phases, m[3])
			last = at
		}
		if len(phases) == 0 || phases[len(phases)-1] != "done" {
			return fmt.Errorf("mrun's timings do not end with done: %q", report)
		}
		phases = append(phases, "outside mrun's clock")
		parts["outside mrun's clock"] = append(parts["outside mrun's clock"], ms(r.wall)-last)
		if order == nil {
			order = phases
		} else if !slices.Equal(order, phases) {
			varied = true
			for _, p := range phases {
				if !slices.Contains(order, p) {
					order = append(order, p)
				}
			}
		}
	}
	total := ms(medianD(walls(runs)))
	fmt.Fprintf(w, "  mrun's parts (mrun --timings: time from the previous phase to this one; median of each part, so they need not add up exactly):\n")
	largest, largestMs := "", -1.0
	for _, p := range order {
		if p == "done" {
			continue
		}
		m := medianF(parts[p])
		fmt.Fprintf(w, "    %-38s %8.1f ms %4.0f%%  %s\n", "-> "+p, m, 100*m/total, mrunPhases[p])
		if m > largestMs {
			largest, largestMs = p, m
		}
	}
	fmt.Fprintf(w, "    %-38s %8.1f ms\n", "total (mrun's wall time, median)", total)
	if varied {
		fmt.Fprintln(w, "    (the order of the phases varied between runs: each part is the time from whichever phase preceded it)")
	}
	fmt.Fprintf(w, "  largest part: up to %q, %.1f ms of %.1f ms (%.0f%%): %s\n", largest, largestMs, total, 100*largestMs/total, mrunPhases[largest])
	return nil
}

func walls(rs []result) []time.Duration {
	var d []time.Duration
	for _, r := range rs {
		d = append(d, r.wall)
	}
	return d
}

func medianD(d []time.Duration) time.Duration {
	s := slices.Clone(d)
	slices.Sort(s)
	return s[len(s)/2]
}

func medianF(f []float64) float64 {
	s := slices.Clone(f)
	slices.Sort(s)
	return s[len(s)/2]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
