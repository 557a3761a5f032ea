package security

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Caller is who ran socker, as the kernel says: never from the environment or
// arguments.
type Caller struct {
	UID    uint32
	GID    uint32
	Groups []uint32 // supplementary groups, as getgroups(2) returns them
	// Name and Home come from /etc/passwd for UID ("" when it has no entry);
	// they are used for labels, the audit log and $USER/$HOME in the
	// container, never for a decision.
	Name string
	Home string
	// Limits are the caller's resource limits, as socker inherited them
	// (InheritedLimits): the container gets them, not dockerd's.
	Limits []Limit
}

// KernelCaller reads the real uid, gid and supplementary groups of the
// process, and the resource limits it inherited. It also reports whether
// setuid root is in effect (effective uid 0).
func KernelCaller() (Caller, bool, error) {
	ruid, euid, _ := unix.Getresuid()
	rgid, _, _ := unix.Getresgid()
	gs, err := unix.Getgroups()
	if err != nil {
		return Caller{}, false, fmt.Errorf("reading supplementary groups: %w", err)
	}
	limits, err := InheritedLimits()
	if err != nil {
		return Caller{}, false, err
	}
	c := Caller{UID: uint32(ruid), GID: uint32(rgid), Limits: limits}
	for _, g := range gs {
		c.Groups = append(c.Groups, uint32(g))
	}
	return c, euid == 0, nil
}

// LookupPasswd fills Name and Home from the passwd file (normally
// /etc/passwd, root-owned and trusted). It never fails: a uid without an entry
// keeps an empty name.
func (c *Caller) LookupPasswd(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	c.Name, c.Home = findPasswd(io.LimitReader(f, 64<<20), c.UID)
}

func findPasswd(r io.Reader, uid uint32) (name, home string) {
	want := strconv.FormatUint(uint64(uid), 10)
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 0, 4096), 1<<20)
	for s.Scan() {
		f := strings.Split(s.Text(), ":")
		if len(f) == 7 && f[2] == want {
			return f[0], f[5]
		}
	}
	return "", ""
}

// GroupIDs resolves group names (or numeric ids) from the group file
// (normally /etc/group). Names with no entry are skipped: a group that does
// not exist on this host has no members to deny.
func GroupIDs(path string, names []string) (map[uint32]string, error) {
	out := map[uint32]string{}
	want := map[string]bool{}
	for _, n := range names {
		if id, err := strconv.ParseUint(n, 10, 32); err == nil {
			out[uint32(id)] = n
			continue
		}
		want[n] = true
	}
	if len(want) == 0 {
		return out, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	defer f.Close()
	s := bufio.NewScanner(io.LimitReader(f, 64<<20))
	s.Buffer(make([]byte, 0, 4096), 16<<20)
	for s.Scan() {
		fs := strings.Split(s.Text(), ":")
		if len(fs) < 3 || !want[fs[0]] {
			continue
		}
		if id, err := strconv.ParseUint(fs[2], 10, 32); err == nil {
			out[uint32(id)] = fs[0]
		}
	}
	if err := s.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return out, nil
}
