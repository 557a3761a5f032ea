package wrapper

// Step 6 of run: where the container landed. Privileges: none, the
// caller's; /proc/<pid>/cgroup of the container's init is world-readable.

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/cgroup"
)

// procOpener opens /proc/<pid> as an O_PATH directory fd: dockerSide on
// Docker's side of the node (where the pids Docker reports are numbered),
// ownProcs in tests.
type procOpener interface {
	openProc(pid int) (int, error)
}

// ownProcs opens socker's own /proc/<pid>.
type ownProcs struct{}

func (ownProcs) openProc(pid int) (int, error) {
	return unix.Open("/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
}

// initProc is the container's init as verifyPlacement found it: its pid as
// Docker reports it and its /proc directory (fd), -1 if none.
type initProc struct {
	pid, fd int
}

// verifyPlacement returns the container's init and checks that it is
// beneath the Mesos task cgroup. It opens the init's /proc directory where
// Docker's pids are numbered (procs), which pins the process: the files read
// through it are that process's or fail once it is gone, whatever the pid
// names later. It reads cgroup, then stat: if stat could still be read and
// the process had not begun to exit (PF_EXITING is set before an exiting
// task leaves its v1 cgroups and is never cleared), the cgroup text read was
// its own. A container that exited before it could be checked is reported
// as not verified (false, nil): it has nothing left to kill, and runc placed
// it at start. A container outside the task cgroup is an *escapeError; any
// other error means it could not look.
func verifyPlacement(ctx context.Context, cli dockerAPI, id string, task cgroup.Task, procs procOpener) (initProc, bool, error) {
	none := initProc{fd: -1}
	ins, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return none, false, err
	}
	if ins.State == nil || !ins.State.Running || ins.State.Pid <= 0 {
		return none, false, nil
	}
	p := initProc{pid: ins.State.Pid, fd: -1}
	fd, err := procs.openProc(p.pid)
	if errors.Is(err, unix.ENOENT) || errors.Is(err, unix.ESRCH) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("opening /proc/%d: %w", p.pid, err)
	}
	data, readErr := readAt(fd, "cgroup")
	stat, statErr := readStatAt(fd)
	gone := errors.Is(statErr, errNoProcess)
	switch {
	case gone || (statErr == nil && stat.Exiting()):
		unix.Close(fd)
		return p, false, nil
	case readErr != nil:
		unix.Close(fd)
		return p, false, readErr
	case statErr != nil:
		unix.Close(fd)
		return p, false, statErr
	}
	if err := cgroup.Beneath(task, data); err != nil {
		unix.Close(fd)
		return p, false, &escapeError{err}
	}
	p.fd = fd
	return p, true, nil
}

// escapeError is verifyPlacement's finding that the container is outside
// the task cgroup.
type escapeError struct{ err error }

func (e *escapeError) Error() string { return e.err.Error() }
