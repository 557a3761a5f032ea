package security

import (
	"errors"
	"fmt"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// CheckPaths is the I/O half of the path rules: it checks, as the caller
// (call it only after DropPrivileges), the host paths of a Decision. runc
// mounts as root and, as root, creates any mount point or working directory
// that is missing, even inside a bind-mounted host directory, where its
// owner could not delete it. Decide refuses nested targets and targets that
// meet Docker's own mounts; CheckPaths refuses the rest:
//
//   - every user mount source must pass ResolveSource (reason
//     "mount-source") and, mounted read-write, be writable by the caller
//     ("mount-not-writable"): it is never made read-only behind their back;
//   - a working directory in a mount (a user's or a site's) must already be
//     a directory in its source, reached from it without a symlink or a
//     mount point ("workdir-missing", "workdir-unreachable"). One in no mount
//     is created by runc in the container's own copy-on-write layer, which
//     is allowed.
//
// socker itself calls PinSources, which applies these same checks to
// descriptors opened as the caller before root is dropped; CheckPaths runs
// them by path, for callers that have dropped root already.
func CheckPaths(d Decision) error {
	for _, m := range d.Mounts {
		if m.Site {
			continue
		}
		if err := checkSource(m); err != nil {
			return err
		}
	}
	if m, rel, ok := mountFor(d.Workdir, d.Mounts); ok {
		return checkWorkdirSource(d.Workdir, m, rel)
	}
	return nil
}

// ResolveSource checks a mount source allowed by Decide, as the caller (call
// it only after DropPrivileges). The path must exist, be reachable without
// following any symlink or magic link (openat2 RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS), be a directory or a regular file, and be readable
// by the caller. socker run does not hand Docker the path: PinSources
// checks the same way on an opened descriptor and the wrapper stages a
// clone of that very object (see wrapper.pinAndStage).
func ResolveSource(unsafePath string) error {
	fd, err := openSource(unsafePath)
	if err != nil {
		return err
	}
	unix.Close(fd)
	return nil
}

// openSource opens a user mount source as ResolveSource describes and
// returns its O_PATH descriptor.
func openSource(unsafePath string) (int, error) {
	fd, err := unix.Openat2(unix.AT_FDCWD, unsafePath, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return -1, fmt.Errorf("mount source %q does not exist", unsafePath)
	case errors.Is(err, unix.ELOOP):
		return -1, fmt.Errorf("mount source %q is or passes through a symlink", unsafePath)
	case errors.Is(err, unix.EACCES):
		return -1, fmt.Errorf("mount source %q is not accessible to you", unsafePath)
	case err != nil:
		return -1, fmt.Errorf("resolving mount source %q: %w", unsafePath, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("resolving mount source %q: %w", unsafePath, err)
	}
	mode := uint32(unix.R_OK)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= unix.X_OK
	case unix.S_IFREG:
	default:
		unix.Close(fd)
		return -1, fmt.Errorf("mount source %q is neither a directory nor a regular file", unsafePath)
	}
	if err := unix.Faccessat2(fd, "", mode, unix.AT_EMPTY_PATH|unix.AT_EACCESS); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("mount source %q is not readable by you", unsafePath)
	}
	return fd, nil
}

// checkSource checks one user mount: its source as ResolveSource does and,
// when it is mounted read-write, that the caller can write the very object
// opened (faccessat2 W_OK with AT_EACCESS on its descriptor).
func checkSource(m Mount) error {
	fd, err := openSource(m.Source)
	if err != nil {
		return &Denial{Reason: "mount-source", Msg: err.Error()}
	}
	defer unix.Close(fd)
	return checkWritable(fd, m)
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

// checkWorkdirSource checks that the working directory, in mount m at rel, is a
// directory in m's source, reached from the source without a symlink, a
// magic link or a mount point (the bind is not recursive: the container sees
// what lies under a mount point, not the mount), so that runc has nothing to
// create there. A site mount's source is the admin's and is opened as Docker
// opens it (following symlinks), but still as the caller.
func checkWorkdirSource(unsafeWorkdir string, m Mount, rel string) error {
	where := fmt.Sprintf("working directory %q (%q on the host)", unsafeWorkdir, filepath.Join(m.Source, rel))
	var src int
	var err error
	if m.Site {
		src, err = unix.Open(m.Source, unix.O_PATH|unix.O_CLOEXEC, 0)
	} else {
		src, err = openSource(m.Source)
	}
	if err != nil {
		return deny("workdir-unreachable", "%s: %v", where, err)
	}
	defer unix.Close(src)
	return checkWorkdirAt(src, unsafeWorkdir, m, rel)
}

// checkWorkdirAt is checkWorkdirSource with m's source already opened as src.
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
