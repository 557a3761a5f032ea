package wrapper

// Part of step 3 of run, and of gc: the staging directories. Privileges:
// root, on Docker's side of the node (dockerside.go): every path here is
// resolved in Docker's mount namespace, whichever one socker runs in.

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/security"
)

// stagingRoot holds one root-only directory per run, named by its launch
// id (32 hex digits), with a lock file the wrapper holds locked for its
// whole life and one detached clone of each pinned mount source (m<i>).
// Docker binds those, never the caller's path: the object bound is the
// object checked as the caller. socker gc removes the directories whose
// lock is free, and the containers whose wrapper's lock is free: a lock
// says whether its wrapper lives in any pid namespace, a pid does not.
//
// stagingRoot is a private mount of its own (bound onto itself), so that
// the clones staged beneath it propagate to no other mount namespace (a
// shared /run would carry them into its peers). rootLock, locked
// exclusively, serialises making a run's directory with gc's scan.
var stagingRoot = "/run/socker"

const (
	rootLock = ".lock"
	runLock  = "lock"
)

// staging is one run's staging directory, in Docker's mount namespace.
type staging struct {
	side   *dockerSide
	launch string // the directory's name
	dir    string // its path, for Docker
	dirfd  int
	lockfd int // locked until the process ends; never closed
}

// openStagingRoot opens (creating it if missing) stagingRoot, which must be
// a real directory owned by root with mode 0700. Call it on Docker's side.
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

// lockStagingRoot opens stagingRoot, makes it a private mount of its own if
// it is not one, and takes rootLock exclusively. It returns the root's fd
// (the private mount's) and the lock's; closing the lock's fd releases it.
func lockStagingRoot() (root, lock int, err error) {
	if root, err = openStagingRoot(); err != nil {
		return -1, -1, err
	}
	lock, err = unix.Openat(root, rootLock, unix.O_CREAT|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
	if err == nil {
		err = unix.Flock(lock, unix.LOCK_EX)
	}
	if err != nil {
		unix.Close(root)
		return -1, -1, fmt.Errorf("locking %s/%s: %w", stagingRoot, rootLock, err)
	}
	fail := func(err error) (int, int, error) {
		unix.Close(root)
		unix.Close(lock)
		return -1, -1, err
	}
	var stx unix.Statx_t
	if err := unix.Statx(root, "", unix.AT_EMPTY_PATH, unix.STATX_BASIC_STATS, &stx); err != nil {
		return fail(fmt.Errorf("%s: %w", stagingRoot, err))
	}
	if stx.Attributes_mask&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		return fail(fmt.Errorf("%s: this kernel does not say whether it is a mount point", stagingRoot))
	}
	if stx.Attributes&unix.STATX_ATTR_MOUNT_ROOT == 0 {
		if err := unix.Mount(stagingRoot, stagingRoot, "", unix.MS_BIND, ""); err != nil {
			return fail(fmt.Errorf("making %s a mount of its own: %w", stagingRoot, err))
		}
		// The fd opened before names the directory beneath the new mount.
		unix.Close(root)
		if root, err = openStagingRoot(); err != nil {
			unix.Close(lock)
			return -1, -1, err
		}
	}
	if err := unix.Mount("", stagingRoot, "", unix.MS_PRIVATE, ""); err != nil {
		return fail(fmt.Errorf("making %s a private mount: %w", stagingRoot, err))
	}
	return root, lock, nil
}

