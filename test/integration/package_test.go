//go:build integration

package integration

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/security"
)

// pkgEntry is one path the socker package installs and what it must be on
// disk. A shared entry is a system directory other packages own too (/usr,
// /var/log, ...): it must be listed by dpkg and be a directory, but its owner
// and mode are the system's, not the package's, and it stays on removal.
type pkgEntry struct {
	path         string
	dir          bool
	owner, group string
	mode         fs.FileMode // permission bits, fs.ModeSetuid for setuid
	conffile     bool        // kept by `dpkg -r`, removed by `dpkg --purge`
	shared       bool
}

const (
	pkgSocker   = "/usr/bin/socker"
	pkgConfig   = "/etc/socker/socker.toml"
	pkgSeccomp  = "/etc/socker/seccomp.json" // named by the packaged config
	pkgAuditDir = "/var/log/socker"
	pkgAuditLog = "/var/log/socker/audit.log"
	// The enablement link postinstall makes, with or without a running systemd.
	pkgTimerLink = "/etc/systemd/system/timers.target.wants/socker-gc.timer"
)

// pkgContents is every path `dpkg -L socker` must list, and nothing else.
var pkgContents = []pkgEntry{
	{path: "/etc", dir: true, shared: true},
	{path: "/etc/logrotate.d", dir: true, shared: true},
	{path: "/etc/logrotate.d/socker", owner: "root", group: "root", mode: 0o644, conffile: true},
	{path: "/etc/socker", dir: true, owner: "root", group: "root", mode: 0o755},
	{path: pkgConfig, owner: "root", group: "root", mode: 0o644, conffile: true},
	{path: pkgSeccomp, owner: "root", group: "root", mode: 0o644, conffile: true},
	{path: "/usr", dir: true, shared: true},
	{path: "/usr/bin", dir: true, shared: true},
	{path: "/usr/bin/mrun", owner: "root", group: "root", mode: 0o755},
	{path: pkgSocker, owner: "root", group: "socker", mode: fs.ModeSetuid | 0o750},
	{path: "/usr/lib", dir: true, shared: true},
	{path: "/usr/lib/systemd", dir: true, shared: true},
	{path: "/usr/lib/systemd/system", dir: true, shared: true},
	{path: "/usr/lib/systemd/system/socker-gc.service", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/lib/systemd/system/socker-gc.timer", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/share", dir: true, shared: true},
	{path: "/usr/share/doc", dir: true, shared: true},
	{path: "/usr/share/doc/socker", dir: true, owner: "root", group: "root", mode: 0o755},
	{path: "/usr/share/doc/socker/README.md", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/share/doc/socker/SECURITY.md", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/share/doc/socker/admin.md", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/share/man", dir: true, shared: true},
	{path: "/usr/share/man/man1", dir: true, shared: true},
	{path: "/usr/share/man/man1/mrun.1.gz", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/share/man/man5", dir: true, shared: true},
	{path: "/usr/share/man/man5/socker.toml.5.gz", owner: "root", group: "root", mode: 0o644},
	{path: "/usr/share/man/man8", dir: true, shared: true},
	{path: "/usr/share/man/man8/socker.8.gz", owner: "root", group: "root", mode: 0o644},
	{path: "/var", dir: true, shared: true},
	{path: "/var/log", dir: true, shared: true},
	{path: pkgAuditDir, dir: true, owner: "root", group: "root", mode: 0o700},
}

// The .deb a site admin would install: built with `make package` (or taken
// from SOCKER_TEST_DEB), installed with dpkg -i, every installed path checked
// against pkgContents, socker run by a member of group socker and refused
// (by the kernel) to anyone else, then removed (config kept) and purged
// (config gone, audit log kept). The .rpm is inspected, not installed.
//
// On a developer machine an existing /etc/socker/socker.toml (make install,
// the quick start) is moved aside and restored at the end. Any other file the
// package would overwrite (/usr/bin/socker from elsewhere, ...) fails the
// test instead: dpkg would silently replace it, and it may be the admin's.
func TestPackage_DebInstallsRunsAndRemoves(t *testing.T) {
	for _, tool := range []string{"dpkg", "dpkg-deb", "dpkg-query", "rpm", "logrotate", "getent", "make", "groupdel"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s not found: run scripts/setup.sh", tool)
		}
	}
	deb, rpmFile := pkgBuild(t)
	t.Logf("deb %s, rpm %s", deb, rpmFile)

	t.Run("rpm", func(t *testing.T) { pkgCheckRPM(t, rpmFile) })

	pkgPrepare(t)
	pkgCmd(t, "dpkg", "-i", deb)

	// Files: every path dpkg installed, exactly as the table says.
	listed := strings.Fields(pkgCmd(t, "dpkg", "-L", "socker"))
	pkgCheckContents(t, listed)
	conffiles := pkgCmd(t, "dpkg-query", "--showformat=${Conffiles}", "--show", "socker")
	for _, e := range pkgContents {
		if in := pkgConffileListed(conffiles, e.path); in != e.conffile {
			t.Errorf("%s: listed as a conffile: %v, want %v (Conffiles:%s)", e.path, in, e.conffile, conffiles)
		}
	}

	// The group, logrotate and systemd.
	pkgCmd(t, "getent", "group", "socker")
	pkgCmd(t, "logrotate", "-d", "/etc/logrotate.d/socker")
	pkgCheckSystemd(t)

	member, err := testutil.EnsureUser("pkgmember", "socker")
	if err != nil {
		t.Fatal(err)
	}
	outsider, err := testutil.EnsureUser("pkgoutsider")
	if err != nil {
		t.Fatal(err)
	}
	grp, err := user.LookupGroup("socker")
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(outsider.Groups, pkgAtoi(t, grp.Gid)) {
		t.Fatalf("pkgoutsider is in group socker: remove it (gpasswd -d pkgoutsider socker)")
	}

	tc := task(t, 64*mib)
	r := run(t, tc.Command(&member, pkgSocker, "doctor"), "")
	if r.code != 0 || strings.Contains(r.stdout, "FAIL") {
		t.Errorf("socker doctor as a member of group socker: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}

	// As an admin would: allow the test image, keeping every other key.
	edited := pkgAllowImage(t, image)

	before := pkgAuditCount(t)
	r = run(t, tc.Command(&member, pkgSocker, "run", image, "--", "/bin/echo", "hello-from-package"), "")
	if r.code != 0 || !strings.Contains(r.stdout, "hello-from-package") {
		t.Errorf("socker run as a member: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if !slices.ContainsFunc(pkgAuditSince(t, before), func(rec security.Record) bool {
		return rec.Event == "start" && rec.UID == member.UID
	}) {
		t.Errorf("no audit record with event start for uid %d in %s", member.UID, pkgAuditLog)
	}

	// Not in group socker: the kernel refuses the exec (mode 4750), so socker
	// never runs and writes nothing.
	before = pkgAuditCount(t)
	r = run(t, tc.Command(&outsider, "/bin/sh", "-c", pkgSocker+` run "$@"`, "sh", image, "--", "/bin/echo", "nope"), "")
	if r.code != 126 || !strings.Contains(r.stderr, "Permission denied") || r.stdout != "" {
		t.Errorf("socker as a non-member: exit %d, stdout %q, stderr %q; want 126, Permission denied", r.code, r.stdout, r.stderr)
	}
	for _, rec := range pkgAuditSince(t, before) {
		if rec.UID == outsider.UID {
			t.Errorf("audit record for the non-member: %+v", rec)
		}
	}

	// What socker-gc.service runs every minute, as root.
	r = run(t, exec.Command(pkgSocker, "gc"), "")
	if r.code != 0 || !strings.Contains(r.stdout, "socker gc: ") {
		t.Errorf("%s gc as root: exit %d, stdout %q, stderr %q", pkgSocker, r.code, r.stdout, r.stderr)
	}

	// Remove: everything but the conffiles (and the audit directory, which
	// holds the log) is gone; the edited config is kept as edited.
	pkgCmd(t, "dpkg", "-r", "socker")
	if st := pkgStatus(t); st != "deinstall ok config-files" {
		t.Errorf("after dpkg -r: status %q, want deinstall ok config-files", st)
	}
	for _, e := range pkgContents {
		_, err := os.Lstat(e.path)
		switch {
		case e.shared:
		case e.conffile || e.path == "/etc/socker" || e.path == pkgAuditDir:
			if err != nil {
				t.Errorf("%s is gone after dpkg -r, want it kept: %v", e.path, err)
			}
		case !errors.Is(err, fs.ErrNotExist):
			t.Errorf("%s still there after dpkg -r (%v)", e.path, err)
		}
	}
	if data, err := os.ReadFile(pkgConfig); err != nil || string(data) != edited {
		t.Errorf("%s after dpkg -r: %v, edits not kept:\n%s", pkgConfig, err, data)
	}
	if _, err := os.Lstat(pkgTimerLink); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("%s still there after dpkg -r (%v)", pkgTimerLink, err)
	}

	// Purge: the conffiles go too; the audit log and the group stay.
	pkgCmd(t, "dpkg", "--purge", "socker")
	if st := pkgStatus(t); st != "" && st != "unknown ok not-installed" {
		t.Errorf("after dpkg --purge: status %q", st)
	}
	for _, p := range []string{pkgConfig, pkgSeccomp, "/etc/logrotate.d/socker"} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s still there after dpkg --purge (%v)", p, err)
		}
	}
	if st, err := os.Stat(pkgAuditLog); err != nil || st.Size() == 0 {
		t.Errorf("%s must survive dpkg --purge (audit evidence): %v", pkgAuditLog, err)
	}
	if err := exec.Command("getent", "group", "socker").Run(); err != nil {
		t.Errorf("group socker removed by dpkg --purge: it is left on purge by design")
	}
}

