package security

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// The ids CheckPaths runs as when the tests run as root (no passwd entry
// needed): the caller, and another user whose files the caller may only read.
const (
	testCallerUID = 61234
	testOtherUID  = 61235
)

// pathsFixture is a directory tree seen from the caller:
//
//	own/            the caller's, 0755, with a/b, file, link -> a, closed/x
//	own/closed      not searchable by the caller
//	other/          readable but not writable by the caller, with a/
//	other-file      readable but not writable by the caller
//	link -> own
//
// As root the caller is testCallerUID and "not writable" means another
// user's 0755 directory or 0644 file; as a user the caller is that user and
// it means their own 0555 directory or 0444 file.
type pathsFixture struct {
	base, own, other, otherFile string
	asRoot                      bool
}

func newPathsFixture(t *testing.T) pathsFixture {
	t.Helper()
	base, err := os.MkdirTemp("", "socker-checkpaths-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	// Its own path must not pass through a symlink (TMPDIR may).
	if base, err = filepath.EvalSymlinks(base); err != nil {
		t.Fatal(err)
	}
	f := pathsFixture{
		base:      base,
		own:       filepath.Join(base, "own"),
		other:     filepath.Join(base, "other"),
		otherFile: filepath.Join(base, "other-file"),
		asRoot:    os.Geteuid() == 0,
	}
	closed := filepath.Join(f.own, "closed")
	for _, err := range []error{
		os.Chmod(base, 0o755),
		os.MkdirAll(filepath.Join(f.own, "a", "b"), 0o755),
		os.WriteFile(filepath.Join(f.own, "file"), []byte("x"), 0o644),
		os.Symlink("a", filepath.Join(f.own, "link")),
		os.MkdirAll(filepath.Join(closed, "x"), 0o755),
		os.MkdirAll(filepath.Join(f.other, "a"), 0o755),
		os.WriteFile(f.otherFile, []byte("y"), 0o644),
		os.Symlink(f.own, filepath.Join(base, "link")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() { os.Chmod(closed, 0o755); os.Chmod(f.other, 0o755) })
	if f.asRoot {
		for _, o := range []struct {
			path string
			uid  int
		}{
			{f.own, testCallerUID}, {filepath.Join(f.own, "a"), testCallerUID},
			{filepath.Join(f.own, "a", "b"), testCallerUID}, {filepath.Join(f.own, "file"), testCallerUID},
			{filepath.Join(f.own, "link"), testCallerUID},
			{closed, testOtherUID}, {f.other, testOtherUID}, {f.otherFile, testOtherUID},
		} {
			if err := os.Lchown(o.path, o.uid, o.uid); err != nil {
				t.Fatal(err)
			}
		}
		if err := os.Chmod(closed, 0o700); err != nil {
			t.Fatal(err)
		}
		return f
	}
	for _, err := range []error{os.Chmod(closed, 0), os.Chmod(f.other, 0o555), os.Chmod(f.otherFile, 0o444)} {
		if err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// asCaller runs f as testCallerUID (gid the same, no supplementary groups)
// when the test runs as root, else as the test's own user. A raw setresuid
// changes only the calling thread, and the runtime ends a thread whose
// goroutine exits while locked to it: f runs on a thread of its own that
// never returns to root.
func asCaller(t *testing.T, f func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		f()
		return
	}
	done := make(chan unix.Errno)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread dies with this goroutine
		for _, call := range [][4]uintptr{
			{unix.SYS_SETGROUPS, 0, 0, 0},
			{unix.SYS_SETRESGID, testCallerUID, testCallerUID, testCallerUID},
			{unix.SYS_SETRESUID, testCallerUID, testCallerUID, testCallerUID},
		} {
			if _, _, e := unix.RawSyscall(call[0], call[1], call[2], call[3]); e != 0 {
				done <- e
				return
			}
		}
		if r, e, s := unix.Getresuid(); r != testCallerUID || e != testCallerUID || s != testCallerUID {
			done <- unix.EPERM // not dropped: never test as root by mistake
			return
		}
		f()
		done <- 0
	}()
	if e := <-done; e != 0 {
		t.Fatalf("becoming uid %d on a thread: %v", testCallerUID, e)
	}
}

func userMount(source, target string, readOnly bool) Mount {
	return Mount{Source: source, Target: target, ReadOnly: readOnly}
}

func siteMount(source, target string, readOnly bool) Mount {
	return Mount{Source: source, Target: target, ReadOnly: readOnly, Site: true}
}

// TestCheckPaths: CheckPaths, as the caller, refuses a read-write mount of
// what the caller cannot write and a working directory runc would have to
// create in a mount source, and allows everything else.
func TestCheckPaths(t *testing.T) {
	f := newPathsFixture(t)
	own, other := f.own, f.other
	tests := []struct {
		name    string
		workdir string
		mounts  []Mount
		reason  string // "" when allowed
		says    string
	}{
		// Read-write needs a source the caller can write.
		{"own directory read-write", "/", []Mount{userMount(own, "/v", false)}, "", ""},
		{"own file read-write", "/", []Mount{userMount(own+"/file", "/f", false)}, "", ""},
		{"other's directory read-only", "/", []Mount{userMount(other, "/v", true)}, "", ""},
		{"other's file read-only", "/", []Mount{userMount(f.otherFile, "/f", true)}, "", ""},
		{"other's directory read-write", "/", []Mount{userMount(other, "/v", false)}, "mount-not-writable",
			`mount source "` + other + `" is not writable by you, so it cannot be mounted read-write: add :ro (--mount ` + other + `:/v:ro)`},
		{"other's file read-write", "/", []Mount{userMount(f.otherFile, "/f", false)}, "mount-not-writable", "add :ro"},
		{"second mount read-write and not writable", "/", []Mount{userMount(own, "/v", false), userMount(other, "/w", false)}, "mount-not-writable", other},

		// ResolveSource's rules still hold, before the working directory.
		{"source through a symlink", "/", []Mount{userMount(f.base+"/link", "/v", true)}, "mount-source", "symlink"},
		{"missing source, workdir in it", "/v/a", []Mount{userMount(own+"/missing", "/v", true)}, "mount-source", "does not exist"},
		{"source the caller cannot search", "/", []Mount{userMount(own+"/closed/x", "/v", true)}, "mount-source", "not accessible to you"},
		{"source the caller cannot read", "/", []Mount{userMount(own+"/closed", "/v", true)}, "mount-source", "not readable by you"},

		// A working directory in a mount must already be a directory there.
		{"workdir at the mount target", "/v", []Mount{userMount(own, "/v", false)}, "", ""},
		{"existing workdir in own mount", "/v/a/b", []Mount{userMount(own, "/v", false)}, "", ""},
		{"existing workdir in a read-only mount", "/v/a", []Mount{userMount(other, "/v", true)}, "", ""},
		{"workdir in no mount", "/elsewhere/x", []Mount{userMount(own, "/v", false)}, "", ""},
		{"workdir beside a mount, a prefix of its name", "/vv/a/b/c", []Mount{userMount(own, "/v", false)}, "", ""},
		{"missing workdir in a read-only mount", "/v/a/b", []Mount{userMount(other, "/v", true)}, "workdir-missing",
			`working directory "/v/a/b" ("` + other + `/a/b" on the host) does not exist as a directory`},
		{"missing workdir in own writable mount", "/v/new/dir", []Mount{userMount(own, "/v", false)}, "workdir-missing", "create it first"},
		{"workdir is a file", "/v/file", []Mount{userMount(own, "/v", false)}, "workdir-missing", "does not exist as a directory"},
		{"workdir at a file mount's target", "/f", []Mount{userMount(own+"/file", "/f", false)}, "workdir-missing", "does not exist as a directory"},
		{"workdir inside a file", "/v/file/x", []Mount{userMount(own, "/v", false)}, "workdir-missing", "does not exist as a directory"},
		{"workdir is a symlink", "/v/link", []Mount{userMount(own, "/v", false)}, "workdir-unreachable", "symlink"},
		{"workdir through a symlink", "/v/link/b", []Mount{userMount(own, "/v", false)}, "workdir-unreachable", "symlink"},
		{"workdir in a directory the caller cannot search", "/v/closed/x", []Mount{userMount(own, "/v", false)}, "workdir-unreachable", "not accessible to you"},
		{"workdir beyond a mount point in the source", "/host/proc", []Mount{userMount("/", "/host", true)}, "workdir-unreachable", "beyond a mount point"},

		// Site mounts: the admin's sources, not checked for the caller,
		// but a working directory in one must exist all the same.
		{"site mount the caller cannot write, read-write", "/", []Mount{siteMount(other, "/s", false)}, "", ""},
		{"site mount through a symlink", "/s/a/b", []Mount{siteMount(f.base+"/link", "/s", false)}, "", ""},
		{"missing workdir in a site mount", "/s/missing", []Mount{siteMount(other, "/s", true)}, "workdir-missing", "does not exist as a directory"},
		{"workdir in the deeper of nested site mounts", "/s/lib/b", []Mount{siteMount(own, "/s", false), siteMount(own+"/a", "/s/lib", true)}, "", ""},
		{"workdir missing in the deeper of nested site mounts", "/s/lib/a", []Mount{siteMount(own, "/s", false), siteMount(own+"/a", "/s/lib", true)}, "workdir-missing", "does not exist"},
		{"workdir in a site mount the caller cannot search", "/s/x", []Mount{siteMount(own+"/closed", "/s", true)}, "workdir-unreachable", "not accessible to you"},
	}
	got := make([]*Denial, len(tests))
	asCaller(t, func() {
		for i, tt := range tests {
			got[i] = asDenial(CheckPaths(Decision{Workdir: tt.workdir, Mounts: tt.mounts}))
		}
	})
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dn := got[i]
			switch {
			case tt.reason == "" && dn != nil:
				t.Fatalf("refused: %s: %s", dn.Reason, dn.Msg)
			case tt.reason == "":
				return
			case dn == nil:
				t.Fatalf("allowed, want %s", tt.reason)
			}
			if dn.Reason != tt.reason || !strings.Contains(dn.Msg, tt.says) {
				t.Errorf("got %s: %q; want %s saying %q", dn.Reason, dn.Msg, tt.reason, tt.says)
			}
			if !printableLine(dn.Msg) || dn.Error() != dn.Msg {
				t.Errorf("message is not one printable line: %q", dn.Msg)
			}
		})
	}
}

