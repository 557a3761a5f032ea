package wrapper

// Step 4 of run and explain (and of images and doctor): the privilege drop.
// Before it socker is root; after it, for good, the caller: real, effective
// and saved uid and gid and the supplementary groups are the caller's, and
// the Docker socket can no longer be opened. What socker needs of root past
// this point it opened before: the audit log and the Docker connections
// (connectAsRoot).

import (
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// dropRoot gives up root for good and becomes the caller (see
// security.DropPrivileges).
func dropRoot(c security.Caller) error {
	if err := security.DropPrivileges(c); err != nil {
		return failed(exitcode.Config, "privilege-drop", err)
	}
	return nil
}
