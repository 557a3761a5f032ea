package sched

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"

	"github.com/sockerhpc/socker/sched/localmesos"
)

// launchRecorder is an HTTP proxy to the master that decodes every call
// passing through it and keeps the TaskInfos of the LAUNCH operations of
// its ACCEPTs: what the master was asked to launch, as sent on the wire.
type launchRecorder struct {
	srv *httptest.Server

	mu       sync.Mutex
	launched []mesos.TaskInfo
	calls    []string // "TYPE" or "TYPE task-id" (KILL, ACKNOWLEDGE), in order
	bad      []string // calls that could not be decoded
}

func newLaunchRecorder(t *testing.T, c *localmesos.Cluster) *launchRecorder {
	t.Helper()
	target, err := url.Parse(unixEndpoint)
	if err != nil {
		t.Fatal(err)
	}
	target.Path = ""
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.Transport = &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", c.Socket())
	}}
	proxy.FlushInterval = -1 // pass the SUBSCRIBE stream's records on at once
	r := &launchRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, err := io.ReadAll(req.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		r.record(req.Header.Get("Content-Type"), body)
		proxy.ServeHTTP(w, req)
	}))
	t.Cleanup(func() {
		r.srv.CloseClientConnections() // a subscription stream left open
		r.srv.Close()
	})
	return r
}

func (r *launchRecorder) URL() string { return r.srv.URL }

func (r *launchRecorder) record(contentType string, body []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	var c scheduler.Call
	if contentType != "application/x-protobuf" {
		r.bad = append(r.bad, "a call of Content-Type "+contentType)
		return
	}
	if err := c.Unmarshal(body); err != nil {
		r.bad = append(r.bad, err.Error())
		return
	}
	switch c.Type {
	case scheduler.Call_KILL:
		r.calls = append(r.calls, "KILL "+c.GetKill().GetTaskID().Value)
	case scheduler.Call_ACKNOWLEDGE:
		r.calls = append(r.calls, "ACKNOWLEDGE "+c.GetAcknowledge().GetTaskID().Value)
	default:
		r.calls = append(r.calls, c.Type.String())
	}
	if c.Type != scheduler.Call_ACCEPT {
		return
	}
	for _, op := range c.GetAccept().GetOperations() {
		if op.GetType() == mesos.Offer_Operation_LAUNCH {
			r.launched = append(r.launched, op.GetLaunch().GetTaskInfos()...)
		}
	}
}

// Every task mrun launches carries a kill policy whose grace period is
// --kill-grace (default 15 s, Options.KillGrace's default too), so that a
// killed task's socker has the time to stop and remove its container
// before the agent SIGKILLs it. (That mrun's flag set parses --kill-grace,
// default 15 s, into Options.KillGrace is cmd/mrun's TestFlags_KillGrace.)
func TestRun_TasksCarryKillGrace(t *testing.T) {
	for _, c := range []struct {
		name  string
		grace time.Duration // Options.KillGrace, as --kill-grace sets it
		want  time.Duration
	}{
		{"flag default", 15 * time.Second, 15 * time.Second},
		{"--kill-grace 7500ms", 7500 * time.Millisecond, 7500 * time.Millisecond},
		{"--kill-grace 1h", time.Hour, time.Hour},
		{"Options zero value", 0, DefaultKillGrace},
	} {
		t.Run(c.name, func(t *testing.T) {
			grace := c.grace
			cluster := startCluster(t, 0)
			rec := newLaunchRecorder(t, cluster)
			f := newFakes(t, "ok", "0")
			j := newJob(rec.URL(), f)
			j.KillGrace = grace
			r := j.await(t, j.start(context.Background()), 10*time.Second)
			if r.err != nil || r.code != 0 {
				t.Fatalf("Run = %d, %v; want 0, nil", r.code, r.err)
			}

			rec.mu.Lock()
			defer rec.mu.Unlock()
			if len(rec.bad) > 0 {
				t.Errorf("undecodable calls: %q", rec.bad)
			}
			if len(rec.launched) != len(testHosts) {
				t.Fatalf("%d tasks launched, want %d (one per agent)", len(rec.launched), len(testHosts))
			}
			for _, task := range rec.launched {
				p := task.GetKillPolicy()
				if p == nil || p.GetGracePeriod() == nil {
					t.Errorf("task %s: no kill_policy.grace_period (kill_policy %v)", task.GetTaskID().Value, p)
					continue
				}
				if got := time.Duration(p.GetGracePeriod().GetNanoseconds()); got != c.want {
					t.Errorf("task %s: kill_policy.grace_period %v, want %v", task.GetTaskID().Value, got, c.want)
				}
			}
		})
	}
}

// Killed tasks are given their kill grace before TEARDOWN: on a real agent
// TEARDOWN shuts the executors down after --executor_shutdown_grace_period
// (5 s), cutting socker's time to remove its container short. Here each
// task's socker takes a second to end after SIGTERM; mrun, interrupted,
// acknowledges every task's last update (two per task: RUNNING and the
// terminal one, after STARTING) before it tears the framework down.
func TestRun_TeardownWaitsForKilledTasks(t *testing.T) {
	cluster := startCluster(t, 0)
	rec := newLaunchRecorder(t, cluster)
	f := newFakes(t, "slowterm", "hang")
	j := newJob(rec.URL(), f)
	done, cancel := j.startRunning(t, f)
	cancel()
	r := j.await(t, done, 30*time.Second)
	if !errors.Is(r.err, ErrInterrupted) {
		t.Fatalf("Run = %d, %v; want ErrInterrupted", r.code, r.err)
	}

	rec.mu.Lock()
	defer rec.mu.Unlock()
	teardown := slices.Index(rec.calls, "TEARDOWN")
	if teardown < 0 {
		t.Fatalf("no TEARDOWN in %q", rec.calls)
	}
	killed := 0
	for _, c := range rec.calls[:teardown] {
		if id, ok := strings.CutPrefix(c, "KILL "); ok {
			killed++
			acks := 0
			for _, c := range rec.calls[:teardown] {
				if c == "ACKNOWLEDGE "+id {
					acks++
				}
			}
			if acks != 3 {
				t.Errorf("task %s: %d updates acknowledged before TEARDOWN, want 3 (STARTING, RUNNING, KILLED); calls %q", id, acks, rec.calls)
			}
		}
	}
	if killed != len(testHosts) {
		t.Errorf("%d tasks killed before TEARDOWN, want %d; calls %q", killed, len(testHosts), rec.calls)
	}
}
