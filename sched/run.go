package sched

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/user"
	"strconv"
	"strings"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/encoding/codecs"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli"
	"github.com/mesos/mesos-go/api/v1/lib/httpcli/httpsched"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler/calls"

	"github.com/sockerhpc/socker/sched/placement"
)

// Options is one mrun job.
type Options struct {
	Job     placement.Job
	Image   string   // the MPI image each proxy's container runs
	Master  string   // as the user gave it: host[:port] or http[s]://host[:port][/path] (see MasterEndpoint); the caller starts an embedded local Mesos
	Program []string // the MPI program and its arguments, as mpiexec runs them in the containers
	Socker  string   // socker's path on the agents
	Mounts  []string // passed to socker run --mount
	Mpiexec string   // mpiexec.hydra's path on this machine
	// Timeout bounds the wait for offers that can hold the job.
	Timeout time.Duration
	// OfferHold bounds how long an offer is kept while the job does not fit
	// (default DefaultOfferHold); then it is declined, for a second, so that
	// two gang jobs never hoard each other's resources.
	OfferHold time.Duration
	// TimeLimit is the job's wall-clock limit from its launch (mrun
	// --time; 0: none): when it expires the whole gang is killed and Run
	// returns ExitTimeLimit.
	TimeLimit time.Duration
	// EndGrace is how long a job whose node task ended while mpiexec runs
	// waits for mpiexec to end before it is killed (default
	// DefaultEndGrace).
	EndGrace time.Duration
	// KillGrace is every task's kill_policy.grace_period (default
	// DefaultKillGrace): when the task is killed, the agent sends socker
	// SIGTERM and SIGKILLs it only after this long, which socker needs to
	// stop and remove its container and write its exit record.
	KillGrace time.Duration
	// Principal and Secret authenticate the framework (HTTP basic), if set.
	Principal, Secret string
	Stdout, Stderr    io.Writer
	// Timings, if set, records when the job reaches each phase (mrun
	// --timings).
	Timings *Timings
}

// DefaultOfferHold is Options.OfferHold's default.
const DefaultOfferHold = 10 * time.Second

// DefaultKillGrace is Options.KillGrace's default: socker's default
// container.stop_grace_seconds (10 s, SIGTERM to SIGKILL of the container)
// plus time for socker to remove the container and write its exit record.
// Without a kill policy a command task's grace period is 3 s, after which
// socker is SIGKILLed and its container left to socker gc.
const DefaultKillGrace = 15 * time.Second

// ExitTimeLimit is Run's status when the job's TimeLimit expired (as
// timeout(1)'s).
const ExitTimeLimit = 124

// MaxKillGrace bounds --kill-grace (socker's stop_grace_seconds is at most
// 3600).
const MaxKillGrace = time.Hour

// ErrInterrupted is returned by Run when its context is cancelled (Ctrl-C,
// SIGTERM): the tasks were killed and the framework torn down.
var ErrInterrupted = errors.New("interrupted: killed the job's tasks")

// Run runs one MPI job through the Mesos master: it subscribes, collects
// offers until placement.Place can hold the whole job (gang), starts
// mpiexec.hydra with the manual launcher, launches one command task per host
// running the proxy through socker, acknowledges every update, and returns
// mpiexec's exit status. A task that ends before mpiexec does fails the job;
// ctx being done (Ctrl-C) kills everything. It always tears the framework
// down.
func Run(ctx context.Context, o Options) (int, error) {
	if err := o.Check(); err != nil {
		return 2, err
	}
	endpoint, err := MasterEndpoint(o.Master)
	if err != nil {
		return 2, err
	}
	// Run's progress lines and mpiexec's copied output come from different
	// goroutines: the caller's writers see one write at a time.
	var outMu sync.Mutex
	o.Stdout, o.Stderr = &lockedWriter{&outMu, o.Stdout}, &lockedWriter{&outMu, o.Stderr}
	name, err := frameworkUser()
	if err != nil {
		return 2, err
	}
	cli := newCaller(endpoint, masterSocket(o.Master), o.Principal, o.Secret)
	subCtx, cancelSub := context.WithCancel(context.Background())
	defer cancelSub()
	resp, err := cli.Call(subCtx, calls.Subscribe(frameworkInfo(name, o)))
	if err != nil {
		return 1, fmt.Errorf("subscribing to %s: %w", o.Master, err)
	}
	defer resp.Close()
	events, streamErr, stopEvents := readEvents(resp)
	defer stopEvents()

	j := newJobRun(o, cli, events)
	defer j.teardown()
	defer j.waitOutput()
	return j.loop(ctx, streamErr)
}

// newCaller makes the client of the master's scheduler API at endpoint,
// through the unix socket at socket if set, with HTTP basic authentication
// if principal is set.
func newCaller(endpoint, socket, principal, secret string) calls.Caller {
	cfgOpts := []httpcli.ConfigOpt{}
	if principal != "" {
		cfgOpts = append(cfgOpts, httpcli.BasicAuth(principal, secret))
	}
	if socket != "" {
		cfgOpts = append(cfgOpts, httpcli.Transport(func(t *http.Transport) {
			t.Proxy, t.Dial = nil, nil
			t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) {
				var d net.Dialer
				return d.DialContext(ctx, "unix", socket)
			}
			t.IdleConnTimeout = time.Minute // before the local master's idle timeout, 2 min
		}))
	}
	return httpsched.NewCaller(httpcli.New(
		httpcli.Endpoint(endpoint),
		// mesos-go v0.0.11's JSON decoder rejects Mesos 1.12's SUBSCRIBED
		// (an unknown master capability): use protobuf.
		httpcli.Codec(codecs.ByMediaType[codecs.MediaTypeProtobuf]),
		httpcli.Do(httpcli.With(cfgOpts...)),
	))
}

// frameworkInfo is the framework a job subscribes as: the invoking user's,
// named after the program, removed as soon as it disconnects.
func frameworkInfo(user string, o Options) *mesos.FrameworkInfo {
	failover := 0.0
	info := &mesos.FrameworkInfo{User: user, Name: "mrun " + strings.Join(o.Program, " "), FailoverTimeout: &failover}
	if o.Principal != "" {
		info.Principal = &o.Principal
	}
	return info
}

// readEvents decodes the subscription's events onto events until the
// stream fails (the error goes to streamErr) or stop is called.
func readEvents(resp mesos.Response) (events <-chan *scheduler.Event, streamErr <-chan error, stop func()) {
	ev := make(chan *scheduler.Event)
	errc := make(chan error, 1)
	done := make(chan struct{})
	go func() {
		for {
			var e scheduler.Event
			if err := resp.Decode(&e); err != nil {
				errc <- err
				return
			}
			select {
			case ev <- &e:
			case <-done:
				return
			}
		}
	}()
	return ev, errc, func() { close(done) }
}

// frameworkUser is the invoking user's name, from the kernel uid.
func frameworkUser() (string, error) {
	u, err := user.LookupId(strconv.Itoa(os.Getuid()))
	if err != nil {
		return "", fmt.Errorf("looking up uid %d: %w", os.Getuid(), err)
	}
	return u.Username, nil
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
