package wrapper

// Docker's side of the node. Privileges: root to enter it (setns needs
// CAP_SYS_ADMIN), then whatever the process has: the privilege drop applies
// to this thread as to every other (dropRoot checks).
//
// socker may run in mount and pid namespaces of its own: a Mesos agent with
// filesystem/linux gives each task a mount namespace, namespaces/pid a pid
// namespace with its own /proc. Docker resolves every path socker gives it
// (a mount source) in its own mount namespace, and reports pids (a
// container's init) as its /proc numbers them. So whatever socker must see
// as Docker does runs on one OS thread of its own that has entered the
// mount namespace of the Docker socket's peer: staging the mount sources,
// the staging lock, and opening the container init's /proc directory. The
// thread is locked and never handed back to the Go runtime, which ends it
// when socker exits.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// pidfdGetMntNamespace is PIDFD_GET_MNT_NAMESPACE, _IO(PIDFS_IOCTL_MAGIC,
// 3) (linux/pidfd.h, Linux 6.11): the mount namespace of a pidfd's process.
const pidfdGetMntNamespace = 0xFF03

// dockerSide runs functions on the thread in Docker's mount namespace.
type dockerSide struct {
	calls chan func()
	// MountNS names Docker's mount namespace ("mnt:[4026531841]"), for the
	// audit log.
	MountNS string
}

// enterDockerSide starts the thread in the mount namespace of the process
// that listens on conn's other end: dockerd, or systemd for a socket
// activated docker.socket (whose namespace is dockerd's). The namespace is
// found from the socket's peer, never from a path or a pid the caller could
// name: SO_PEERPIDFD and PIDFD_GET_MNT_NAMESPACE work across pid namespaces;
// on an older kernel the peer's pid must be visible in socker's own pid
// namespace. Call it as root.
func enterDockerSide(conn net.Conn) (*dockerSide, error) {
	nsfd, err := peerMountNS(conn)
	if err != nil {
		return nil, fmt.Errorf("finding the Docker daemon's mount namespace: %w", err)
	}
	defer unix.Close(nsfd)
	return enterMountNS(nsfd)
}

// enterMountNS starts the thread in the mount namespace nsfd names.
func enterMountNS(nsfd int) (*dockerSide, error) {
	var st unix.Stat_t
	if err := unix.Fstat(nsfd, &st); err != nil {
		return nil, fmt.Errorf("finding the Docker daemon's mount namespace: %w", err)
	}
	d := &dockerSide{calls: make(chan func()), MountNS: fmt.Sprintf("mnt:[%d]", st.Ino)}
	entered := make(chan error)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		// setns(CLONE_NEWNS) refuses a thread that shares its root and cwd
		// with others, as every Go thread does.
		if err := unix.Unshare(unix.CLONE_FS); err != nil {
			entered <- fmt.Errorf("entering the Docker daemon's mount namespace: unshare(CLONE_FS): %w", err)
			return
		}
		if err := unix.Setns(nsfd, unix.CLONE_NEWNS); err != nil {
			entered <- fmt.Errorf("entering the Docker daemon's mount namespace %s: %w", d.MountNS, err)
			return
		}
		entered <- nil
		for f := range d.calls {
			f()
		}
	}()
	if err := <-entered; err != nil {
		return nil, err
	}
	return d, nil
}

// peerMountNS returns an fd of the mount namespace of conn's peer.
func peerMountNS(conn net.Conn) (int, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return -1, errors.New("not a unix socket connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return -1, err
	}
	var pidfd, pid int
	var sockErr error
	if err := raw.Control(func(fd uintptr) {
		pidfd, sockErr = unix.GetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_PEERPIDFD)
		if sockErr != nil {
			var cred *unix.Ucred
			if cred, sockErr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED); sockErr == nil {
				pid = int(cred.Pid)
			}
		}
	}); err != nil {
		return -1, err
	}
	if sockErr != nil {
		return -1, fmt.Errorf("reading the socket's peer: %w", sockErr)
	}
	if pidfd > 0 {
		defer unix.Close(pidfd)
		ns, err := unix.IoctlRetInt(pidfd, pidfdGetMntNamespace)
		if err == nil {
			return ns, nil
		}
		if !errors.Is(err, unix.ENOTTY) && !errors.Is(err, unix.EINVAL) {
			return -1, fmt.Errorf("PIDFD_GET_MNT_NAMESPACE: %w", err)
		}
		// Linux 6.5 to 6.10: a pidfd, but no namespace ioctl.
		if pid, err = pidfdPid(pidfd); err != nil {
			return -1, err
		}
	}
	return visibleMountNS(pid)
}

// pidfdPid is the pid of a pidfd's process in socker's pid namespace (0 if
// it is not in it), from /proc/self/fdinfo.
func pidfdPid(pidfd int) (int, error) {
	data, err := os.ReadFile("/proc/self/fdinfo/" + strconv.Itoa(pidfd))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "Pid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, errors.New("no Pid in the pidfd's fdinfo")
}

// visibleMountNS opens /proc/<pid>/ns/mnt for a peer whose pid socker's
// own pid namespace shows, pinning the process with a pidfd across the
// open.
func visibleMountNS(pid int) (int, error) {
	if pid <= 0 {
		return -1, errors.New("the Docker daemon is outside this pid namespace, and this kernel (before Linux 6.11) cannot name its mount namespace from here")
	}
	if self, err := os.Readlink("/proc/self"); err != nil || self != strconv.Itoa(os.Getpid()) {
		return -1, errors.New("/proc is not this pid namespace's")
	}
	pidfd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("pidfd_open %d: %w", pid, err)
	}
	defer unix.Close(pidfd)
	ns, err := unix.Open("/proc/"+strconv.Itoa(pid)+"/ns/mnt", unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); err != nil {
		unix.Close(ns)
		return -1, fmt.Errorf("the Docker daemon (pid %d) went away: %w", pid, err)
	}
	return ns, nil
}

// do runs f on Docker's side and returns its error.
func (d *dockerSide) do(f func() error) error {
	done := make(chan error)
	d.calls <- func() { done <- f() }
	return <-done
}

// close ends the thread.
func (d *dockerSide) close() { close(d.calls) }

// hostPID is this process's pid as Docker's /proc numbers it (0 if unknown).
func (d *dockerSide) hostPID() int {
	var pid int
	d.do(func() error {
		s, err := os.Readlink("/proc/self")
		if err == nil {
			pid, _ = strconv.Atoi(s)
		}
		return nil
	})
	return pid
}

// openProc opens Docker's /proc/<pid> (an O_PATH directory fd): the files
// read through it are that process's, or fail once it is gone, whatever
// the pid names later.
func (d *dockerSide) openProc(pid int) (int, error) {
	fd := -1
	err := d.do(func() error {
		var err error
		fd, err = unix.Open("/proc/"+strconv.Itoa(pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
		return err
	})
	return fd, err
}
