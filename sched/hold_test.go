package sched

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/sockerhpc/socker/sched/localmesos"
	"github.com/sockerhpc/socker/sched/placement"
)

// A job that does not fit holds offers no longer than OfferHold: they are
// declined (and come back a second later), and the job fails at --timeout
// saying what was missing.
func TestRun_OffersHeldNoLongerThanTheBound(t *testing.T) {
	c, err := localmesos.Start(localmesos.Config{Agents: 2, CPUs: 1, Mem: 1024, AllocationInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var stderr bytes.Buffer
	code, err := Run(context.Background(), Options{
		Job:    placement.Job{Nodes: 3, Procs: 3, CPUsPerProc: 1, MemPerProc: 64},
		Master: c.URL(), Program: []string{"true"}, Image: "img", Socker: "/bin/false", Mpiexec: "/bin/false",
		Timeout: 3500 * time.Millisecond, OfferHold: 500 * time.Millisecond,
		Stdout: &bytes.Buffer{}, Stderr: &stderr,
	})
	if code == 0 || err == nil || !strings.Contains(err.Error(), "could not place the job within 3.5s") {
		t.Fatalf("Run = %d, %v; want a placement failure; stderr:\n%s", code, err, stderr.String())
	}
	if !strings.Contains(err.Error(), "best seen: 2") {
		t.Errorf("the failure does not say what was missing: %v", err)
	}
	declined := strings.Count(stderr.String(), "declined 2 offers held for more than 500ms")
	if declined < 2 {
		t.Errorf("offers declined %d times after the hold bound, want at least twice (they come back); stderr:\n%s", declined, stderr.String())
	}
}
