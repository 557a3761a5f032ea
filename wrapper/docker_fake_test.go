package wrapper

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/system"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// fakeDocker is dockerAPI with canned answers; it records the calls made.
type fakeDocker struct {
	mu       sync.Mutex
	calls    []string
	inspect  container.InspectResponse
	info     system.Info
	errs     map[string]error // method name -> its error
	list     []container.Summary
	removeOf []container.RemoveOptions
}

func (f *fakeDocker) call(name string, args ...any) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := name
	for _, a := range args {
		c += fmt.Sprintf(" %v", a)
	}
	f.calls = append(f.calls, c)
	return f.errs[name]
}

func (f *fakeDocker) got() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeDocker) ImageInspect(_ context.Context, ref string, _ ...client.ImageInspectOption) (image.InspectResponse, error) {
	return image.InspectResponse{ID: "sha256:img"}, f.call("ImageInspect", ref)
}
func (f *fakeDocker) ContainerCreate(context.Context, *container.Config, *container.HostConfig, *network.NetworkingConfig, *ocispec.Platform, string) (container.CreateResponse, error) {
	return container.CreateResponse{ID: "c1"}, f.call("ContainerCreate")
}
func (f *fakeDocker) ContainerAttach(_ context.Context, id string, _ container.AttachOptions) (types.HijackedResponse, error) {
	return types.HijackedResponse{}, f.call("ContainerAttach", id)
}
func (f *fakeDocker) ContainerStart(_ context.Context, id string, _ container.StartOptions) error {
	return f.call("ContainerStart", id)
}
func (f *fakeDocker) ContainerInspect(_ context.Context, id string) (container.InspectResponse, error) {
	return f.inspect, f.call("ContainerInspect", id)
}
func (f *fakeDocker) ContainerWait(_ context.Context, id string, _ container.WaitCondition) (<-chan container.WaitResponse, <-chan error) {
	f.call("ContainerWait", id)
	return nil, nil
}
func (f *fakeDocker) ContainerKill(_ context.Context, id, signal string) error {
	return f.call("ContainerKill", id, signal)
}
func (f *fakeDocker) ContainerRemove(_ context.Context, id string, opts container.RemoveOptions) error {
	f.mu.Lock()
	f.removeOf = append(f.removeOf, opts)
	f.mu.Unlock()
	return f.call("ContainerRemove", id)
}
func (f *fakeDocker) ContainerList(context.Context, container.ListOptions) ([]container.Summary, error) {
	return f.list, f.call("ContainerList")
}
func (f *fakeDocker) Info(context.Context) (system.Info, error) { return f.info, f.call("Info") }

// waitFor polls until the fake has seen call, or fails.
func waitFor(t *testing.T, f *fakeDocker, call string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(5 * time.Millisecond) {
		for _, c := range f.got() {
			if c == call {
				return
			}
		}
	}
	t.Fatalf("no %q among the calls %q", call, f.got())
}

