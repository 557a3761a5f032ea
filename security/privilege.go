package security

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Harden puts the process in a known state before anything else runs: a
// fixed umask; the caller's resource limits recorded (InheritedLimits, for
// the container) and then replaced by socker's own while it is root (no
// core dumps; no file-size limit; enough open files, processes, memory and
// stack for the Go runtime: see setWrapperLimits); not dumpable (so the
// caller cannot ptrace it or read its memory or fds); and every inherited fd
// above 2 close-on-exec. The Go runtime (secure mode, Go >= 1.20.5) has
// already reopened closed fds 0-2 on /dev/null.
func Harden() error {
	unix.Umask(0o077)
	if err := setWrapperLimits(); err != nil {
		return err
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("making the process non-dumpable: %w", err)
	}
	if err := unix.CloseRange(3, ^uint(0), unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("marking inherited fds close-on-exec: %w", err)
	}
	return nil
}

// DropPrivileges drops root for good: supplementary groups, then gid, then uid
// (CERT POS36-C), for all threads (Go's syscall package uses
// AllThreadsSyscall). It then proves the drop (POS37-C): all three uids and
// gids equal the caller's, the groups are the caller's, regaining uid 0 fails,
// and the process is still not dumpable.
func DropPrivileges(c Caller) error {
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("dropping privileges: setgroups: %w", err)
	}
	if err := syscall.Setresgid(int(c.GID), int(c.GID), int(c.GID)); err != nil {
		return fmt.Errorf("dropping privileges: setresgid: %w", err)
	}
	if err := syscall.Setresuid(int(c.UID), int(c.UID), int(c.UID)); err != nil {
		return fmt.Errorf("dropping privileges: setresuid: %w", err)
	}
	return verifyDropped(c)
}

func verifyDropped(c Caller) error {
	r, e, s := unix.Getresuid()
	if uint32(r) != c.UID || uint32(e) != c.UID || uint32(s) != c.UID {
		return fmt.Errorf("privilege drop failed: uids are %d/%d/%d, want %d", r, e, s, c.UID)
	}
	rg, eg, sg := unix.Getresgid()
	if uint32(rg) != c.GID || uint32(eg) != c.GID || uint32(sg) != c.GID {
		return fmt.Errorf("privilege drop failed: gids are %d/%d/%d, want %d", rg, eg, sg, c.GID)
	}
	gs, err := unix.Getgroups()
	if err != nil {
		return fmt.Errorf("privilege drop check: getgroups: %w", err)
	}
	got := make([]uint32, len(gs))
	for i, g := range gs {
		got[i] = uint32(g)
	}
	want := slices.Clone(c.Groups)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(slices.Compact(got), slices.Compact(want)) {
		return fmt.Errorf("privilege drop failed: groups are %v, want %v", got, want)
	}
	if err := syscall.Setresuid(-1, 0, -1); !errors.Is(err, syscall.EPERM) {
		return fmt.Errorf("privilege drop failed: regaining uid 0 was not refused (%v)", err)
	}
	if d, err := unix.PrctlRetInt(unix.PR_GET_DUMPABLE, 0, 0, 0, 0); err != nil || d != 0 {
		return fmt.Errorf("privilege drop check: process is dumpable (%d, %v)", d, err)
	}
	return nil
}

// CheckBinary checks the running socker binary (path is /proc/self/exe) is
// owned by root and not writable by group or others: whoever can write it
// can replace the setuid program.
func CheckBinary(path string) error {
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return fmt.Errorf("checking the socker binary: %w", err)
	}
	if st.Uid != 0 || st.Mode&0o022 != 0 {
		name, _ := os.Readlink(path)
		return fmt.Errorf("the socker binary %s must be owned by root and not writable by group or others", name)
	}
	return nil
}

// SetuidProblem explains why setuid root is not in effect for the binary at
// path (/proc/self/exe): no_new_privs, a nosuid mount, or a missing bit.
func SetuidProblem(path string) string {
	if nnp, err := unix.PrctlRetInt(unix.PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); err == nil && nnp == 1 {
		return "setuid root is not in effect because no_new_privs is set on this process (Mesos' linux/nnp isolator does this: remove it from the agent's --isolation)"
	}
	name, _ := os.Readlink(path)
	var fs unix.Statfs_t
	if err := unix.Statfs(path, &fs); err == nil && fs.Flags&unix.ST_NOSUID != 0 {
		return fmt.Sprintf("setuid root is not in effect: %s is on a filesystem mounted nosuid; install socker elsewhere", name)
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err == nil && (st.Uid != 0 || st.Mode&unix.S_ISUID == 0) {
		return fmt.Sprintf("setuid root is not in effect: %s must be owned by root with the setuid bit (mode 4755, or 4750 with a group)", name)
	}
	return "setuid root is not in effect (effective uid is not 0)"
}
