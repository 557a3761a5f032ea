package security

import (
	"fmt"
	"runtime"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Pinned is a user mount source opened and checked as the caller: Fd is its
// O_PATH descriptor (close-on-exec), the very object Docker must bind.
type Pinned struct {
	Index int // index in Decision.Mounts
	Fd    int
	Dev   uint64
	Ino   uint64
	Dir   bool
}

// PinSources opens and checks, as the caller, every user mount source of d
// (see openAndCheck) and
// returns their descriptors. It is meant to run while socker is still root:
// the work happens on a fresh OS thread whose file-system identity alone
// (supplementary groups, fsgid, fsuid; per-thread in the kernel, and a
// non-zero fsuid clears the thread's file-system capabilities) is switched
// to the caller's with raw system calls. The thread stays locked and so is
// destroyed when its goroutine ends: no other goroutine ever runs on it, and
// the rest of the process keeps its identity. On a denial or an error no
// descriptor is left open.
func PinSources(c Caller, d Decision) ([]Pinned, error) {
	type result struct {
		pins []Pinned
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with us
		pins, err := pinAsCaller(c, d)
		ch <- result{pins, err}
	}()
	r := <-ch
	return r.pins, r.err
}

// switchThreadFS sets the calling thread's supplementary groups, fsgid and
// fsuid to the caller's and checks that the fsuid took.
func switchThreadFS(c Caller) error {
	groups := make([]uint32, len(c.Groups))
	copy(groups, c.Groups)
	var p unsafe.Pointer
	if len(groups) > 0 {
		p = unsafe.Pointer(&groups[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(groups)), uintptr(p), 0); e != 0 {
		return fmt.Errorf("setgroups: %w", e)
	}
	unix.RawSyscall(unix.SYS_SETFSGID, uintptr(c.GID), 0, 0)
	unix.RawSyscall(unix.SYS_SETFSUID, uintptr(c.UID), 0, 0)
	// setfsgid/setfsuid report no error: read both back.
	if g, _, _ := unix.RawSyscall(unix.SYS_SETFSGID, ^uintptr(0), 0, 0); uint32(g) != c.GID {
		return fmt.Errorf("setfsgid(%d) did not take (fsgid %d)", c.GID, uint32(g))
	}
	if u, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ^uintptr(0), 0, 0); uint32(u) != c.UID {
		return fmt.Errorf("setfsuid(%d) did not take (fsuid %d)", c.UID, uint32(u))
	}
	return nil
}

func pinAsCaller(c Caller, d Decision) ([]Pinned, error) {
	if err := switchThreadFS(c); err != nil {
		return nil, deny("mount-source", "taking your identity to check mount sources: %v", err)
	}
	return openAndCheck(d)
}

// ClosePinned closes the descriptors of pins.
func ClosePinned(pins []Pinned) {
	for _, p := range pins {
		unix.Close(p.Fd)
	}
}
