//go:build integration

package integration

import (
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAttackMountRace_SwappedSourceNeverBinds: alice's mount source is
// swapped, in a tight loop, with a symlink to a root-only directory holding
// a secret (renameat2 RENAME_EXCHANGE) while socker runs `cat /v/secret`
// again and again. Socker binds the object it checked as alice, or refuses:
// the secret never reaches the container.
func TestAttackMountRace_SwappedSourceNeverBinds(t *testing.T) {
	tc := task(t, 64*mib)
	base := filepath.Join(shareDir, "mount-race")
	must := fatalOnError(t)
	must(os.MkdirAll(filepath.Join(base, "real"), 0o755))
	t.Cleanup(func() { os.RemoveAll(base) })
	// A directory only root may pass, and in it one anyone could read: the
	// files of another user's private directory, or another tenant's
	// container's merged root under /var/lib/docker.
	must(os.Mkdir(filepath.Join(base, "root-only"), 0o700))
	secretDir := filepath.Join(base, "root-only", "inner")
	must(os.Mkdir(secretDir, 0o755))
	const secret = "TOP-SECRET-4711"
	must(os.WriteFile(filepath.Join(secretDir, "secret"), []byte(secret+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(base, "real", "secret"), []byte("decoy\n"), 0o644))
	must(os.Symlink(secretDir, filepath.Join(base, "link")))
	for _, p := range []string{base, filepath.Join(base, "real"), filepath.Join(base, "real", "secret"), filepath.Join(base, "link")} {
		must(os.Lchown(p, int(alice.UID), int(alice.GID)))
	}
	var stop atomic.Bool
	done := make(chan struct{})
	go func() {
		defer close(done)
		for !stop.Load() {
			unix.Renameat2(unix.AT_FDCWD, filepath.Join(base, "real"), unix.AT_FDCWD, filepath.Join(base, "link"), unix.RENAME_EXCHANGE)
		}
	}()
	defer func() { stop.Store(true); <-done }()
	n := 150
	if testing.Short() {
		n = 30
	}
	bound, refused := 0, 0
	for i := 0; i < n; i++ {
		r := run(t, sockerRun(tc, &alice, "--mount", filepath.Join(base, "real")+":/v:ro", image, "cat", "/v/secret"), "")
		if strings.Contains(r.stdout+r.stderr, secret) {
			t.Fatalf("run %d: the root-only secret reached the container: exit %d\n%s%s", i, r.code, r.stdout, r.stderr)
		}
		switch {
		case r.code == 0 && strings.TrimSpace(r.stdout) == "decoy":
			bound++
		case r.code == 77:
			refused++
		default:
			t.Errorf("run %d: exit %d, stdout %q, stderr %q", i, r.code, r.stdout, r.stderr)
		}
	}
	t.Logf("%d runs: %d bound the checked directory, %d refused", n, bound, refused)
}

// TestAttackMountRace_GCRemovesStagingOfKilledWrapper: a SIGKILLed wrapper
// leaves its staging directory and the clone mounted in it; socker gc
// detaches and removes both, and keeps a live wrapper's.
func TestAttackMountRace_GCRemovesStagingOfKilledWrapper(t *testing.T) {
	tc := task(t, 64*mib)
	src := filepath.Join(shareDir, "mount-race-gc")
	if err := os.MkdirAll(src, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(src) })
	os.Chown(src, int(alice.UID), int(alice.GID))
	before := len(auditLines(t))
	cmd := sockerRun(tc, &alice, "--mount", src+":/v", image, "sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	runningContainer(t, tc.ID)
	start := recordOf(newRecords(t, before), "start")
	if start == nil || start.Launch == "" || start.HostPID != cmd.Process.Pid {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("start record %+v: want the launch id and the wrapper's pid %d", start, cmd.Process.Pid)
	}
	staged := filepath.Join("/run/socker", start.Launch)
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("gc: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(staged, "m0")); err != nil {
		t.Fatalf("gc removed a live wrapper's staging: %v", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("gc: exit %d %s", r.code, r.stderr)
	}
	if _, err := os.Stat(staged); !os.IsNotExist(err) {
		t.Fatalf("staging directory %s left after gc: %v", staged, err)
	}
	if b, _ := os.ReadFile("/proc/self/mountinfo"); strings.Contains(string(b), staged) {
		t.Fatalf("staged mount under %s left after gc", staged)
	}
}
