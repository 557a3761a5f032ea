package security

import (
	"errors"
	"fmt"
	"slices"
	"syscall"

	"golang.org/x/sys/unix"
)

// Harden puts the process in a known state before anything else runs: a
// fixed umask, no core dumps, not dumpable (so the caller cannot ptrace it or
// read its memory or fds), and every inherited fd above 2 close-on-exec.
// The Go runtime (secure mode, Go >= 1.20.5) has already reopened closed fds
// 0-2 on /dev/null.
func Harden() error {
	unix.Umask(0o077)
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		return fmt.Errorf("disabling core dumps: %w", err)
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
