package security

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// rootTempDir skips the test unless it runs as root, and returns a new
// temporary directory that every user may pass (it and its parent 0755).
func rootTempDir(t *testing.T) string {
	t.Helper()
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	dir := t.TempDir()
	os.Chmod(filepath.Dir(dir), 0o755)
	os.Chmod(dir, 0o755)
	return dir
}

func TestPinSourcesThreadIdentity(t *testing.T) {
	dir := rootTempDir(t)
	src := filepath.Join(dir, "x")
	if err := os.Mkdir(src, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(src, 64001, 64001); err != nil {
		t.Fatal(err)
	}
	d := Decision{Mounts: []Mount{{Source: src, Target: "/v", ReadOnly: false}}}
	pins, dn := denied(PinSources(Caller{UID: 64001, GID: 64001}, d))
	if dn != nil {
		t.Fatalf("owner refused: %v", dn.Msg)
	}
	if len(pins) != 1 || pins[0].Index != 0 || !pins[0].Dir {
		t.Fatalf("pins = %+v", pins)
	}
	var st unix.Stat_t
	unix.Stat(src, &st)
	if pins[0].Dev != st.Dev || pins[0].Ino != st.Ino {
		t.Fatalf("pinned %d:%d, source is %d:%d", pins[0].Dev, pins[0].Ino, st.Dev, st.Ino)
	}
	ClosePinned(pins)
	if _, dn := denied(PinSources(Caller{UID: 64002, GID: 64002}, d)); dn == nil || dn.Reason != "mount-source" {
		t.Fatalf("other user: denial %+v, want mount-source", dn)
	}
	// Read-only, readable by group: a group member may, a non-member may not.
	os.Chmod(src, 0o750)
	ro := Decision{Mounts: []Mount{{Source: src, Target: "/v", ReadOnly: true}}}
	if _, dn := denied(PinSources(Caller{UID: 64002, GID: 64003, Groups: []uint32{64001}}, ro)); dn != nil {
		t.Fatalf("group member refused: %v", dn.Msg)
	}
	// Read-write, group has no write: mount-not-writable.
	if _, dn := denied(PinSources(Caller{UID: 64002, GID: 64003, Groups: []uint32{64001}}, d)); dn == nil || dn.Reason != "mount-not-writable" {
		t.Fatalf("rw by group member: %+v, want mount-not-writable", dn)
	}
	// The process keeps its identity: on every thread the fsuid is still 0.
	for i := 0; i < 8; i++ {
		done := make(chan uintptr)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			u, _, _ := unix.RawSyscall(unix.SYS_SETFSUID, ^uintptr(0), 0, 0)
			done <- u
		}()
		if u := <-done; u != 0 {
			t.Fatalf("a thread has fsuid %d after PinSources", u)
		}
	}
	if _, err := os.ReadDir(src); err != nil {
		t.Fatalf("root lost access: %v", err)
	}
}

func TestPinSourcesWorkdir(t *testing.T) {
	dir := rootTempDir(t)
	os.Chown(dir, 64001, 64001)
	d := Decision{Workdir: "/v/sub", Mounts: []Mount{{Source: dir, Target: "/v"}}}
	if _, dn := denied(PinSources(Caller{UID: 64001, GID: 64001}, d)); dn == nil || dn.Reason != "workdir-missing" {
		t.Fatalf("denial %+v, want workdir-missing", dn)
	}
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	pins, dn := denied(PinSources(Caller{UID: 64001, GID: 64001}, d))
	if dn != nil {
		t.Fatalf("refused: %v", dn.Msg)
	}
	ClosePinned(pins)
}
