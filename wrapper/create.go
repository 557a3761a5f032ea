package wrapper

// Step 5 of run: create, attach, start. Privileges: none, the caller's
// (root is gone; the Docker connections were opened before the drop).
// Whatever the container is made of comes from the decision and the image
// ID, never from an argument (see Spec).

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// inspectImage resolves the allowed image on this node (never pulling) and
// returns its ID, which pins the container to it.
func inspectImage(ctx context.Context, cli dockerAPI, ref string) (string, error) {
	img, err := cli.ImageInspect(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", failed(exitcode.Unavailable, "image-missing", fmt.Errorf("image %q is allowed but not present on this node (socker never pulls; ask the site admin to load it)", ref))
	}
	if err != nil {
		return "", failed(exitcode.Unavailable, "docker-unavailable", fmt.Errorf("inspecting image: %w", err))
	}
	if strings.HasPrefix(ref, "sha256:") && img.ID != ref {
		return "", refused(exitcode.Denied, "image-not-allowed", fmt.Errorf("image %q resolved to %s, not to the allowed ID", ref, img.ID))
	}
	return img.ID, nil
}

// createContainer creates the container of decision d from imageID,
// supervised by w, and returns its ID.
func createContainer(ctx context.Context, cli dockerAPI, d security.Decision, imageID string, w Wrapper) (string, error) {
	cfg, host := Spec(d, imageID, w)
	created, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		if driverErr := cgroupDriverProblem(ctx, cli); driverErr != nil {
			return "", failed(exitcode.Config, "docker-cgroup-driver", driverErr)
		}
		return "", failed(exitcode.Unavailable, "docker-create", fmt.Errorf("creating container: %w", err))
	}
	return created.ID, nil
}

// cgroupDriverProblem is, after a failed create, why Docker cannot place a
// container in the task cgroup if it is its cgroup driver: with the systemd
// driver (Docker's default on cgroup v2 with systemd) a CgroupParent must be
// a systemd slice, and /mesos/<id> cannot be named as one. Asked only after
// a failure, so that a launch costs no extra round trip.
func cgroupDriverProblem(ctx context.Context, cli dockerAPI) error {
	info, err := cli.Info(ctx)
	if err != nil || info.CgroupDriver == "" || info.CgroupDriver == "cgroupfs" {
		return nil
	}
	return fmt.Errorf("Docker uses the %q cgroup driver, which cannot place a container in the Mesos task cgroup; socker needs cgroupfs: an admin must start dockerd with --exec-opt native.cgroupdriver=cgroupfs (or \"exec-opts\": [\"native.cgroupdriver=cgroupfs\"] in /etc/docker/daemon.json; socker doctor checks it)", info.CgroupDriver)
}

// stoppedBefore is a failure if one of stopSignals has arrived already:
// then the container is never created, or never started (what is "created"
// or "started").
func stoppedBefore(sigs chan os.Signal, what string) error {
	if s, ok := pending(sigs); ok {
		return failed(128+int(s), "signalled", fmt.Errorf("stopped by %s before the container was %s", s, what))
	}
	return nil
}

func pending(sigs chan os.Signal) (syscall.Signal, bool) {
	select {
	case s := <-sigs:
		return s.(syscall.Signal), true
	default:
		return 0, false
	}
}

// attached is a container's standard streams, attached, and its wait.
type attached struct {
	waitC   <-chan container.WaitResponse
	errC    <-chan error
	outDone chan struct{}
	close   func()
}

// attach waits for the container's next exit and attaches socker's
// standard streams to it, before it starts, so no output is lost. Neither
// is bounded in time: they last as long as the container runs.
func attach(cli dockerAPI, id string) (*attached, error) {
	waitC, errC := cli.ContainerWait(context.Background(), id, container.WaitConditionNextExit)
	att, err := cli.ContainerAttach(context.Background(), id, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return nil, failed(exitcode.Unavailable, "docker-attach", fmt.Errorf("attaching to container: %w", err))
	}
	a := &attached{waitC: waitC, errC: errC, outDone: make(chan struct{}), close: att.Close}
	go func() {
		// Once a reader is gone the output is drained, not left to block
		// the container; the SIGPIPE stops it.
		stdcopy.StdCopy(&drainOnError{w: os.Stdout}, &drainOnError{w: os.Stderr}, att.Reader)
		close(a.outDone)
	}()
	go func() {
		io.Copy(att.Conn, os.Stdin)
		att.CloseWrite()
	}()
	return a, nil
}

// drained waits, up to timeout, for the container's output to be copied
// out.
func (a *attached) drained(timeout time.Duration) {
	select {
	case <-a.outDone:
	case <-time.After(timeout):
	}
}

// drainOnError passes writes to w until one fails (the reader is gone), then
// accepts and drops everything.
type drainOnError struct {
	w      io.Writer
	failed bool
}

func (d *drainOnError) Write(p []byte) (int, error) {
	if !d.failed {
		if _, err := d.w.Write(p); err != nil {
			d.failed = true
		}
	}
	return len(p), nil
}

// startContainer starts the container and checks that it landed beneath
// the task cgroup (verifyPlacement); if it did not, or that cannot be
// checked, it kills it. It returns the container's init pid (0 if unknown)
// and whether the placement was verified.
func startContainer(ctx context.Context, cli dockerAPI, id string, task cgroup.Task, procs procOpener) (initProc, bool, error) {
	none := initProc{fd: -1}
	if err := cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		return none, false, failed(exitcode.Unavailable, "docker-start", fmt.Errorf("starting container: %w", err))
	}
	init, verified, err := verifyPlacement(ctx, cli, id, task, procs)
	if err == nil {
		return init, verified, nil
	}
	cli.ContainerKill(context.Background(), id, "KILL")
	var escaped *escapeError
	if errors.As(err, &escaped) {
		return none, false, failed(exitcode.Unavailable, "cgroup-escape", fmt.Errorf("container is not inside the Mesos task cgroup, killed it: %w", err))
	}
	return none, false, failed(exitcode.Unavailable, "cgroup-unverifiable", fmt.Errorf("could not check that the container is inside the Mesos task cgroup, killed it: %w", err))
}
