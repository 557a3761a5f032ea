package wrapper

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/security"
)

// stagingRoot holds one root-only directory per running wrapper,
// <pid>-<starttime>, with one detached clone of each pinned mount source
// (m<i>). Docker binds those, never the caller's path: the object bound is
// the object checked as the caller. socker gc removes the directories of
// wrappers that are gone.
var stagingRoot = "/run/socker"

// staging is one wrapper's staging directory.
type staging struct {
	dir   string // path, for Docker
	dirfd int
	names []string // mounted entries, to undo
}

// openStagingRoot opens (creating it if missing) stagingRoot, which must be
// a real directory owned by root with mode 0700.
func openStagingRoot() (int, error) {
	// socker is setuid, not setgid: a new directory gets the caller's group
	// until it is given to root's.
	if err := unix.Mkdir(stagingRoot, 0o700); err == nil {
		if err := unix.Fchownat(unix.AT_FDCWD, stagingRoot, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			return -1, fmt.Errorf("creating %s: %w", stagingRoot, err)
		}
	} else if !errors.Is(err, unix.EEXIST) {
		return -1, fmt.Errorf("creating %s: %w", stagingRoot, err)
	}
	fd, err := unix.Open(stagingRoot, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("opening %s: %w", stagingRoot, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("%s: %w", stagingRoot, err)
	}
	if st.Uid != 0 || st.Gid != 0 || st.Mode&0o7777 != 0o700 {
		unix.Close(fd)
		return -1, fmt.Errorf("%s must be a directory owned by root:root with mode 0700 (it is %d:%d, mode %o)", stagingRoot, st.Uid, st.Gid, st.Mode&0o7777)
	}
	return fd, nil
}

// stage clones each pinned source (open_tree OPEN_TREE_CLONE: the pinned
// object itself, not whatever its path names now), makes the clone nosuid,
// nodev and, for a read-only mount, read-only, and moves it to
// stagingRoot/<w.PID>-<w.Start>/m<i>. It returns the staged path of each
// mount index. Call it as root; on an error everything staged is undone.
func stage(w Wrapper, pins []security.Pinned, mounts []security.Mount) (map[int]string, error) {
	root, err := openStagingRoot()
	if err != nil {
		return nil, err
	}
	defer unix.Close(root)
	name := fmt.Sprintf("%d-%s", w.PID, w.Start)
	if err := unix.Mkdirat(root, name, 0o700); err != nil {
		return nil, fmt.Errorf("creating %s/%s: %w", stagingRoot, name, err)
	}
	if err := unix.Fchownat(root, name, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		unix.Unlinkat(root, name, unix.AT_REMOVEDIR)
		return nil, fmt.Errorf("creating %s/%s: %w", stagingRoot, name, err)
	}
	dirfd, err := unix.Openat(root, name, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		unix.Unlinkat(root, name, unix.AT_REMOVEDIR)
		return nil, fmt.Errorf("opening %s/%s: %w", stagingRoot, name, err)
	}
	s := &staging{dir: stagingRoot + "/" + name, dirfd: dirfd}
	paths := map[int]string{}
	for _, p := range pins {
		if err := s.add(p, mounts[p.Index].ReadOnly); err != nil {
			s.remove()
			return nil, err
		}
		paths[p.Index] = s.dir + "/" + s.names[len(s.names)-1]
	}
	unix.Close(s.dirfd)
	return paths, nil
}

func (s *staging) add(p security.Pinned, readOnly bool) error {
	name := "m" + strconv.Itoa(p.Index)
	if p.Dir {
		if err := unix.Mkdirat(s.dirfd, name, 0o700); err != nil {
			return fmt.Errorf("staging mount %d: %w", p.Index, err)
		}
	} else {
		fd, err := unix.Openat(s.dirfd, name, unix.O_CREAT|unix.O_EXCL|unix.O_WRONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err != nil {
			return fmt.Errorf("staging mount %d: %w", p.Index, err)
		}
		unix.Close(fd)
	}
	tree, err := unix.OpenTree(p.Fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		s.unlink(name)
		return fmt.Errorf("cloning mount source %d: %w", p.Index, err)
	}
	defer unix.Close(tree)
	attr := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if readOnly {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: attr}); err != nil {
		s.unlink(name)
		return fmt.Errorf("restricting mount source %d: %w", p.Index, err)
	}
	if err := unix.MoveMount(tree, "", s.dirfd, name, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
		s.unlink(name)
		return fmt.Errorf("staging mount source %d: %w", p.Index, err)
	}
	s.names = append(s.names, name)
	return nil
}

func (s *staging) unlink(name string) {
	if err := unix.Unlinkat(s.dirfd, name, unix.AT_REMOVEDIR); err != nil {
		unix.Unlinkat(s.dirfd, name, 0)
	}
}

// remove undoes stage (as root).
func (s *staging) remove() {
	unix.Close(s.dirfd)
	removeStaging(s.dir)
}

// removeStaging detaches every mount in a staging directory and removes it.
func removeStaging(dir string) error {
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	for _, e := range entries {
		p := dir + "/" + e.Name()
		unix.Unmount(p, unix.MNT_DETACH|unix.UMOUNT_NOFOLLOW)
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

// gcStaging removes the staging directories of wrappers that are gone (no
// live process with that pid and start time). It returns how many it removed.
func gcStaging(p probe) (int, error) {
	entries, err := os.ReadDir(stagingRoot)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, e := range entries {
		pid, start, ok := strings.Cut(e.Name(), "-")
		id, err := strconv.Atoi(pid)
		if !ok || err != nil || !e.IsDir() {
			continue
		}
		got, alive, err := p.processStart(id)
		if err != nil {
			continue
		}
		if alive && got == start {
			continue
		}
		if err := removeStaging(stagingRoot + "/" + e.Name()); err != nil {
			if first == nil {
				first = err
			}
			continue
		}
		n++
	}
	return n, first
}
