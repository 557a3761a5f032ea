package localmesos

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"

	"github.com/containerd/cgroups/v3"

	"github.com/sockerhpc/socker/internal/cgroupfs"
)

// A user's own local Mesos (`mrun --master local`, run by that user) cannot
// switch users, and can make cgroups only where root lets it. Delegate, run
// by root once per boot, makes for one user a root-owned cgroup
// DelegatedParent(uid) in every v1 hierarchy and gives its "mesos"
// subdirectory to the user. That user's launcher then puts each task in
// DelegatedParent(uid)/mesos/<container-id>, the layout of a Mesos nested
// container, with the task's limits. The user can make such cgroups outside
// any Mesos task too (bounded by the root-owned parent), so socker accepts
// them only when the site config sets cgroups.allow_delegated: a
// single-machine setting, never a cluster node's.

// DelegatedParent is the root-owned cgroup under which the local Mesos of
// user uid makes its tasks' cgroups. Its id is fixed per uid so that
// Delegate and the user's launcher agree without talking.
func DelegatedParent(uid int) string {
	return fmt.Sprintf("/mesos/0c1a1000-0000-4000-8000-%012x", uid)
}

// ErrDelegationV2 is Delegate's answer on a cgroup v2 host, where moving a
// process between cgroups needs write access to their common ancestor.
var ErrDelegationV2 = errors.New("cgroup v2 host: a non-root local Mesos cannot move tasks into cgroups (v2 needs write access to the common ancestor); run the local Mesos as root")

// hierarchies lists the mounted v1 hierarchies (symlinks such as cpu ->
// cpu,cpuacct skipped).
func hierarchies() []string {
	var out []string
	ents, _ := os.ReadDir(cgroupRoot)
	for _, e := range ents {
		if e.IsDir() {
			out = append(out, filepath.Join(cgroupRoot, e.Name()))
		}
	}
	return out
}

// Delegate (as root) gives user uid:gid the cgroups its own local Mesos
// needs: DelegatedParent(uid)/mesos in every v1 hierarchy, the directory
// owned by the user, its files and everything above it root's. Docker's
// runc makes cgroups beneath task cgroups in every hierarchy; owning the
// directory above them lets the user's launcher remove them when the task
// ends. Idempotent.
func Delegate(uid, gid int) error {
	if uid == 0 {
		return errors.New("delegating cgroups to root: root's local Mesos needs none")
	}
	if cgroups.Mode() == cgroups.Unified {
		return ErrDelegationV2
	}
	hs := hierarchies()
	if len(hs) == 0 {
		return fmt.Errorf("no cgroup hierarchy under %s", cgroupRoot)
	}
	for _, h := range hs {
		dir := filepath.Join(h, DelegatedParent(uid), "mesos")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("delegating cgroups to uid %d: %w", uid, err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fmt.Errorf("delegating cgroups to uid %d: %w", uid, err)
		}
	}
	return nil
}

// Undelegate (as root) removes what Delegate made for uid, bottom up. A
// cgroup that still has processes cannot be removed: it and the
// directories above it stay, and Undelegate returns the error.
func Undelegate(uid int) error {
	var last error
	for _, h := range hierarchies() {
		if err := cgroupfs.RemoveTree(filepath.Join(h, DelegatedParent(uid))); err != nil {
			last = err
		}
	}
	return last
}

// delegatedTo returns where uid's launcher makes task cgroups
// (DelegatedParent(uid)/mesos), or "" if Delegate has not given it to uid
// in the hierarchies the launcher uses.
func delegatedTo(uid int) string {
	dir := DelegatedParent(uid) + "/mesos"
	for name := range isolated {
		var st syscall.Stat_t
		if err := syscall.Stat(filepath.Join(cgroupRoot, string(name), dir), &st); err != nil || int(st.Uid) != uid {
			return ""
		}
	}
	return dir
}

// HasDelegation reports whether Delegate gave uid its cgroups.
func HasDelegation(uid int) bool { return delegatedTo(uid) != "" }
