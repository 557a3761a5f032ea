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

// verifyPlacement returns the container's init pid and checks that it is
// beneath the Mesos task cgroup. It pins the process with a pidfd, reads
// /proc/<pid>/cgroup, then reads /proc/<pid>/stat and checks the pidfd still
// names a process: if so, the pid was not recycled, and if that process had
// not begun to exit (PF_EXITING is set before an exiting task leaves its v1
// cgroups and is never cleared), the cgroup text read was its own. A
// container that exited before it could be checked is reported as not
// verified (false, nil): it has nothing left to kill, and runc placed it at
// start. A container outside the task cgroup is an *escapeError; any other
// error means it could not look.
func verifyPlacement(ctx context.Context, cli dockerAPI, id string, task cgroup.Task) (int, bool, error) {
	ins, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return 0, false, err
	}
	if ins.State == nil || !ins.State.Running || ins.State.Pid <= 0 {
		return 0, false, nil
	}
	p := ins.State.Pid
	pid := strconv.Itoa(p)
	pidfd, err := unix.PidfdOpen(p, 0)
	if errors.Is(err, unix.ESRCH) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("pidfd_open %s: %w", pid, err)
	}
	defer unix.Close(pidfd)
	data, readErr := cgroup.ReadProc(pid)
	stat, statErr := readProcStat(pid)
	gone := errors.Is(statErr, errNoProcess) || errors.Is(unix.PidfdSendSignal(pidfd, 0, nil, 0), unix.ESRCH)
	switch {
	case gone || (statErr == nil && stat.Exiting()):
		return p, false, nil
	case readErr != nil:
		return p, false, readErr
	case statErr != nil:
		return p, false, statErr
	}
	if err := cgroup.Beneath(task, data); err != nil {
		return p, false, &escapeError{err}
	}
	return p, true, nil
}

// escapeError is verifyPlacement's finding that the container is outside
// the task cgroup.
type escapeError struct{ err error }

func (e *escapeError) Error() string { return e.err.Error() }