func TestSupervise(t *testing.T) {
	type run struct {
		f     *fakeDocker
		waitC chan container.WaitResponse
		errC  chan error
		sigs  chan os.Signal
		done  chan struct{}
		code  int
		err   error
	}
	start := func(grace time.Duration) *run {
		r := &run{f: &fakeDocker{}, waitC: make(chan container.WaitResponse, 1), errC: make(chan error, 1), sigs: make(chan os.Signal, 2), done: make(chan struct{})}
		go func() {
			r.code, r.err = supervise(r.f, "c1", initProc{fd: -1}, grace, r.waitC, r.errC, r.sigs)
			close(r.done)
		}()
		return r
	}
	end := func(t *testing.T, r *run) {
		t.Helper()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
			t.Fatal("supervise did not return")
		}
	}

	t.Run("exit status", func(t *testing.T) {
		for _, tt := range []struct{ in, want int64 }{{0, 0}, {7, 7}, {137, 137}, {255, 255}, {256, 255}, {-1, 255}} {
			r := start(time.Hour)
			r.waitC <- container.WaitResponse{StatusCode: tt.in}
			end(t, r)
			if r.err != nil || int64(r.code) != tt.want {
				t.Errorf("status %d: got %d, %v; want %d", tt.in, r.code, r.err, tt.want)
			}
			if c := r.f.got(); len(c) != 0 {
				t.Errorf("status %d: Docker calls %q, want none", tt.in, c)
			}
		}
	})
	t.Run("a wait error is docker-wait", func(t *testing.T) {
		for _, send := range []func(r *run){
			func(r *run) { r.errC <- errors.New("connection reset") },
			func(r *run) {
				r.waitC <- container.WaitResponse{Error: &container.WaitExitError{Message: "connection reset"}}
			},
		} {
			r := start(time.Hour)
			send(r)
			end(t, r)
			code, event, reason := classify(r.err)
			if code != exitcode.Unavailable || event != "error" || reason != "docker-wait" || r.err.Error() != "waiting for container: connection reset" {
				t.Errorf("got %d %s %s %q", code, event, reason, r.err)
			}
		}
	})
	t.Run("a signal stops, the grace period kills", func(t *testing.T) {
		r := start(50 * time.Millisecond)
		r.sigs <- syscall.SIGTERM
		waitFor(t, r.f, "ContainerKill c1 TERM")
		waitFor(t, r.f, "ContainerKill c1 KILL")
		r.waitC <- container.WaitResponse{StatusCode: 137}
		end(t, r)
		if r.code != 137 || r.err != nil {
			t.Errorf("got %d, %v; want 137", r.code, r.err)
		}
	})
	t.Run("a second signal kills at once", func(t *testing.T) {
		r := start(time.Hour)
		r.sigs <- syscall.SIGINT
		waitFor(t, r.f, "ContainerKill c1 TERM")
		r.sigs <- syscall.SIGPIPE
		waitFor(t, r.f, "ContainerKill c1 KILL")
		r.waitC <- container.WaitResponse{StatusCode: 137}
		end(t, r)
	})
	t.Run("no kill without a signal", func(t *testing.T) {
		r := start(10 * time.Millisecond)
		time.Sleep(50 * time.Millisecond)
		r.waitC <- container.WaitResponse{StatusCode: 0}
		end(t, r)
		if c := r.f.got(); len(c) != 0 {
			t.Errorf("Docker calls %q, want none", c)
		}
	})
}

// verifyPlacement and startContainer on what Docker says of the container,
// with real processes standing in for its init.
func TestVerifyPlacement(t *testing.T) {
	ctx := context.Background()
	// This test process is in no Mesos task cgroup: any live process is
	// outside the task below.
	data, err := cgroup.ReadProc("self")
	if err != nil {
		t.Fatal(err)
	}
	mode, err := cgroup.HostMode()
	if err != nil {
		t.Fatal(err)
	}
	task := cgroup.Task{Parent: "/mesos/3f1c7a52-8d4e-4b1a-9c2f-5e6d7a8b9c0d", Mode: mode, Controllers: []string{"memory"}}
	if cgroup.Beneath(task, data) == nil {
		t.Fatal("the test process is beneath the made-up task cgroup")
	}
	sleeper := exec.Command("sleep", "60")
	if err := sleeper.Start(); err != nil {
		t.Fatal(err)
	}
	defer sleeper.Process.Kill()
	reaped := exec.Command("true")
	if err := reaped.Run(); err != nil {
		t.Fatal(err)
	}
	running := func(pid int) container.InspectResponse {
		return container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{Running: true, Pid: pid}}}
	}
	for _, tt := range []struct {
		name     string
		f        *fakeDocker
		pid      int
		verified bool
		escape   bool
		err      string
	}{
		{name: "not running any more", f: &fakeDocker{inspect: container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{State: &container.State{}}}}},
		{name: "no state", f: &fakeDocker{inspect: container.InspectResponse{ContainerJSONBase: &container.ContainerJSONBase{}}}},
		{name: "its init is gone", f: &fakeDocker{inspect: running(reaped.Process.Pid)}, pid: reaped.Process.Pid},
		{name: "outside the task cgroup", f: &fakeDocker{inspect: running(sleeper.Process.Pid)}, pid: sleeper.Process.Pid, escape: true},
		{name: "inspect fails", f: &fakeDocker{errs: map[string]error{"ContainerInspect": errors.New("daemon gone")}}, err: "daemon gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			init, verified, err := verifyPlacement(ctx, tt.f, "c1", task, ownProcs{})
			var esc *escapeError
			switch {
			case tt.escape != errors.As(err, &esc):
				t.Fatalf("error %v, escape %v", err, tt.escape)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want %q", err, tt.err)
			case tt.err == "" && !tt.escape && err != nil:
				t.Fatalf("error %v", err)
			}
			if init.pid != tt.pid || verified != tt.verified {
				t.Errorf("pid %d verified %v, want %d %v", init.pid, verified, tt.pid, tt.verified)
			}
		})
	}

	// startContainer kills what it cannot place, with its own reason.
	for _, tt := range []struct {
		name   string
		f      *fakeDocker
		reason string
		calls  []string
	}{
		{"escaped", &fakeDocker{inspect: running(sleeper.Process.Pid)}, "cgroup-escape", []string{"ContainerStart c1", "ContainerInspect c1", "ContainerKill c1 KILL"}},
		{"unverifiable", &fakeDocker{errs: map[string]error{"ContainerInspect": errors.New("daemon gone")}}, "cgroup-unverifiable", []string{"ContainerStart c1", "ContainerInspect c1", "ContainerKill c1 KILL"}},
		{"start fails", &fakeDocker{errs: map[string]error{"ContainerStart": errors.New("no")}}, "docker-start", []string{"ContainerStart c1"}},
		{"exited at once", &fakeDocker{inspect: running(reaped.Process.Pid)}, "", []string{"ContainerStart c1", "ContainerInspect c1"}},
	} {
		t.Run("start/"+tt.name, func(t *testing.T) {
			_, _, err := startContainer(ctx, tt.f, "c1", task, ownProcs{})
			if _, _, reason := classify(err); (err == nil) != (tt.reason == "") || (err != nil && reason != tt.reason) {
				t.Errorf("error %v, want reason %q", err, tt.reason)
			}
			if got := tt.f.got(); strings.Join(got, ",") != strings.Join(tt.calls, ",") {
				t.Errorf("calls %q, want %q", got, tt.calls)
			}
		})
	}
}