// pkgBuild returns the .deb and .rpm to test: SOCKER_TEST_DEB (and the one
// .rpm next to it, or SOCKER_TEST_RPM), else those `make package` builds.
func pkgBuild(t *testing.T) (deb, rpmFile string) {
	t.Helper()
	if deb = os.Getenv("SOCKER_TEST_DEB"); deb != "" {
		if _, err := os.Stat(deb); err != nil {
			t.Fatalf("SOCKER_TEST_DEB: %v", err)
		}
		if rpmFile = os.Getenv("SOCKER_TEST_RPM"); rpmFile == "" {
			rpmFile = pkgOne(t, filepath.Join(filepath.Dir(deb), "socker-*.rpm"))
		}
		return deb, rpmFile
	}
	root, err := testutil.RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-C", root, "package")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("make package: %v\n%s", err, out)
	}
	return pkgOne(t, filepath.Join(root, "bin/pkg/socker_*.deb")), pkgOne(t, filepath.Join(root, "bin/pkg/socker-*.rpm"))
}

func pkgOne(t *testing.T, pattern string) string {
	t.Helper()
	m, _ := filepath.Glob(pattern)
	if len(m) != 1 {
		t.Fatalf("want exactly one %s, found %v", pattern, m)
	}
	return m[0]
}

