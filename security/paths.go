package security

import (
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// ResolveSource checks a mount source allowed by Decide, as the caller (call
// it only after DropPrivileges). The path must exist, be reachable without
// following any symlink or magic link (openat2 RESOLVE_NO_SYMLINKS |
// RESOLVE_NO_MAGICLINKS), be a directory or a regular file, and be readable
// by the caller. Docker resolves the path again when it mounts it; because
// the container runs as the caller with no capabilities and no_new_privs, a
// race won there gives the caller nothing they could not already read.
func ResolveSource(unsafePath string) error {
	fd, err := unix.Openat2(unix.AT_FDCWD, unsafePath, &unix.OpenHow{
		Flags:   unix.O_PATH | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_NO_SYMLINKS | unix.RESOLVE_NO_MAGICLINKS,
	})
	switch {
	case errors.Is(err, unix.ENOENT), errors.Is(err, unix.ENOTDIR):
		return fmt.Errorf("mount source %q does not exist", unsafePath)
	case errors.Is(err, unix.ELOOP):
		return fmt.Errorf("mount source %q is or passes through a symlink", unsafePath)
	case errors.Is(err, unix.EACCES):
		return fmt.Errorf("mount source %q is not accessible to you", unsafePath)
	case err != nil:
		return fmt.Errorf("resolving mount source %q: %w", unsafePath, err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("resolving mount source %q: %w", unsafePath, err)
	}
	mode := uint32(unix.R_OK)
	switch st.Mode & unix.S_IFMT {
	case unix.S_IFDIR:
		mode |= unix.X_OK
	case unix.S_IFREG:
	default:
		return fmt.Errorf("mount source %q is neither a directory nor a regular file", unsafePath)
	}
	if err := unix.Faccessat2(fd, "", mode, unix.AT_EMPTY_PATH|unix.AT_EACCESS); err != nil {
		return fmt.Errorf("mount source %q is not readable by you", unsafePath)
	}
	return nil
}
