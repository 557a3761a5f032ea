package security

import (
	"errors"
	"fmt"
	"slices"

	"golang.org/x/sys/unix"
)

// Limit is one resource limit (setrlimit(2)), named as Docker's
// HostConfig.Ulimits names it: the RLIMIT_ name in lower case without the
// prefix ("nofile" for RLIMIT_NOFILE). Unlimited is RLIM_INFINITY.
type Limit struct {
	Name       string
	Soft, Hard uint64
}

// Unlimited is RLIM_INFINITY, the value of a limit that is not set.
const Unlimited uint64 = unix.RLIM_INFINITY

// resources are every Linux resource limit, by Docker's name for it.
var resources = []struct {
	name     string
	resource int
}{
	{"as", unix.RLIMIT_AS},
	{"core", unix.RLIMIT_CORE},
	{"cpu", unix.RLIMIT_CPU},
	{"data", unix.RLIMIT_DATA},
	{"fsize", unix.RLIMIT_FSIZE},
	{"locks", unix.RLIMIT_LOCKS},
	{"memlock", unix.RLIMIT_MEMLOCK},
	{"msgqueue", unix.RLIMIT_MSGQUEUE},
	{"nice", unix.RLIMIT_NICE},
	{"nofile", unix.RLIMIT_NOFILE},
	{"nproc", unix.RLIMIT_NPROC},
	{"rss", unix.RLIMIT_RSS},
	{"rtprio", unix.RLIMIT_RTPRIO},
	{"rttime", unix.RLIMIT_RTTIME},
	{"sigpending", unix.RLIMIT_SIGPENDING},
	{"stack", unix.RLIMIT_STACK},
}

// readLimits returns the process's current resource limits, in the order of
// resources.
func readLimits() ([]Limit, error) {
	out := make([]Limit, 0, len(resources))
	for _, r := range resources {
		var lim unix.Rlimit
		if err := unix.Getrlimit(r.resource, &lim); err != nil {
			return nil, fmt.Errorf("reading the %s limit: %w", r.name, err)
		}
		out = append(out, Limit{Name: r.name, Soft: lim.Cur, Hard: lim.Max})
	}
	return out, nil
}

// inherited are the limits Harden found, before it set socker's own: the
// caller's (a setuid program inherits them), for the container.
var inherited []Limit

// InheritedLimits returns the caller's resource limits as Harden recorded
// them before it changed any, or the current ones if Harden has not run.
// Two soft limits are not quite the caller's: when the soft RLIMIT_NOFILE
// was below the hard one, the Go runtime has already raised it (to the hard
// limit minus one) before any of socker's code runs; and the kernel caps
// the soft RLIMIT_STACK at 8 MiB when it executes a setuid program.
func InheritedLimits() ([]Limit, error) {
	if inherited != nil {
		return slices.Clone(inherited), nil
	}
	return readLimits()
}

// Socker's own limits, which Harden sets while root, whatever the caller
// set: enough for the Go runtime (threads, memory, stack, the netpoller's
// fds) and for whole audit records. A limit already above its floor is
// kept. RLIMIT_NPROC counts all of the caller's processes once socker runs
// as the caller, so any finite value could stop the runtime from starting a
// thread. The caller can lower these again after the privilege drop (with
// prlimit(1)); AuditLog.Write checks RLIMIT_FSIZE before every record.
const (
	// wrapperNofile is socker's open-file floor; it needs some 15.
	wrapperNofile = 1024
	// minNofile is the fewest open files socker runs with: below it, the Go
	// runtime itself can fail (its netpoller) and end socker with runtime
	// text instead of one line.
	minNofile = 64
	// wrapperStack is socker's stack floor (the kernel's default).
	wrapperStack = 8 << 20
)

var wrapperLimits = []struct {
	name     string
	resource int
	floor    uint64
}{
	{"RLIMIT_FSIZE", unix.RLIMIT_FSIZE, Unlimited},
	{"RLIMIT_NOFILE", unix.RLIMIT_NOFILE, wrapperNofile},
	{"RLIMIT_NPROC", unix.RLIMIT_NPROC, Unlimited},
	{"RLIMIT_AS", unix.RLIMIT_AS, Unlimited},
	{"RLIMIT_DATA", unix.RLIMIT_DATA, Unlimited},
	{"RLIMIT_STACK", unix.RLIMIT_STACK, wrapperStack},
}

// setWrapperLimits records the inherited limits, disables core dumps and
// raises socker's own limits to their floors. Without CAP_SYS_RESOURCE
// (socker inside a container that lacks it) root cannot raise a hard limit:
// the soft one is then raised as far as the hard one allows, and too few
// open files is an error.
func setWrapperLimits() error {
	lims, err := readLimits()
	if err != nil {
		return fmt.Errorf("reading the caller's resource limits: %w", err)
	}
	inherited = lims
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core dumps: %w", err)
	}
	for _, w := range wrapperLimits {
		if err := raiseLimit(w.resource, w.floor); err != nil {
			return fmt.Errorf("raising socker's %s: %w", w.name, err)
		}
	}
	var nofile unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &nofile); err != nil {
		return fmt.Errorf("reading socker's RLIMIT_NOFILE: %w", err)
	}
	if nofile.Cur < minNofile {
		return fmt.Errorf("socker needs at least %d open files, but RLIMIT_NOFILE is %d and could not be raised (root needs CAP_SYS_RESOURCE for that): raise the hard limit (ulimit -Hn)", minNofile, nofile.Cur)
	}
	return nil
}

// raiseLimit raises the soft and hard values of resource to at least floor,
// lowering neither. When the hard limit may not be raised (EPERM), it keeps
// it and raises the soft limit up to it.
func raiseLimit(resource int, floor uint64) error {
	var cur unix.Rlimit
	if err := unix.Getrlimit(resource, &cur); err != nil {
		return err
	}
	want := unix.Rlimit{Cur: max(cur.Cur, floor), Max: max(cur.Max, floor)}
	if want == cur {
		return nil
	}
	err := unix.Setrlimit(resource, &want)
	if errors.Is(err, unix.EPERM) {
		want = unix.Rlimit{Cur: min(want.Cur, cur.Max), Max: cur.Max}
		if want == cur {
			return nil
		}
		err = unix.Setrlimit(resource, &want)
	}
	return err
}