// pkgPrepare fails if socker is already installed (in any state) or if the
// package would overwrite a file it does not own, moves a developer's
// /etc/socker/socker.toml aside, and registers the cleanup: purge whatever
// is still installed, restore what was moved, remove the audit directory
// and the group only if this test made them.
func pkgPrepare(t *testing.T) {
	t.Helper()
	if st := pkgStatus(t); st != "" && st != "unknown ok not-installed" {
		t.Fatalf("a socker package is already on this machine (dpkg status %q): remove it with dpkg --purge socker first", st)
	}
	for _, e := range pkgContents {
		if e.dir || e.path == pkgConfig || e.path == pkgSeccomp {
			continue
		}
		if _, err := os.Lstat(e.path); err == nil {
			t.Fatalf("%s exists and is not from a socker package: dpkg would overwrite it; move it away first", e.path)
		}
	}
	if pkgExists(pkgTimerLink) {
		t.Fatalf("%s exists without the socker package: remove it first", pkgTimerLink)
	}
	auditDirExisted := pkgExists(pkgAuditDir)
	groupExisted := exec.Command("getent", "group", "socker").Run() == nil
	restoreConfig := pkgMoveAside(t, pkgConfig)
	restoreSeccomp := pkgMoveAside(t, pkgSeccomp)

	t.Cleanup(func() {
		if st := pkgStatus(t); st != "" && st != "unknown ok not-installed" {
			if out, err := exec.Command("dpkg", "--purge", "socker").CombinedOutput(); err != nil {
				t.Errorf("cleanup: dpkg --purge socker: %v\n%s", err, out)
			}
		}
		restoreConfig()
		restoreSeccomp()
		if !auditDirExisted {
			os.RemoveAll(pkgAuditDir)
		}
		if !groupExisted {
			// The package leaves the group on purge (by design); this test
			// made it, so it goes, and the next run sees preinstall create it.
			if out, err := exec.Command("groupdel", "socker").CombinedOutput(); err != nil {
				t.Errorf("cleanup: groupdel socker: %v\n%s", err, out)
			}
		}
	})
}

