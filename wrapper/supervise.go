package wrapper

// Step 7 of run: supervision, until the container exits. Privileges: none,
// the caller's. Like runc's signals.go: every signal a caller can send to
// socker is caught (from the first line of Main) and stops the container;
// none ends socker before it has removed the container and written the
// exit record.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/sockerhpc/socker/internal/exitcode"
)

// stopSignals are the signals that stop the container and end socker with
// an exit record: every signal whose default action ends a process and that
// the Go runtime lets a program catch (SIGKILL aside: socker gc covers it).
// SIGPIPE is among them: when whoever reads socker's output goes away
// (`socker run ... | head`), the container is stopped, not orphaned.
var stopSignals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE,
	syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGTRAP, syscall.SIGSYS,
	syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGILL,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGVTALRM,
	syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGSTKFLT, syscall.SIGPWR, syscall.SIGIO,
}

// supervise waits for container id to exit and returns its status (255
// for one out of range). The first of stopSignals stops it: SIGTERM (see
// terminate), then SIGKILL after grace; a second signal kills it at once.
// init is the container's init as verifyPlacement found it (fd -1 if
// unknown).
func supervise(cli dockerAPI, id string, init initProc, grace time.Duration, waitC <-chan container.WaitResponse, errC <-chan error, sigs <-chan os.Signal) (int, error) {
	stopping := false
	var killTimer <-chan time.Time
	kill := func() { go cli.ContainerKill(context.Background(), id, "KILL") }
	for {
		select {
		case res := <-waitC:
			return exitStatus(res)
		case err := <-errC:
			return 0, waitFailed(err)
		case <-killTimer:
			kill()
		case <-sigs:
			if stopping {
				kill()
				continue
			}
			stopping = true
			killTimer = time.After(grace)
			go terminate(cli, id, init, time.Now().Add(grace))
		}
	}
}

// exitStatus is the status a wait response reports.
func exitStatus(res container.WaitResponse) (int, error) {
	if res.Error != nil && res.Error.Message != "" {
		return 0, waitFailed(errors.New(res.Error.Message))
	}
	if res.StatusCode < 0 || res.StatusCode > 255 {
		return 255, nil
	}
	return int(res.StatusCode), nil
}

func waitFailed(err error) error {
	return failed(exitcode.Unavailable, "docker-wait", fmt.Errorf("waiting for container: %w", err))
}

// terminate sends the container SIGTERM once its init can pass it on. The
// init is docker-init (tini), which blocks the signals it forwards and only
// then starts the command; until then a SIGTERM from outside the container's
// pid namespace is dropped by the kernel (a namespace init without a handler
// ignores it) or kills runc's own init, so a `docker stop` right after start
// can be lost. terminate waits until the init has a child (or is gone), up to
// the deadline. (/proc/<pid>/status cannot tell: while tini sleeps in
// sigtimedwait its blocked set shows empty.)
func terminate(cli dockerAPI, id string, init initProc, deadline time.Time) {
	for init.fd >= 0 && !forwarding(init) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cli.ContainerKill(context.Background(), id, "TERM")
}

// forwarding reports whether the container's init has started its child
// (so it forwards signals), or is gone.
func forwarding(init initProc) bool {
	p := strconv.Itoa(init.pid)
	data, err := readAt(init.fd, "task/"+p+"/children")
	return err != nil || len(bytes.TrimSpace(data)) > 0
}
