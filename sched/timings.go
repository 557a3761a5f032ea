package sched

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// Timings is mrun --timings: when the job reached each phase, as the time
// since Start (mrun's start). Run marks the phases it goes through; mrun
// marks the local Mesos' start and stop and its own end, then prints
// Report. A nil *Timings marks nothing.
type Timings struct {
	Start time.Time
	mu    sync.Mutex
	marks []mark
}

type mark struct {
	phase string
	at    time.Duration
}

// NewTimings starts the clock at start.
func NewTimings(start time.Time) *Timings { return &Timings{Start: start} }

// Mark records that phase is reached now; a phase already marked keeps its
// first time.
func (t *Timings) Mark(phase string) {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	at := time.Since(t.Start) // under the lock: the marks are in time order
	for _, m := range t.marks {
		if m.phase == phase {
			return
		}
	}
	t.marks = append(t.marks, mark{phase, at})
}

// Report is one line per phase reached, in the order reached: the
// milliseconds since Start, then since the previous phase, then the phase:
//
//	mrun: timings (ms since mrun started, +ms since the previous phase):
//	mrun:      7.9     +7.9  local Mesos started
//	mrun:      9.6     +1.7  subscribed
func (t *Timings) Report() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var b strings.Builder
	b.WriteString("mrun: timings (ms since mrun started, +ms since the previous phase):\n")
	var prev time.Duration
	for _, m := range t.marks {
		fmt.Fprintf(&b, "mrun: %8.1f %+8.1f  %s\n", ms(m.at), ms(m.at-prev), m.phase)
		prev = m.at
	}
	return b.String()
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// firstWrite calls first before its first write to w (mpiexec's output:
// "first output").
type firstWrite struct {
	w     io.Writer
	once  sync.Once
	first func()
}

func (f *firstWrite) Write(p []byte) (int, error) {
	f.once.Do(f.first)
	return f.w.Write(p)
}