// newStaging makes this run's staging directory on Docker's side, with a
// new launch id, and locks its lock for the rest of the process's life. Call
// it as root.
func newStaging(side *dockerSide) (*staging, error) {
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return nil, fmt.Errorf("making a launch id: %w", err)
	}
	s := &staging{side: side, launch: hex.EncodeToString(id), dirfd: -1, lockfd: -1}
	s.dir = stagingRoot + "/" + s.launch
	err := side.do(func() error {
		root, lock, err := lockStagingRoot()
		if err != nil {
			return err
		}
		defer unix.Close(root)
		defer unix.Close(lock)
		if err := unix.Mkdirat(root, s.launch, 0o700); err != nil {
			return fmt.Errorf("creating %s: %w", s.dir, err)
		}
		if err := unix.Fchownat(root, s.launch, 0, 0, unix.AT_SYMLINK_NOFOLLOW); err != nil {
			unix.Unlinkat(root, s.launch, unix.AT_REMOVEDIR)
			return fmt.Errorf("creating %s: %w", s.dir, err)
		}
		if s.dirfd, err = unix.Openat(root, s.launch, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0); err != nil {
			unix.Unlinkat(root, s.launch, unix.AT_REMOVEDIR)
			return fmt.Errorf("opening %s: %w", s.dir, err)
		}
		s.lockfd, err = unix.Openat(s.dirfd, runLock, unix.O_CREAT|unix.O_EXCL|unix.O_RDWR|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0o600)
		if err == nil {
			err = unix.Flock(s.lockfd, unix.LOCK_EX|unix.LOCK_NB)
		}
		if err != nil {
			s.removeLocked()
			return fmt.Errorf("locking %s/%s: %w", s.dir, runLock, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return s, nil
}

// stage clones each pinned source (open_tree OPEN_TREE_CLONE, in socker's
// own mount namespace, where the pin was made: the pinned object itself,
// not whatever its path names now), makes the clone nosuid, nodev and, for
// a read-only mount, read-only, and moves it, on Docker's side, to
// <s.dir>/m<i>, then checks there that the path Docker is given names the
// pinned object. It returns the staged path of each mount index. Call it as
// root; on an error the staging directory is removed.
func (s *staging) stage(pins []security.Pinned, mounts []security.Mount) (map[int]string, error) {
	paths := map[int]string{}
	for _, p := range pins {
		name, err := s.add(p, mounts[p.Index].ReadOnly)
		if err != nil {
			s.remove()
			return nil, err
		}
		paths[p.Index] = s.dir + "/" + name
	}
	return paths, nil
}

func (s *staging) add(p security.Pinned, readOnly bool) (string, error) {
	name := "m" + strconv.Itoa(p.Index)
	tree, err := unix.OpenTree(p.Fd, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return "", fmt.Errorf("cloning mount source %d: %w", p.Index, err)
	}
	defer unix.Close(tree)
	attr := uint64(unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV)
	if readOnly {
		attr |= unix.MOUNT_ATTR_RDONLY
	}
	if err := unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: attr}); err != nil {
		return "", fmt.Errorf("restricting mount source %d: %w", p.Index, err)
	}
	return name, s.side.do(func() error {
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
		if err := unix.MoveMount(tree, "", s.dirfd, name, unix.MOVE_MOUNT_F_EMPTY_PATH); err != nil {
			unlinkStaged(s.dirfd, name)
			return fmt.Errorf("staging mount source %d: %w", p.Index, err)
		}
		// What Docker will resolve, resolved as it will be.
		var st unix.Stat_t
		if err := unix.Stat(s.dir+"/"+name, &st); err != nil {
			return fmt.Errorf("checking staged mount %d: %w", p.Index, err)
		}
		if st.Dev != p.Dev || st.Ino != p.Ino {
			return fmt.Errorf("staged mount %d at %s/%s is dev %d ino %d in the Docker daemon's mount namespace, not the object checked (dev %d ino %d)", p.Index, s.dir, name, st.Dev, st.Ino, p.Dev, p.Ino)
		}
		return nil
	})
}

func unlinkStaged(dirfd int, name string) {
	if err := unix.Unlinkat(dirfd, name, unix.AT_REMOVEDIR); err != nil {
		unix.Unlinkat(dirfd, name, 0)
	}
}

// remove undoes newStaging and stage (as root).
func (s *staging) remove() {
	s.side.do(func() error { s.removeLocked(); return nil })
}

// removeLocked removes the directory; call it on Docker's side.
func (s *staging) removeLocked() {
	unix.Close(s.dirfd)
	s.dirfd = -1
	removeStaging(s.dir)
	if s.lockfd >= 0 {
		unix.Close(s.lockfd)
		s.lockfd = -1
	}
}

// removeStaging detaches every mount in a staging directory and removes it.
// Call it on Docker's side.
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

// launchAlive reports whether the wrapper of a launch id still lives: its
// staging lock is held. A launch without a staging directory (or lock) has
// no wrapper: newStaging makes both before anything else is made for the
// launch. Call it on Docker's side.
func launchAlive(launch string) (bool, error) {
	if !isLaunchID(launch) {
		return false, fmt.Errorf("%q is not a launch id", launch)
	}
	fd, err := unix.Open(stagingRoot+"/"+launch+"/"+runLock, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer unix.Close(fd)
	switch err := unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB); {
	case errors.Is(err, unix.EWOULDBLOCK):
		return true, nil
	case err != nil:
		return false, err
	}
	return false, nil
}

// isLaunchID reports whether name is a launch id: 32 lower-case hex digits.
func isLaunchID(name string) bool {
	if len(name) != 32 {
		return false
	}
	_, err := hex.DecodeString(name)
	return err == nil && strings.ToLower(name) == name
}

// gcStaging removes the staging directories whose wrapper is gone (their
// lock is free), holding rootLock so that no run is making its directory
// meanwhile. Directories of an older socker (named <pid>-<start>, without a
// lock) are gone wrappers' too. It returns how many it removed. Call it on
// Docker's side.
func gcStaging() (int, error) {
	if _, err := os.Stat(stagingRoot); errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	root, lock, err := lockStagingRoot()
	if err != nil {
		return 0, err
	}
	defer unix.Close(root)
	defer unix.Close(lock)
	entries, err := os.ReadDir(stagingRoot)
	if err != nil {
		return 0, err
	}
	n := 0
	var first error
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		if isLaunchID(e.Name()) {
			if alive, err := launchAlive(e.Name()); err != nil || alive {
				continue
			}
		} else if _, _, old := strings.Cut(e.Name(), "-"); !old {
			continue // not socker's
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