// remove removes with force and the anonymous volumes, and takes a
// container already gone for removed.
func TestRemove(t *testing.T) {
	f := &fakeDocker{}
	out := captureStderr(t, func() { remove(f, "c1") })
	if len(f.removeOf) != 1 || !f.removeOf[0].Force || !f.removeOf[0].RemoveVolumes || out != "" {
		t.Errorf("remove: %+v, stderr %q; want one forced removal with volumes, silent", f.removeOf, out)
	}
	gone := &fakeDocker{errs: map[string]error{"ContainerRemove": errdefs.NotFound(errors.New("no such container"))}}
	if out := captureStderr(t, func() { remove(gone, "c1") }); out != "" {
		t.Errorf("a container already gone: stderr %q, want nothing", out)
	}
	failing := &fakeDocker{errs: map[string]error{"ContainerRemove": errors.New("daemon gone")}}
	if out := captureStderr(t, func() { remove(failing, "c1") }); out != "socker: removing container c1: daemon gone\n" {
		t.Errorf("a failed removal: stderr %q", out)
	}
}

func captureStderr(t *testing.T, f func()) string { return capture(t, &os.Stderr, f) }

// A failed create asks Docker for its cgroup driver: with systemd's, the
// failure says what the admin must change (exit 78, its own reason); with
// cgroupfs it is Docker's error as it came (exit 69). A create that works
// asks nothing more.
func TestCreateContainer_CgroupDriver(t *testing.T) {
	createErr := errors.New(`Error response from daemon: cgroup-parent for systemd cgroup should be a valid slice named as "xxx.slice"`)
	for _, tc := range []struct {
		driver, reason string
		code           int
		says           string
	}{
		{"systemd", "docker-cgroup-driver", 78, `Docker uses the "systemd" cgroup driver, which cannot place a container in the Mesos task cgroup; socker needs cgroupfs: an admin must start dockerd with --exec-opt native.cgroupdriver=cgroupfs`},
		{"cgroupfs", "docker-create", 69, "creating container: " + createErr.Error()},
	} {
		f := &fakeDocker{info: system.Info{CgroupDriver: tc.driver}, errs: map[string]error{"ContainerCreate": createErr}}
		_, err := createContainer(context.Background(), f, security.Decision{}, "sha256:1", Wrapper{})
		var fe *failure
		if !errors.As(err, &fe) || fe.reason != tc.reason || fe.code != tc.code || !strings.HasPrefix(fe.Error(), tc.says) {
			t.Errorf("driver %s: %#v (%v), want %s %d %q", tc.driver, fe, err, tc.reason, tc.code, tc.says)
		}
		if got := f.got(); !slices.Equal(got, []string{"ContainerCreate", "Info"}) {
			t.Errorf("driver %s: calls %v", tc.driver, got)
		}
	}
	f := &fakeDocker{}
	if _, err := createContainer(context.Background(), f, security.Decision{}, "sha256:1", Wrapper{}); err != nil || !slices.Equal(f.got(), []string{"ContainerCreate"}) {
		t.Errorf("a create that works: %v, calls %v", err, f.got())
	}
}