// pkgMoveAside moves path (and notes its directory) out of the package's way
// and returns the function that puts both back as they were.
func pkgMoveAside(t *testing.T, path string) func() {
	t.Helper()
	dirInfo, dirErr := os.Stat(filepath.Dir(path))
	info, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return func() {}
	} else if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	t.Logf("moved %s aside; it is restored at the end", path)
	return func() {
		// dpkg --purge removes the directory once it is empty.
		if dirErr == nil && !pkgExists(filepath.Dir(path)) {
			os.Mkdir(filepath.Dir(path), dirInfo.Mode().Perm())
			pkgChown(t, filepath.Dir(path), dirInfo)
			os.Chmod(filepath.Dir(path), dirInfo.Mode().Perm())
		}
		os.Remove(path)
		if err := os.WriteFile(path, data, info.Mode().Perm()); err != nil {
			t.Errorf("restoring %s: %v", path, err)
			return
		}
		pkgChown(t, path, info)
		os.Chmod(path, info.Mode().Perm())
		os.Chtimes(path, info.ModTime(), info.ModTime())
	}
}

func pkgChown(t *testing.T, path string, like fs.FileInfo) {
	st := like.Sys().(*syscall.Stat_t)
	if err := os.Lchown(path, int(st.Uid), int(st.Gid)); err != nil {
		t.Errorf("restoring the owner of %s: %v", path, err)
	}
}

// pkgCheckContents compares the paths dpkg installed with pkgContents, both
// ways, and each path's type, owner, group and mode.
func pkgCheckContents(t *testing.T, listed []string) {
	t.Helper()
	want := map[string]pkgEntry{}
	for _, e := range pkgContents {
		want[e.path] = e
	}
	for _, p := range listed {
		if p == "/." {
			continue // dpkg's name for the root of the archive
		}
		if _, ok := want[p]; !ok {
			t.Errorf("the package installed %s, which is not in the expected table", p)
		}
	}
	for _, e := range pkgContents {
		if !slices.Contains(listed, e.path) {
			t.Errorf("%s is in the expected table but dpkg -L does not list it", e.path)
			continue
		}
		info, err := os.Lstat(e.path)
		if err != nil {
			t.Errorf("%s listed by dpkg but: %v", e.path, err)
			continue
		}
		if e.dir != info.IsDir() || (!e.dir && !info.Mode().IsRegular()) {
			t.Errorf("%s: type %v, want a %s", e.path, info.Mode().Type(), map[bool]string{true: "directory", false: "regular file"}[e.dir])
			continue
		}
		if e.shared {
			continue
		}
		st := info.Sys().(*syscall.Stat_t)
		owner, group := pkgUserName(st.Uid), pkgGroupName(st.Gid)
		mode := info.Mode() & (fs.ModePerm | fs.ModeSetuid | fs.ModeSetgid | fs.ModeSticky)
		if owner != e.owner || group != e.group || mode != e.mode {
			t.Errorf("%s: %s:%s %v, want %s:%s %v", e.path, owner, group, mode, e.owner, e.group, e.mode)
		}
	}
}

