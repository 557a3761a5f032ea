//go:build integration

package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// P3, mounts and paths. A config whose mounts.allow holds alice's home, the
// install directory (which holds the audit directory and shareDir) and /run
// (which holds the config directory and the Docker socket): protection must
// win over the allowlist, and every path is resolved as alice without
// following symlinks.
func pathsConfig(t *testing.T, extra string) string {
	t.Helper()
	return allowMounts(baseConfig, extra, homeOf(t, alice), dir, "/run", "/var/run")
}

// TestAttackPaths_MountSourcesRefused: symlinks (to /etc, through a
// symlinked directory, relative and climbing out, in the last or a middle
// component), ".." and other unclean paths, ',' and control characters,
// magic links under /proc, the config directory, the audit directory, /run
// and the Docker socket (all under allowed prefixes), another user's 0700
// directory and a path inside it, a FIFO, a socket and bad targets: each is
// refused with its reason, audited once, creates no container and writes
// nothing.
func TestAttackPaths_MountSourcesRefused(t *testing.T) {
	withConfig(t, pathsConfig(t, ""))
	tc := task(t, 64*mib)
	home := homeOf(t, alice)
	work := userDir(t, alice, "attack-paths")
	real := filepath.Join(work, "real")
	must := fatalOnError(t)
	must(os.MkdirAll(filepath.Join(real, "sub"), 0o755))
	must(os.Symlink("/etc", filepath.Join(work, "etc-link")))
	must(os.Symlink(real, filepath.Join(work, "dir-link")))
	must(os.Symlink("../../../etc", filepath.Join(work, "up-link")))
	must(os.Mkdir(filepath.Join(work, "a,b"), 0o755))
	must(os.Mkdir(filepath.Join(work, "a\nb"), 0o755))
	must(syscall.Mkfifo(filepath.Join(work, "fifo"), 0o666))
	private := filepath.Join(shareDir, "mallory-private")
	must(os.MkdirAll(filepath.Join(private, "inner"), 0o700))
	t.Cleanup(func() { os.RemoveAll(private) })
	must(os.Chown(private, int(mallory.UID), int(mallory.GID)))
	must(os.Chown(filepath.Join(private, "inner"), int(mallory.UID), int(mallory.GID)))
	filepath.WalkDir(work, func(p string, _ os.DirEntry, _ error) error {
		os.Lchown(p, int(alice.UID), int(alice.GID))
		return nil
	})
	// A listening unix socket alice owns.
	sock := listen(t, "unix", filepath.Join(work, "sock"))
	_ = sock
	os.Lchown(filepath.Join(work, "sock"), int(alice.UID), int(alice.GID))

	cases := []struct {
		name, mount, reason, says string
	}{
		{"symlink to /etc", work + "/etc-link:/x", "mount-source", "symlink"},
		{"inside a symlink to /etc", work + "/etc-link/ssl:/x", "mount-source", "symlink"},
		{"through a symlinked directory", work + "/dir-link/sub:/x", "mount-source", "symlink"},
		{"relative symlink climbing out", work + "/up-link:/x", "mount-source", "symlink"},
		{"dot-dot traversal", work + "/../../../etc:/x", "mount-source-invalid", "absolute, clean path"},
		{"dot component", work + "/./real:/x", "mount-source-invalid", "absolute, clean path"},
		{"trailing slash", work + "/real/:/x", "mount-source-invalid", "absolute, clean path"},
		{"double slash", "/" + work + ":/x", "mount-source-invalid", "absolute, clean path"},
		{"relative source", "real:/x", "mount-source-invalid", "absolute, clean path"},
		{"comma in the name", work + "/a,b:/x", "mount-source-invalid", "without ','"},
		{"newline in the name", work + "/a\nb:/x", "mount-source-invalid", "control characters"},
		{"option smuggled after the target", work + "/real:/x:rw,bind-propagation=rshared", "mount-invalid", "option must be ro or rw"},
		{"/proc/self/root", "/proc/self/root/etc:/x", "mount-source-protected", "/proc is never mounted"},
		{"/proc/self/root to an allowed path", "/proc/self/root" + work + ":/x", "mount-source-protected", "/proc is never mounted"},
		{"/proc/self/cwd", "/proc/self/cwd:/x", "mount-source-protected", "/proc is never mounted"},
		{"/dev/fd", "/dev/fd/3:/x", "mount-source-protected", "/dev is never mounted"},
		{"/sys/fs/cgroup", "/sys/fs/cgroup:/x", "mount-source-protected", "/sys is never mounted"},
		{"the config directory", confDir + ":/x", "mount-source-protected", "it is or contains " + confDir},
		{"the config file", configPath + ":/x", "mount-source-protected", "it is or contains " + confDir},
		{"/run, holding the config directory", "/run:/x", "mount-source-protected", "it is or contains"},
		{"the Docker socket", "/var/run/docker.sock:/x", "mount-source-protected", "docker.sock"},
		{"the Docker socket under /run", "/run/docker.sock:/x", "mount-source-protected", "docker.sock"},
		{"the audit directory", filepath.Dir(auditPath) + ":/x", "mount-source-protected", "it is or contains " + filepath.Dir(auditPath)},
		{"the audit log", auditPath + ":/x", "mount-source-protected", "it is or contains " + filepath.Dir(auditPath)},
		{"a directory holding the audit directory", dir + ":/x", "mount-source-protected", "it is or contains " + filepath.Dir(auditPath)},
		{"another user's 0700 directory", private + ":/x", "mount-source", "is not readable by you"},
		{"inside another user's 0700 directory", private + "/inner:/x", "mount-source", "is not accessible to you"},
		{"a FIFO", work + "/fifo:/x", "mount-source", "neither a directory nor a regular file"},
		{"a socket", work + "/sock:/x", "mount-source", "neither a directory nor a regular file"},
		{"missing source", work + "/missing:/x", "mount-source", "does not exist"},
		{"not under an allowed prefix", "/etc:/x", "mount-not-allowed", "is not under an allowed prefix"},
		{"home prefix confusion", home + "x:/x", "mount-not-allowed", "is not under an allowed prefix"},
		{"target /", work + "/real:/", "mount-target-invalid", "other than /"},
		{"target under /proc", work + "/real:/proc/sys", "mount-target-invalid", "outside /proc"},
		{"target with ..", work + "/real:/x/../etc", "mount-target-invalid", "clean path"},
		{"relative target", work + "/real:x", "mount-target-invalid", "absolute"},
	}
	since := time.Now()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := startProbe(t)
			r := run(t, sockerRun(tc, &alice, "--mount", c.mount, image, "id"), "")
			p.refused(t, r, 77, "deny", c.reason, c.says, alice.UID)
		})
	}
	// The same refusal through explain: printed, audited, nothing created.
	p := startProbe(t)
	r := run(t, tc.Command(&alice, socker, "explain", "--mount", work+"/etc-link:/x", image, "id"), "")
	p.refused(t, r, 77, "deny", "mount-source", "symlink", alice.UID)
	assertNoContainerEvents(t, since, tc)
}

