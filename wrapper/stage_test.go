package wrapper

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/security"
)

type stageProbe map[int]string

func (p stageProbe) processStart(pid int) (string, bool, error) {
	s, ok := p[pid]
	return s, ok, nil
}
func (p stageProbe) taskExists(string) (bool, error) { return true, nil }

// TestStageBindsPinnedObjectAndGCRemovesIt: the staged clone is the pinned
// object (read-only when asked), survives a rename of the source, and
// gcStaging removes it only once its wrapper is gone.
func TestStageBindsPinnedObjectAndGCRemovesIt(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	old := stagingRoot
	stagingRoot = filepath.Join(t.TempDir(), "socker")
	defer func() { stagingRoot = old }()
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "f"), []byte("pinned"), 0o644)
	fd, err := unix.Open(src, unix.O_PATH|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	pins := []security.Pinned{{Index: 0, Fd: fd, Dir: true}}
	mounts := []security.Mount{{Source: src, Target: "/v", ReadOnly: true}}
	// The path now names something else: the clone is still the pinned one.
	os.Rename(src, src+".moved")
	os.Mkdir(src, 0o755)
	w := Wrapper{PID: 4242, Start: "99"}
	paths, err := stage(w, pins, mounts)
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(stagingRoot, "4242-99", "m0")
	if paths[0] != want {
		t.Fatalf("staged at %q, want %q", paths[0], want)
	}
	if b, err := os.ReadFile(filepath.Join(want, "f")); err != nil || string(b) != "pinned" {
		t.Fatalf("staged clone: %q %v", b, err)
	}
	if err := os.WriteFile(filepath.Join(want, "g"), nil, 0o644); err == nil {
		t.Fatal("read-only staged mount is writable")
	}
	if st, _ := os.Stat(stagingRoot); st.Mode().Perm() != 0o700 {
		t.Fatalf("staging root mode %v", st.Mode())
	}
	// Alive: kept. Gone (or another start time): removed, mount and all.
	if n, err := gcStaging(stageProbe{4242: "99"}); n != 0 || err != nil {
		t.Fatalf("alive wrapper: gc removed %d, %v", n, err)
	}
	if n, err := gcStaging(stageProbe{4242: strconv.Itoa(100)}); n != 1 || err != nil {
		t.Fatalf("gone wrapper: gc removed %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(stagingRoot, "4242-99")); !os.IsNotExist(err) {
		t.Fatalf("staging directory left: %v", err)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), want) {
		t.Fatal("staged mount left")
	}
	// A staging root that is not root's 0700 is refused.
	os.Chmod(stagingRoot, 0o755)
	if _, err := stage(Wrapper{PID: 1, Start: "1"}, pins, mounts); err == nil {
		t.Fatal("staged under a 0755 staging root")
	}
}
