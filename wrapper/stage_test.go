package wrapper

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/security"
)

// otherMountNS starts a process in a mount namespace of its own with private
// propagation (as `unshare -m` in front of socker, or a Mesos task with
// filesystem/linux, but standing for Docker's side here) and returns an fd
// of that namespace and the process's pid.
func otherMountNS(t *testing.T) (int, int) {
	t.Helper()
	cmd := exec.Command("unshare", "-m", "--propagation", "private", "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	self, _ := os.Readlink("/proc/self/ns/mnt")
	ns := "/proc/" + strconv.Itoa(cmd.Process.Pid) + "/ns/mnt"
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if l, err := os.Readlink(ns); err == nil && l != self {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("unshare did not make a mount namespace")
		}
	}
	fd, err := unix.Open(ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd, cmd.Process.Pid
}

// TestStageInDockersNamespace: socker pins in its own mount namespace and
// stages in another (Docker's side): the clone is there, at the path Docker
// is given, and is the pinned object (read-only when asked), even though
// the source's path names something else by then; socker's own namespace
// sees only the empty placeholder. While the run's lock is held, gcStaging
// keeps the directory; once it is free (the wrapper gone, in whatever pid
// namespace), gc removes it, mount and all.
func TestStageInDockersNamespace(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	old := stagingRoot
	stagingRoot = filepath.Join(t.TempDir(), "socker")
	defer func() { stagingRoot = old }()
	nsfd, pid := otherMountNS(t)
	side, err := enterMountNS(nsfd)
	if err != nil {
		t.Fatal(err)
	}
	defer side.close()
	there := func(p string) string { return "/proc/" + strconv.Itoa(pid) + "/root" + p }
	defer side.do(func() error { return unix.Unmount(stagingRoot, unix.MNT_DETACH) })

	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("pinned"), 0o644)
	fd, err := unix.Open(src, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	unix.Fstat(fd, &st)
	pins := []security.Pinned{{Index: 0, Fd: fd, Dir: true, Dev: st.Dev, Ino: st.Ino}}
	mounts := []security.Mount{{Source: src, Target: "/v", ReadOnly: true}}
	// The path now names something else: the clone is still the pinned one.
	os.Rename(src, src+".moved")
	os.Mkdir(src, 0o755)

	s, err := newStaging(side)
	if err != nil {
		t.Fatal(err)
	}
	if !isLaunchID(s.launch) {
		t.Fatalf("launch id %q", s.launch)
	}
	paths, err := s.stage(pins, mounts)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(stagingRoot, s.launch, "m0")
	if paths[0] != want {
		t.Fatalf("staged at %q, want %q", paths[0], want)
	}
	if b, err := os.ReadFile(there(want + "/f")); err != nil || string(b) != "pinned" {
		t.Fatalf("staged clone on Docker's side: %q %v", b, err)
	}
	if err := os.WriteFile(there(want+"/g"), nil, 0o644); err == nil {
		t.Fatal("read-only staged mount is writable")
	}
	if entries, err := os.ReadDir(want); err != nil || len(entries) != 0 {
		t.Fatalf("socker's own namespace sees %v (%v) at %s, want the empty placeholder", entries, err, want)
	}
	// The staging root is a private mount on Docker's side: nothing staged
	// propagates to its peers.
	mi, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo")
	if !mountedPrivate(string(mi), stagingRoot) {
		t.Fatalf("%s is not a private mount on Docker's side:\n%s", stagingRoot, mi)
	}
	if st, _ := os.Stat(stagingRoot); st.Mode().Perm() != 0o700 {
		t.Fatalf("staging root mode %v", st.Mode())
	}

	// Held: kept, and its launch is alive. Free: removed, mount and all.
	alive := func() bool {
		var a bool
		side.do(func() error { a, err = launchAlive(s.launch); return err })
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	gc := func() int {
		var n int
		side.do(func() error { n, err = gcStaging(); return err })
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if !alive() || gc() != 0 {
		t.Fatal("gc removed a live run's staging")
	}
	unix.Close(s.lockfd) // the wrapper is gone
	if alive() {
		t.Fatal("a free lock reads as alive")
	}
	if n := gc(); n != 1 {
		t.Fatalf("gone wrapper: gc removed %d", n)
	}
	if _, err := os.Stat(there(filepath.Join(stagingRoot, s.launch))); !os.IsNotExist(err) {
		t.Fatalf("staging directory left: %v", err)
	}
	if b, _ := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/mountinfo"); strings.Contains(string(b), want) {
		t.Fatal("staged mount left")
	}
	// A staging root that is not root's 0700 is refused.
	os.Chmod(stagingRoot, 0o755)
	if _, err := newStaging(side); err == nil {
		t.Fatal("staged under a 0755 staging root")
	}
}

// mountedPrivate reports whether mountinfo has a mount at dir whose
// optional fields carry no propagation (shared:N, master:N).
func mountedPrivate(mountinfo, dir string) bool {
	found := false
	for _, line := range strings.Split(mountinfo, "\n") {
		f := strings.Fields(line)
		if len(f) < 7 || f[4] != dir {
			continue
		}
		found = true
		for _, o := range f[6:] {
			if o == "-" {
				break
			}
			if strings.HasPrefix(o, "shared:") || strings.HasPrefix(o, "master:") {
				return false
			}
		}
	}
	return found
}
