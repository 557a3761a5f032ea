package wrapper

// Step 4 of run and explain (and of images and doctor): the privilege drop.
// Before it socker is root; after it, for good, the caller: real, effective
// and saved uid and gid and the supplementary groups are the caller's, and
// the Docker socket can no longer be opened. What socker needs of root past
// this point it opened before: the audit log and the Docker connections
// (connectAsRoot).

import (
	"fmt"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// dropRoot gives up root for good and becomes the caller (see
// security.DropPrivileges), on every thread: it checks Docker's side (a
// thread of its own, if side is not nil) as well.
func dropRoot(c security.Caller, side *dockerSide) error {
	if err := security.DropPrivileges(c); err != nil {
		return failed(exitcode.Config, "privilege-drop", err)
	}
	if side == nil {
		return nil
	}
	return side.do(func() error {
		r, e, s := unix.Getresuid()
		if uint32(r) != c.UID || uint32(e) != c.UID || uint32(s) != c.UID {
			return failed(exitcode.Config, "privilege-drop", fmt.Errorf("privilege drop failed on the Docker-side thread: uids are %d/%d/%d, want %d", r, e, s, c.UID))
		}
		return nil
	})
}
