package security

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// openAndCheck is the I/O half of the path rules: it opens every user mount
// source of d and checks it and the working directory with the file-system
// identity of the calling thread (PinSources runs it on a thread with the
// caller's), and returns the opened sources. runc mounts as root and, as
// root, creates any mount point or working directory that is missing, even
// inside a bind-mounted host directory, where its owner could not delete it.
// Decide refuses nested targets and targets that meet Docker's own mounts;
// openAndCheck refuses the rest:
//
//   - every user mount source must exist, be reached without any symlink or
//     magic link, be a directory or a regular file and be readable (reason
//     "mount-source", see openSource) and, mounted read-write, be writable
//     ("mount-not-writable"): it is never made read-only behind the
//     caller's back;
//   - a working directory in a mount (a user's or a site's) must already be
//     a directory in its source, reached from it without a symlink or a
//     mount point ("workdir-missing", "workdir-unreachable"); for a user
//     mount it is looked up beneath the source opened, not by path. One in
//     no mount is created by runc in the container's own copy-on-write
//     layer, which is allowed.
//
// On a refusal every descriptor it opened is closed.
func openAndCheck(d Decision) (pins []Pinned, err error) {
	defer func() {
		if err != nil {
			ClosePinned(pins)
			pins = nil
		}
	}()
	fds := map[int]int{}
	for i, m := range d.Mounts {
		if m.Site {
			continue
		}
		fd, st, err := openSource(m.Source)
		if err != nil {
			return pins, &Denial{Reason: "mount-source", Msg: err.Error()}
		}
		pins = append(pins, Pinned{Index: i, Fd: fd, Dev: st.Dev, Ino: st.Ino, Dir: st.Mode&unix.S_IFMT == unix.S_IFDIR})
		fds[i] = fd
		if err := checkWritable(fd, m); err != nil {
			return pins, err
		}
	}
	i, rel, ok := mountFor(d.Workdir, d.Mounts)
	if !ok {
		return pins, nil
	}
	if fd, pinned := fds[i]; pinned {
		return pins, checkWorkdirAt(fd, d.Workdir, d.Mounts[i], rel)
	}
	return pins, checkSiteWorkdir(d.Workdir, d.Mounts[i], rel)
}

// openSource opens a user mount source with the calling thread's
// file-system identity and returns its O_PATH descriptor and what it is.
// The path must exist, be reachable without following any symlink or
// magic link (openat2 RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS), be a
// directory or a regular file, and be readable.
func openSource(unsafePath string) (int, unix.Stat_t, error) {
	var st unix.Stat_t
	fd, err := unix.Openat2(unix.AT_FDCWD, unsafePath, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return -1, st, fmt.Errorf("mount source %q does not exist", unsafePath)
	case errors.Is(err, unix.ELOOP):
		return -1, st, fmt.Errorf("mount source %q is or passes through a symlink", unsafePath)
	case errors.Is(err, unix.EACCES):
		return -1, st, fmt.Errorf("mount source %q is not accessible to you", unsafePath)
	case err != nil:
		return -1, st, fmt.Errorf("resolving mount source %q: %w", unsafePath, err)
	}
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, st, fmt.Errorf("resolving mount source %q: %w", unsafePath, err)
	}
	mode := uint32(unix.R_OK)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= unix.X_OK
	case unix.S_IFREG:
	default:
		unix.Close(fd)
		return -1, st, fmt.Errorf("mount source %q is neither a directory nor a regular file", unsafePath)
	}
	if err := unix.Faccessat2(fd, "", mode, unix.AT_EMPTY_PATH|unix.AT_EACCESS); err != nil {
		unix.Close(fd)
		return -1, st, fmt.Errorf("mount source %q is not readable by you", unsafePath)
	}
	return fd, st, nil
}

// checkWritable checks, for a read-write mount m, that the caller can write
// the object fd (its opened source).
func checkWritable(fd int, m Mount) error {
	if m.ReadOnly {
		return nil
	}
	err := unix.Faccessat2(fd, "", unix.W_OK, unix.AT_EMPTY_PATH|unix.AT_EACCESS)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, unix.EROFS):
		return deny("mount-not-writable", "mount source %q is on a read-only file system, so it cannot be mounted read-write: add :ro (--mount %s:%s:ro)", m.Source, m.Source, m.Target)
	case errors.Is(err, unix.EACCES), errors.Is(err, unix.EPERM):
		return deny("mount-not-writable", "mount source %q is not writable by you, so it cannot be mounted read-write: add :ro (--mount %s:%s:ro), or ask its owner for write access", m.Source, m.Source, m.Target)
	default:
		return deny("mount-not-writable", "checking that you can write mount source %q: %v; to mount it read-only add :ro", m.Source, err)
	}
}

// checkSiteWorkdir checks a working directory in site mount m at rel as
// checkWorkdirAt does. A site mount's source is the admin's and is opened
// as Docker opens it (following symlinks), but still as the caller.
func checkSiteWorkdir(unsafeWorkdir string, m Mount, rel string) error {
	src, err := unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		return deny("workdir-unreachable", "working directory %q (%q on the host): %v", unsafeWorkdir, filepath.Join(m.Source, rel), err)
	}
	defer unix.Close(src)
	return checkWorkdirAt(src, unsafeWorkdir, m, rel)
}

// checkWorkdirAt checks that the working directory, in mount m at rel, is a
// directory in m's source, opened as src, reached from it without a
// symlink, a magic link or a mount point (the bind is not recursive: the
// container sees what lies under a mount point, not the mount), so that
// runc has nothing to create there.
func checkWorkdirAt(src int, unsafeWorkdir string, m Mount, rel string) error {
	where := fmt.Sprintf("working directory %q (%q on the host)", unsafeWorkdir, filepath.Join(m.Source, rel))
	fd, err := unix.Openat2(src, rel, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_DIRECTORY | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS | unix.RESOLVE_NO_XDEV,
	})
	switch {
	case err == nil:
		unix.Close(fd)
		return nil
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return deny("workdir-missing", "%s does not exist as a directory: socker does not create it, as runc would as root; create it first, or give another --workdir", where)
	case errors.Is(err, unix.ELOOP):
		return deny("workdir-unreachable", "%s is or passes through a symlink: give the real path with --workdir", where)
	case errors.Is(err, unix.EXDEV):
		return deny("workdir-unreachable", "%s is beyond a mount point, which the mount does not carry into the container: mount that file system itself", where)
	case errors.Is(err, unix.EACCES):
		return deny("workdir-unreachable", "%s is not accessible to you", where)
	default:
		return deny("workdir-unreachable", "checking %s: %v", where, err)
	}
}