// The checks are the caller's, not the process's: as root (tests run so in
// CI) the same paths pass, which shows the refusals above came from the
// caller's ids, not from the fixture.
func TestCheckPaths_UsesTheCallersIDs(t *testing.T) {
	f := newPathsFixture(t)
	d := Decision{Workdir: "/v/a", Mounts: []Mount{userMount(f.other, "/v", false), userMount(f.own+"/closed", "/c", true)}}
	var asCallerDenial *Denial
	asCaller(t, func() { asCallerDenial = asDenial(CheckPaths(d)) })
	if asCallerDenial == nil || asCallerDenial.Reason != "mount-not-writable" {
		t.Errorf("as the caller: %+v, want mount-not-writable", asCallerDenial)
	}
	if !f.asRoot {
		t.Logf("as uid %d (not root) the test cannot also check the same paths as root", os.Geteuid())
		return
	}
	if dn := asDenial(CheckPaths(d)); dn != nil {
		t.Errorf("as root: %s: %s", dn.Reason, dn.Msg)
	}
}

// CheckPaths runs the path rules (openAndCheck) with the calling thread's
// identity, as PinSources does on the caller's, and closes what it opened.
func CheckPaths(d Decision) error {
	pins, err := openAndCheck(d)
	ClosePinned(pins)
	return err
}

// ResolveSource opens and closes a mount source as openSource does.
func ResolveSource(unsafePath string) error {
	fd, _, err := openSource(unsafePath)
	if err == nil {
		unix.Close(fd)
	}
	return err
}
