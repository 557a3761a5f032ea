package wrapper

// Step 2 of run and explain: the decision. Privileges: root, but nothing
// the caller names is opened. argv is parsed, the working directory read
// with getcwd(2) (never $PWD), the task cgroup read from /proc/self/cgroup
// and cgroupfs (lstat as root, nothing followed), and the pure policy,
// security.Decide, says yes or why not.

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// decide parses the arguments of run or explain and applies the policy to
// them, the caller and the caller's task cgroup. It returns the request as
// parsed (for the audit log) and the decision.
func (s *session) decide(unsafeArgs []string, usageLine string) (security.Request, security.Decision, error) {
	req, err := ParseRun(unsafeArgs)
	if err != nil {
		return req, security.Decision{}, refused(exitcode.Usage, "usage", fmt.Errorf("%w (%s)", err, usageLine))
	}
	// The default working directory in the container, if it is in a mount.
	if cwd, err := unix.Getwd(); err == nil {
		req.Cwd = cwd
	}
	task, err := readTask(s.caller.UID)
	if err != nil {
		return req, security.Decision{}, failed(exitcode.Unavailable, "cgroup-unavailable", err)
	}
	d, err := security.Decide(s.policy(), s.caller, task, req)
	return req, d, denial(err)
}

// readTask reads the caller's Mesos task cgroup as the kernel reports it:
// what cgroup.Parse makes of /proc/self/cgroup (a text it refuses is the
// policy's to judge, in the returned Task), and whether a user could have
// made that cgroup (cgroup.Delegated). The error is for a host whose
// cgroups cannot be read at all.
func readTask(callerUID uint32) (security.Task, error) {
	mode, err := cgroup.HostMode()
	if err != nil {
		return security.Task{}, err
	}
	data, err := cgroup.ReadProc("self")
	if err != nil {
		return security.Task{}, err
	}
	t, err := cgroup.Parse(data, mode)
	if err != nil {
		return security.Task{Err: err}, nil
	}
	if t.Delegated, err = cgroup.Delegated(cgroup.Root, t, callerUID); err != nil {
		return security.Task{}, err
	}
	return security.Task{Task: t}, nil
}
