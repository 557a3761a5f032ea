package wrapper

// Step 3 of run and explain: the mount sources. Privileges: root, and for
// the checks the caller's file-system identity on a thread of their own
// (security.PinSources). Each user mount source is opened and checked as the
// caller; for run, root then clones each opened object into a root-only
// staging directory in Docker's mount namespace (stage.go), and Docker
// binds the clones: the very objects checked, whatever the paths name by
// then and whichever mount namespace socker runs in.

import (
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// pinAndStage pins every user mount source of d as the caller c. With a
// staging directory st (run), it stages a clone of each there and returns d
// with each user mount's source replaced by its clone (what Docker is given
// to bind) and what each staged mount binds (for the audit log). Without one
// (explain), it only checks, and returns d as it is. On a staging failure
// the staging directory is removed. It outlives this process's privileges;
// socker gc removes it once the wrapper is gone (its lock is free).
func pinAndStage(c security.Caller, d security.Decision, st *staging) (security.Decision, []security.BoundMount, error) {
	pins, err := security.PinSources(c, d)
	if err != nil {
		return d, nil, denial(err)
	}
	defer security.ClosePinned(pins)
	if len(pins) == 0 || st == nil {
		return d, nil, nil
	}
	paths, err := st.stage(pins, d.Mounts)
	if err != nil {
		return d, nil, failed(exitcode.Unavailable, "mount-staging", err)
	}
	bind := d
	bind.Mounts = append([]security.Mount(nil), d.Mounts...)
	var bound []security.BoundMount
	for _, p := range pins {
		bound = append(bound, security.BoundMount{Mount: p.Index, Staged: paths[p.Index], Dev: p.Dev, Ino: p.Ino})
		bind.Mounts[p.Index].Source = paths[p.Index]
	}
	return bind, bound, nil
}
