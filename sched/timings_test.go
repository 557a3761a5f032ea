package sched

import (
	"context"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The report is a header, then one line per phase in the order reached:
// ms since the start, +ms since the previous phase, the phase.
func TestTimings_Report(t *testing.T) {
	tm := &Timings{marks: []mark{
		{"local Mesos started", 7900 * time.Microsecond},
		{"subscribed", 9600 * time.Microsecond},
		{"tasks running (TASK_RUNNING)", 1234567 * time.Microsecond},
	}}
	want := "mrun: timings (ms since mrun started, +ms since the previous phase):\n" +
		"mrun:      7.9     +7.9  local Mesos started\n" +
		"mrun:      9.6     +1.7  subscribed\n" +
		"mrun:   1234.6  +1225.0  tasks running (TASK_RUNNING)\n"
	if got := tm.Report(); got != want {
		t.Errorf("Report:\n%s\nwant\n%s", got, want)
	}
}

// A phase keeps the time it was first reached; a nil *Timings marks
// nothing.
func TestTimings_Mark(t *testing.T) {
	tm := NewTimings(time.Now().Add(-time.Second))
	tm.Mark("a")
	tm.Mark("b")
	first := tm.marks[0].at
	tm.Mark("a")
	if len(tm.marks) != 2 || tm.marks[0] != (mark{"a", first}) || tm.marks[1].phase != "b" || first < time.Second || tm.marks[1].at < first {
		t.Errorf("marks %+v", tm.marks)
	}
	var none *Timings
	none.Mark("a") // must not panic
}

var timingLine = regexp.MustCompile(`^mrun: +[0-9]+\.[0-9] +\+[0-9]+\.[0-9]  (.+)$`)

// Run marks every phase of a job that succeeds, in order.
func TestRun_Timings(t *testing.T) {
	cluster := startCluster(t, 0)
	f := newFakes(t, "ok", "0")
	j := newJob(cluster.URL(), f)
	j.Timings = NewTimings(time.Now())
	if r := j.await(t, j.start(context.Background()), 10*time.Second); r.err != nil || r.code != 0 {
		t.Fatalf("Run = %d, %v; want 0, nil", r.code, r.err)
	}
	lines := strings.Split(strings.TrimSuffix(j.Timings.Report(), "\n"), "\n")
	var got []string
	for _, l := range lines[1:] {
		m := timingLine.FindStringSubmatch(l)
		if m == nil {
			t.Fatalf("report line %q", l)
		}
		got = append(got, m[1])
	}
	// The tasks end (the fake proxies exit at once) at some point between
	// TASK_RUNNING and the teardown; the rest is in a fixed order.
	want := []string{"subscribed", "first offers", "mpiexec started (launch lines read)", "tasks launched (ACCEPT sent)",
		"tasks running (TASK_RUNNING)", "first output", "mpiexec exited", "framework torn down (TEARDOWN sent)"}
	ended := slices.Index(got, "tasks ended")
	if ended < 0 || ended <= slices.Index(got, "tasks running (TASK_RUNNING)") || ended >= slices.Index(got, "framework torn down (TEARDOWN sent)") ||
		!slices.Equal(slices.Delete(slices.Clone(got), ended, ended+1), want) {
		t.Errorf("phases\n%q\nwant\n%q with \"tasks ended\" after the tasks run and before the teardown; report:\n%s", got, want, j.Timings.Report())
	}
}