// pkgCheckSystemd verifies the units (systemd-analyze verify prints the
// problems it finds yet exits 0, so any line naming a unit fails) and that
// postinstall enabled the timer: started as well when systemd runs.
func pkgCheckSystemd(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Log("systemd-analyze not found: the units are not verified")
	} else {
		out, err := exec.Command("systemd-analyze", "verify",
			"/usr/lib/systemd/system/socker-gc.service", "/usr/lib/systemd/system/socker-gc.timer").CombinedOutput()
		if err != nil || strings.Contains(string(out), "socker-gc") {
			t.Errorf("systemd-analyze verify: %v\n%s", err, out)
		} else if len(out) > 0 {
			t.Logf("systemd-analyze verify (about other units):\n%s", out)
		}
	}
	if _, err := exec.LookPath("systemctl"); err != nil {
		t.Log("no systemctl: the timer's enablement is not checked")
		return
	}
	if out, _ := exec.Command("systemctl", "is-enabled", "socker-gc.timer").Output(); strings.TrimSpace(string(out)) != "enabled" {
		t.Errorf("socker-gc.timer is %q, want enabled", strings.TrimSpace(string(out)))
	}
	if !pkgExists("/run/systemd/system") {
		t.Log("systemd is not running: the timer is enabled, not started")
		return
	}
	if out, _ := exec.Command("systemctl", "is-active", "socker-gc.timer").Output(); strings.TrimSpace(string(out)) != "active" {
		t.Errorf("socker-gc.timer is %q, want active", strings.TrimSpace(string(out)))
	}
}

// pkgCheckRPM inspects the .rpm without installing it: the same paths,
// owners and modes as the table (directories shared with the system are not
// in an rpm), /usr/bin/socker 104750 root:socker, and the conffiles flagged
// %config(noreplace).
func pkgCheckRPM(t *testing.T, rpmFile string) {
	// rpm --dump: path size mtime digest mode owner group isconfig isdoc rdev symlink
	got := map[string][]string{}
	for _, l := range strings.Split(strings.TrimSpace(pkgCmd(t, "rpm", "-qp", "--dump", rpmFile)), "\n") {
		f := strings.Fields(l)
		if len(f) < 8 {
			t.Fatalf("rpm --dump line %q", l)
		}
		got[f[0]] = f
	}
	flags := map[string]string{}
	for _, l := range strings.Split(pkgCmd(t, "rpm", "-qp", "--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\n]", rpmFile), "\n") {
		if p, fl, ok := strings.Cut(l, " "); ok {
			flags[p] = fl
		}
	}
	config := strings.Fields(pkgCmd(t, "rpm", "-qpc", rpmFile))
	n := 0
	for _, e := range pkgContents {
		if e.shared {
			if _, ok := got[e.path]; ok {
				t.Errorf("rpm owns the system directory %s", e.path)
			}
			continue
		}
		n++
		f, ok := got[e.path]
		if !ok {
			t.Errorf("rpm lacks %s", e.path)
			continue
		}
		mode := uint32(e.mode.Perm())
		if e.mode&fs.ModeSetuid != 0 {
			mode |= 0o4000
		}
		if e.dir {
			mode |= 0o40000
		} else {
			mode |= 0o100000
		}
		if want := fmt.Sprintf("0%o", mode); f[4] != want || f[5] != e.owner || f[6] != e.group {
			t.Errorf("rpm %s: %s %s:%s, want %s %s:%s", e.path, f[4], f[5], f[6], want, e.owner, e.group)
		}
		isConfig := f[7] == "1" && slices.Contains(config, e.path) && strings.Contains(flags[e.path], "c")
		noreplace := strings.Contains(flags[e.path], "n")
		if isConfig != e.conffile || noreplace != e.conffile {
			t.Errorf("rpm %s: config %v, noreplace %v (flags %q), want %v", e.path, isConfig, noreplace, flags[e.path], e.conffile)
		}
	}
	if len(got) != n {
		t.Errorf("rpm has %d paths, the table %d: %v", len(got), n, slices.Sorted(maps.Keys(got)))
	}
	if f := got[pkgSocker]; f == nil || f[4] != "0104750" || f[5] != "root" || f[6] != "socker" {
		t.Errorf("rpm %s: %v, want 0104750 root socker", pkgSocker, f)
	}
}

