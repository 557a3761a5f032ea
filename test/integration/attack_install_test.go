//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// installCopy installs a copy of socker at name in the install directory
// with the given owner and mode (the setuid bit is set after chown, which
// clears it), removed at the end of the test.
func installCopy(t *testing.T, name string, uid, gid uint32, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(dir, name)
	copySocker(t, p, 0o700)
	t.Cleanup(func() { os.Remove(p) })
	if err := os.Chown(p, int(uid), int(gid)); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestAttackInstall_TamperableBinaryOrAuditLog: a socker binary that is
// group- or world-writable or owned by a user, and an audit log whose
// directory is group-writable, owned by a user or a symlink, or which is
// itself owned by a user or a symlink: exit 78 naming what to fix, before
// the audit log is opened (so no record), no container, nothing written
// (in particular not through the symlinks).
func TestAttackInstall_TamperableBinaryOrAuditLog(t *testing.T) {
	tc := task(t, 64*mib)
	since := time.Now()
	setuidRoot := os.ModeSetuid | 0o755

	t.Run("binary group-writable", func(t *testing.T) {
		bin := installCopy(t, "socker-gw", 0, 0, os.ModeSetuid|0o775)
		p := startProbe(t)
		r := run(t, tc.Command(&alice, bin, "run", image, "id"), "")
		p.refused(t, r, 78, "", "", "the socker binary "+bin+" must be owned by root and not writable by group or others", alice.UID)
	})
	t.Run("binary world-writable", func(t *testing.T) {
		bin := installCopy(t, "socker-ww", 0, 0, os.ModeSetuid|0o757)
		p := startProbe(t)
		r := run(t, tc.Command(&alice, bin, "run", image, "id"), "")
		p.refused(t, r, 78, "", "", "the socker binary "+bin+" must be owned by root and not writable by group or others", alice.UID)
	})
	t.Run("binary on a nosuid filesystem", func(t *testing.T) {
		mnt := filepath.Join(dir, "nosuid")
		mountTmpfs(t, mnt, 0o755, "nosuid,size=64m,mode=0755")
		bin := filepath.Join(mnt, "socker")
		copySocker(t, bin, 0o700)
		if err := os.Chmod(bin, setuidRoot); err != nil {
			t.Fatal(err)
		}
		p := startProbe(t)
		r := run(t, tc.Command(&alice, bin, "run", image, "id"), "")
		p.refused(t, r, 78, "", "", "setuid root is not in effect: "+bin+" is on a filesystem mounted nosuid", alice.UID)
	})
	t.Run("binary owned by a user", func(t *testing.T) {
		bin := installCopy(t, "socker-user", alice.UID, alice.GID, setuidRoot)
		if info, err := os.Stat(bin); err != nil || info.Mode()&os.ModeSetuid == 0 {
			t.Fatalf("the copy lost its setuid bit: %v %v", info.Mode(), err)
		}
		p := startProbe(t)
		r := run(t, tc.Command(&alice, bin, "run", image, "id"), "")
		p.refused(t, r, 78, "", "", "setuid root is not in effect: "+bin+" must be owned by root with the setuid bit", alice.UID)
		// Run by root it is not setuid root either (it runs as its owner).
		p = startProbe(t)
		r = run(t, tc.Command(nil, bin, "run", image, "id"), "")
		p.refused(t, r, 78, "", "", bin+" must be owned by root with the setuid bit", 0)
	})

	// Each audit case gets its own directory in the install directory; the
	// snapshot covers it, so nothing may appear there or behind a symlink.
	target := filepath.Join(userDir(t, alice, "attack-audit"), "target.log")
	if err := os.WriteFile(target, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chown(target, int(alice.UID), int(alice.GID))
	for _, c := range []struct {
		name  string
		setup func(d string) error
		log   func(d string) string
		says  string
	}{
		{"audit directory group-writable", func(d string) error { return os.Chmod(d, 0o770) },
			func(d string) string { return filepath.Join(d, "audit.log") }, "must be a directory owned by root and not writable by group or others"},
		{"audit directory world-writable", func(d string) error { return os.Chmod(d, 0o777) },
			func(d string) string { return filepath.Join(d, "audit.log") }, "must be a directory owned by root and not writable by group or others"},
		{"audit directory owned by a user", func(d string) error { return os.Chown(d, int(alice.UID), int(alice.GID)) },
			func(d string) string { return filepath.Join(d, "audit.log") }, "must be a directory owned by root and not writable by group or others"},
		{"audit directory a symlink", func(d string) error { return os.Symlink(filepath.Dir(target), filepath.Join(d, "link")) },
			func(d string) string { return filepath.Join(d, "link", "target.log") }, "must be a directory owned by root and not writable by group or others"},
		{"audit log owned by a user", func(d string) error {
			l := filepath.Join(d, "audit.log")
			if err := os.WriteFile(l, nil, 0o600); err != nil {
				return err
			}
			return os.Chown(l, int(alice.UID), int(alice.GID))
		}, func(d string) string { return filepath.Join(d, "audit.log") }, "must be a regular file owned by root"},
		{"audit log a symlink to a user's file", func(d string) error { return os.Symlink(target, filepath.Join(d, "audit.log")) },
			func(d string) string { return filepath.Join(d, "audit.log") }, "opening audit log"},
		{"audit log missing directory", func(d string) error { return nil },
			func(d string) string { return filepath.Join(d, "missing", "audit.log") }, "create it: root, mode 0700"},
	} {
		t.Run(c.name, func(t *testing.T) {
			d, err := os.MkdirTemp(dir, "audit-")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { os.RemoveAll(d) })
			if err := os.Chmod(d, 0o700); err != nil {
				t.Fatal(err)
			}
			if err := c.setup(d); err != nil {
				t.Fatal(err)
			}
			withConfig(t, auditConfig(c.log(d)))
			p := startProbe(t)
			r := run(t, sockerRun(tc, &alice, image, "id"), "")
			p.refused(t, r, 78, "", "", c.says, alice.UID)
		})
	}
	assertNoContainerEvents(t, since, tc)
}