// TestAttackPaths_AllowedMountWritesAsCaller: alice's own directory, bound
// read-write, is written as alice: the file appears on the host owned by
// alice's uid and gid, not root.
func TestAttackPaths_AllowedMountWritesAsCaller(t *testing.T) {
	withConfig(t, pathsConfig(t, ""))
	tc := task(t, 256*mib)
	work := userDir(t, alice, "attack-rw")
	r := run(t, sockerRun(tc, &alice, "--mount", work+":/work", image, "sh", "-c", "echo written >/work/out; id -u"), "")
	if r.code != 0 || strings.TrimSpace(r.stdout) != strconv.Itoa(int(alice.UID)) {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	info, err := os.Stat(filepath.Join(work, "out"))
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if st.Uid != alice.UID || st.Gid != alice.GID {
		t.Errorf("file written through the mount is owned by %d:%d, want alice %d:%d", st.Uid, st.Gid, alice.UID, alice.GID)
	}
}

// TestAttackPaths_SiteMounts: a site mount of /etc/passwd makes names
// resolve inside (the file is the host's), and a user mount onto its target
// is refused.
func TestAttackPaths_SiteMounts(t *testing.T) {
	withConfig(t, pathsConfig(t, "\nsite = [\"/etc/passwd:/etc/passwd:ro\"]"))
	tc := task(t, 256*mib)
	host, err := os.ReadFile("/etc/passwd")
	if err != nil {
		t.Fatal(err)
	}
	r := run(t, sockerRun(tc, &alice, image, "sh", "-c", "id -un; echo ---; cat /etc/passwd"), "")
	if r.code != 0 {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	name, passwd, _ := strings.Cut(r.stdout, "---\n")
	if strings.TrimSpace(name) != alice.Name {
		t.Errorf("id -un inside prints %q, want %q", name, alice.Name)
	}
	if passwd != string(host) {
		t.Errorf("/etc/passwd inside differs from the host's (%d vs %d bytes)", len(passwd), len(host))
	}
	r = run(t, sockerRun(tc, &alice, image, "grep", " /etc/passwd ", "/proc/self/mounts"), "")
	if f := strings.Fields(r.stdout); r.code != 0 || len(f) < 4 || !strings.HasPrefix(f[3], "ro,") {
		t.Errorf("the site mount is not read-only: %q (exit %d, stderr %q)", r.stdout, r.code, r.stderr)
	}

	work := userDir(t, alice, "attack-site")
	fake := filepath.Join(work, "passwd")
	if err := os.WriteFile(fake, []byte("root:x:0:0::/:/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(fake, int(alice.UID), int(alice.GID))
	deny := task(t, 64*mib)
	since := time.Now()
	p := startProbe(t)
	r = run(t, sockerRun(deny, &alice, "--mount", fake+":/etc/passwd:ro", image, "id"), "")
	p.refused(t, r, 77, "deny", "mount-target-twice", `mount target "/etc/passwd" given twice`, alice.UID)
	assertNoContainerEvents(t, since, deny)
}

// TestAttackPaths_WorkingDirectory: a cwd inside a mounted source becomes
// the mapped path inside; a cwd that is not mounted gives "/" (never the
// image's WORKDIR); a magic-link or kernel-filesystem --workdir is refused.
func TestAttackPaths_WorkingDirectory(t *testing.T) {
	withConfig(t, pathsConfig(t, ""))
	tc := task(t, 256*mib)
	work := userDir(t, alice, "attack-cwd")
	sub := filepath.Join(work, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(filepath.Join(work, "a"), int(alice.UID), int(alice.GID))
	os.Chown(sub, int(alice.UID), int(alice.GID))

	cmd := sockerRun(tc, &alice, "--mount", work+":/work", image, "pwd")
	cmd.Dir = sub
	if r := run(t, cmd, ""); r.code != 0 || r.stdout != "/work/a/b\n" {
		t.Errorf("cwd %s mounted at /work: pwd inside %q (exit %d, stderr %q), want /work/a/b", sub, r.stdout, r.code, r.stderr)
	}
	// $PWD does not count, only getcwd(2): a PWD naming a symlink to the cwd
	// (which os.Getwd would believe) changes nothing.
	link := filepath.Join(work, "link")
	if err := os.Symlink(sub, link); err != nil {
		t.Fatal(err)
	}
	cmd = hostileCmd(t, tc, alice, socker, []string{"socker", "run", "--mount", work + ":/work", image, "pwd"}, []string{"PWD=" + link})
	cmd.Dir = sub
	if r := run(t, cmd, ""); r.code != 0 || r.stdout != "/work/a/b\n" {
		t.Errorf("with PWD=%s: pwd inside %q (exit %d, stderr %q), want /work/a/b", link, r.stdout, r.code, r.stderr)
	}
	cmd = sockerRun(tc, &alice, "--mount", work+":/work", image, "pwd")
	cmd.Dir = shareDir
	if r := run(t, cmd, ""); r.code != 0 || r.stdout != "/\n" {
		t.Errorf("cwd not mounted: pwd inside %q (exit %d, stderr %q), want /", r.stdout, r.code, r.stderr)
	}

	deny := task(t, 64*mib)
	since := time.Now()
	for _, wd := range []string{"/proc/self/fd/7", "/proc/self/cwd", "/sys/fs/cgroup", "/dev", "relative", "/x/../proc"} {
		t.Run(fmt.Sprintf("workdir %s", wd), func(t *testing.T) {
			p := startProbe(t)
			r := run(t, sockerRun(deny, &alice, "--workdir", wd, image, "pwd"), "")
			p.refused(t, r, 77, "deny", "workdir-invalid", "must be an absolute, clean path outside /proc, /sys and /dev", alice.UID)
		})
	}
	assertNoContainerEvents(t, since, deny)
}