// pkgAllowImage rewrites the config as an admin would (root, 0644), setting
// [images] allow to ref and leaving every other line alone. It returns the
// new text.
func pkgAllowImage(t *testing.T, ref string) string {
	t.Helper()
	data, err := os.ReadFile(pkgConfig)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	section, done := "", false
	for _, l := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "[") {
			section = trimmed
		}
		if section == "[images]" && !done && strings.HasPrefix(trimmed, "allow") {
			out = append(out, "# Allowed by TestPackage_DebInstallsRunsAndRemoves.", fmt.Sprintf("allow = [%q]", ref))
			done = true
			continue
		}
		out = append(out, l)
	}
	if !done {
		t.Fatalf("%s has no [images] allow line to edit:\n%s", pkgConfig, data)
	}
	text := strings.Join(out, "\n")
	if err := os.WriteFile(pkgConfig, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := security.LoadConfig(pkgConfig)
	if err != nil {
		t.Fatalf("the edited config does not load: %v", err)
	}
	if len(cfg.Images.Allow) != 1 {
		t.Fatalf("edited config allows %v", cfg.Images.Allow)
	}
	if cfg.Container.SeccompProfile != pkgSeccomp || cfg.Seccomp == nil {
		t.Fatalf("the packaged config does not give containers the packaged seccomp profile: %q", cfg.Container.SeccompProfile)
	}
	return text
}

// pkgAuditCount returns how many lines the packaged audit log has.
func pkgAuditCount(t *testing.T) int {
	t.Helper()
	return len(pkgAuditLines(t))
}

// pkgAuditSince returns the records after the first n lines.
func pkgAuditSince(t *testing.T, n int) []security.Record {
	t.Helper()
	var recs []security.Record
	for _, l := range pkgAuditLines(t)[n:] {
		var r security.Record
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatalf("audit line is not JSON: %q: %v", l, err)
		}
		recs = append(recs, r)
	}
	return recs
}

func pkgAuditLines(t *testing.T) []string {
	t.Helper()
	return auditLinesOf(t, pkgAuditLog)
}

// pkgStatus returns dpkg's status of the socker package ("" if dpkg has
// never heard of it).
func pkgStatus(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "--showformat=${Status}", "--show", "socker").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

// pkgConffileListed reports whether dpkg's Conffiles field lists path.
func pkgConffileListed(conffiles, path string) bool {
	for _, l := range strings.Split(conffiles, "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == path {
			return true
		}
	}
	return false
}

// pkgCmd runs a command as root and returns its stdout; it fails the test
// with the command's output if it fails.
func pkgCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out.String(), errb.String())
	}
	return out.String()
}

func pkgExists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}

func pkgUserName(uid uint32) string {
	if u, err := user.LookupId(strconv.Itoa(int(uid))); err == nil {
		return u.Username
	}
	return strconv.Itoa(int(uid))
}

func pkgGroupName(gid uint32) string {
	if g, err := user.LookupGroupId(strconv.Itoa(int(gid))); err == nil {
		return g.Name
	}
	return strconv.Itoa(int(gid))
}

func pkgAtoi(t *testing.T, s string) uint32 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return uint32(n)
}
