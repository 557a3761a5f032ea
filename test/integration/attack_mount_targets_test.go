//go:build integration

package integration

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/testutil"
)

// P3, mount targets and the working directory. runc mounts as root and, as
// root, creates whatever mount point or working directory is missing, even
// inside a bind-mounted host directory: a nested target, one of Docker's own
// mounts (/etc/hosts, /sbin/docker-init) under a user target, or a
// --workdir below a mount would leave root-owned entries in the host
// directory that its owner cannot delete. socker refuses each such request
// before Docker sees it: a read-write mount needs a source the caller can
// write, targets may not nest nor meet Docker's own, and a working directory
// in a mount must already exist in its source.

// mtTree records every path beneath root (root included) with its type,
// mode, owner and (for files) size: an entry runc created, or a changed
// owner, shows.
func mtTree(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		out[p] = fmt.Sprintf("%v %d:%d", info.Mode(), st.Uid, st.Gid)
		if info.Mode().IsRegular() {
			out[p] += fmt.Sprintf(" %d bytes", info.Size())
		}
		return nil
	})
	if err != nil {
		t.Fatalf("listing %s: %v", root, err)
	}
	return out
}

// mtTrees lists each root.
func mtTrees(t *testing.T, roots ...string) map[string]string {
	t.Helper()
	all := map[string]string{}
	for _, r := range roots {
		for p, s := range mtTree(t, r) {
			all[p] = s
		}
	}
	return all
}

// mtAssertSame fails for every path created, removed or changed since
// before was listed.
func mtAssertSame(t *testing.T, before map[string]string, roots ...string) {
	t.Helper()
	assertSameStates(t, before, mtTrees(t, roots...))
}

// mtSite creates the directory name under shareDir, removed at the end of
// the test, and configures it as a read-only site mount at target for the
// test. It returns the directory.
func mtSite(t *testing.T, name, target string) string {
	t.Helper()
	site := filepath.Join(shareDir, name)
	if err := os.MkdirAll(site, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(site) })
	withConfig(t, allowMounts(baseConfig, "\nsite = "+quoteList(site+":"+target+":ro"), shareDir))
	return site
}

// mtDir creates, under the allowed prefix shareDir, a 0755 directory owned
// by u holding hello.txt (0644), a/b (0755) and link -> a, all u's; removed
// at the end of the test.
func mtDir(t *testing.T, u testutil.User, name string) string {
	t.Helper()
	d := filepath.Join(shareDir, name)
	os.RemoveAll(d)
	t.Cleanup(func() { os.RemoveAll(d) })
	for _, err := range []error{
		os.MkdirAll(filepath.Join(d, "a", "b"), 0o755),
		os.WriteFile(filepath.Join(d, "hello.txt"), []byte("hello from "+u.Name+"\n"), 0o644),
		os.Symlink("a", filepath.Join(d, "link")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
	err := filepath.WalkDir(d, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(u.UID), int(u.GID))
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// mtBob is a user whose files alice may read but not write: not in any of
// alice's groups, nor in a denied one.
func mtBob(t *testing.T) testutil.User {
	t.Helper()
	bob, err := testutil.EnsureUser("sockt-bob")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range bob.Groups {
		if slices.Contains(alice.Groups, g) {
			t.Fatalf("sockt-bob shares group %d with alice", g)
		}
	}
	return bob
}

// mtRefused checks one refusal: exit 77 with one "socker: " line that says
// says, exactly one new audit record (deny, reason, alice's uid), and
// nothing created or changed beneath roots.
func mtRefused(t *testing.T, r result, before int, tree map[string]string, reason, says string, roots ...string) {
	t.Helper()
	assertOneLineError(t, r, 77, says)
	recs := newRecords(t, before)
	if len(recs) != 1 {
		t.Errorf("want exactly one audit record, got %d: %+v", len(recs), recs)
	} else if recs[0].Event != "deny" || recs[0].Reason != reason || recs[0].UID != alice.UID {
		t.Errorf("audit record %+v, want deny/%s for uid %d", recs[0], reason, alice.UID)
	}
	mtAssertSame(t, tree, roots...)
}

// TestAttackMountTargets_ReadWriteNeedsWritableSource: alice may read bob's
// 0755 directory under an allowed prefix but not write it. Mounting it (or
// his file) read-write — which let runc create root-owned mount points or
// working directories in it — is refused with the advice to add :ro, is
// audited once, reaches no Docker container event and creates nothing; with
// :ro it runs.
func TestAttackMountTargets_ReadWriteNeedsWritableSource(t *testing.T) {
	bob := mtBob(t)
	bobDir := mtDir(t, bob, "mt-bob-rw")
	tc := task(t, 64*mib)
	says := `mount source "` + bobDir + `" is not writable by you, so it cannot be mounted read-write: add :ro`
	cases := []struct {
		name         string
		args         []string
		reason, says string
	}{
		{"read-write by default", []string{"run", "--mount", bobDir + ":/v", image, "true"}, "mount-not-writable", says},
		{"explicit :rw", []string{"run", "--mount", bobDir + ":/v:rw", image, "true"}, "mount-not-writable", says},
		{"read-write with a new workdir inside", []string{"run", "--mount", bobDir + ":/v", "--workdir", "/v/new/dir", image, "true"}, "mount-not-writable", says},
		{"his file read-write", []string{"run", "--mount", bobDir + "/hello.txt:/h.txt", image, "true"}, "mount-not-writable", "is not writable by you"},
		{"explain", []string{"explain", "--mount", bobDir + ":/v", image, "true"}, "mount-not-writable", says},
		// The pure policy refuses this shape before any path is opened.
		{"read-write with a nested target it lacks", []string{"run", "--mount", bobDir + ":/v", "--mount", bobDir + "/a:/v/sub:ro", image, "true"},
			"mount-nested", `mount target "/v/sub" is inside mount target "/v"`},
	}
	since := time.Now()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, tree := len(auditLines(t)), mtTree(t, bobDir)
			r := run(t, tc.Command(&alice, append([]string{socker}, c.args...)...), "")
			mtRefused(t, r, before, tree, c.reason, c.says, bobDir)
		})
	}
	assertNoContainerEvents(t, since, tc)

	ok := task(t, 256*mib)
	tree := mtTree(t, bobDir)
	r := run(t, sockerRun(ok, &alice, "--mount", bobDir+":/v:ro", "--workdir", "/v/a", image, "sh", "-c", "pwd; cat /v/hello.txt"), "")
	if r.code != 0 || r.stdout != "/v/a\nhello from sockt-bob\n" {
		t.Errorf("read-only mount of bob's directory: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	mtAssertSame(t, tree, bobDir)
}

// TestAttackMountTargets_WorkdirMustExistInSource: a --workdir below a
// mount target that is not a directory in the source — which runc created
// there as root — is refused, in a read-only mount of bob's directory and in
// alice's own writable one alike, and so is one through a symlink; nothing
// is created. An existing one, the one mapped from the cwd, and one in no
// mount (created in the container's own layer) still run, and leave the
// sources as they were.
func TestAttackMountTargets_WorkdirMustExistInSource(t *testing.T) {
	bob := mtBob(t)
	bobDir := mtDir(t, bob, "mt-bob-wd")
	own := mtDir(t, alice, "mt-alice-wd")
	tc := task(t, 64*mib)
	cases := []struct {
		name, mount, workdir, reason, says string
	}{
		{"missing in bob's read-only directory", bobDir + ":/v:ro", "/v/a/b/c", "workdir-missing",
			`working directory "/v/a/b/c" ("` + bobDir + `/a/b/c" on the host) does not exist as a directory`},
		{"missing in alice's writable directory", own + ":/v", "/v/new/dir", "workdir-missing", "create it first, or give another --workdir"},
		{"a file", own + ":/v", "/v/hello.txt", "workdir-missing", "does not exist as a directory"},
		{"through a symlink", own + ":/v", "/v/link/b", "workdir-unreachable", "symlink"},
	}
	since := time.Now()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, tree := len(auditLines(t)), mtTrees(t, bobDir, own)
			r := run(t, sockerRun(tc, &alice, "--mount", c.mount, "--workdir", c.workdir, image, "true"), "")
			mtRefused(t, r, before, tree, c.reason, c.says, bobDir, own)
		})
	}
	assertNoContainerEvents(t, since, tc)

	ok := task(t, 256*mib)
	tree := mtTrees(t, bobDir, own)
	for _, c := range []struct {
		name, mount, workdir, cwd, want string
	}{
		{"existing, in alice's directory", own + ":/v", "/v/a/b", "", "/v/a/b"},
		{"existing, in bob's read-only directory", bobDir + ":/v:ro", "/v/a", "", "/v/a"},
		{"at the mount target", bobDir + ":/v:ro", "/v", "", "/v"},
		{"in no mount", own + ":/v", "/elsewhere/x", "", "/elsewhere/x"},
		{"beside the target, a prefix of its name", own + ":/v", "/vv/x", "", "/vv/x"},
		{"default, from the cwd", own + ":/v", "", filepath.Join(own, "a", "b"), "/v/a/b"},
	} {
		args := []string{"--mount", c.mount}
		if c.workdir != "" {
			args = append(args, "--workdir", c.workdir)
		}
		cmd := sockerRun(ok, &alice, append(args, image, "pwd")...)
		cmd.Dir = c.cwd
		if r := run(t, cmd, ""); r.code != 0 || r.stdout != c.want+"\n" {
			t.Errorf("%s: pwd inside %q (exit %d, stderr %q), want %s", c.name, r.stdout, r.code, r.stderr, c.want)
		}
	}
	mtAssertSame(t, tree, bobDir, own)
}

// TestAttackMountTargets_NestedAndDockerTargetsRefused: a target inside or
// around another one (a user's or a site's), and one that is, is inside or
// holds Docker's own mounts (/etc/hosts, /etc/hostname, /etc/resolv.conf,
// /sbin/docker-init) — for which runc created the inner mount point as root
// in the outer source — are refused by the policy, audited once, reach no
// Docker container event and create nothing, even in alice's own writable
// directory.
func TestAttackMountTargets_NestedAndDockerTargetsRefused(t *testing.T) {
	bob := mtBob(t)
	bobDir := mtDir(t, bob, "mt-bob-nest")
	own := mtDir(t, alice, "mt-alice-nest")
	own2 := mtDir(t, alice, "mt-alice-nest2")
	site := mtSite(t, "mt-site", "/opt/site")
	roots := []string{bobDir, own, own2, site}
	tc := task(t, 64*mib)
	cases := []struct {
		name   string
		mounts []string
		reason string
		says   string
	}{
		{"inside an earlier target", []string{own + ":/v", own2 + ":/v/sub"}, "mount-nested",
			`mount target "/v/sub" is inside mount target "/v": nested mounts are refused`},
		{"around an earlier target", []string{own2 + ":/v/sub", own + ":/v"}, "mount-nested", `mount target "/v/sub" is inside mount target "/v"`},
		{"both read-only, in bob's directory", []string{bobDir + ":/v:ro", own + ":/v/sub:ro"}, "mount-nested", `mount target "/v/sub" is inside mount target "/v"`},
		{"inside a site mount", []string{own + ":/opt/site/x"}, "mount-nested", `mount target "/opt/site/x" is inside mount target "/opt/site"`},
		{"around a site mount", []string{own + ":/opt"}, "mount-nested", `mount target "/opt/site" is inside mount target "/opt"`},
		{"/etc, holding Docker's /etc/hosts", []string{own + ":/etc"}, "mount-target-reserved",
			`mount target "/etc" is refused: it is, is inside or contains /etc/hosts, which Docker mounts itself in every container`},
		{"/sbin, holding docker-init", []string{own + ":/sbin"}, "mount-target-reserved", "/sbin/docker-init"},
		{"/usr, holding docker-init in a merged-/usr image", []string{own + ":/usr"}, "mount-target-reserved", "/usr/sbin/docker-init"},
		{"/etc/resolv.conf itself", []string{own + "/hello.txt:/etc/resolv.conf:ro"}, "mount-target-reserved", "/etc/resolv.conf"},
	}
	since := time.Now()
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, tree := len(auditLines(t)), mtTrees(t, roots...)
			var args []string
			for _, m := range c.mounts {
				args = append(args, "--mount", m)
			}
			r := run(t, sockerRun(tc, &alice, append(args, image, "true")...), "")
			mtRefused(t, r, before, tree, c.reason, c.says, roots...)
		})
	}
	assertNoContainerEvents(t, since, tc)
}

// TestAttackMountTargets_OwnWritableDirectoryRuns: the ordinary case is
// untouched: alice's own directory read-write with an existing working
// directory, bob's beside it read-only and a site mount beside both. The
// file the job writes is alice's; nothing else appears in any source.
func TestAttackMountTargets_OwnWritableDirectoryRuns(t *testing.T) {
	bob := mtBob(t)
	bobDir := mtDir(t, bob, "mt-bob-ok")
	own := mtDir(t, alice, "mt-alice-ok")
	site := mtSite(t, "mt-site-ok", "/site")
	tc := task(t, 256*mib)
	beforeOwn, before := mtTree(t, own), mtTrees(t, bobDir, site)
	r := run(t, sockerRun(tc, &alice, "--mount", own+":/work", "--mount", bobDir+":/ref:ro", "--workdir", "/work/a/b",
		image, "sh", "-c", "cat /ref/hello.txt >out; pwd; id -u"), "")
	if want := fmt.Sprintf("/work/a/b\n%d\n", alice.UID); r.code != 0 || r.stdout != want {
		t.Fatalf("exit %d, stdout %q (want %q), stderr %q", r.code, r.stdout, want, r.stderr)
	}
	out := filepath.Join(own, "a", "b", "out")
	data, err := os.ReadFile(out)
	if err != nil || string(data) != "hello from sockt-bob\n" {
		t.Errorf("%s: %q, %v", out, data, err)
	}
	if st := mtTree(t, out)[out]; !strings.Contains(st, fmt.Sprintf(" %d:%d ", alice.UID, alice.GID)) {
		t.Errorf("%s is %s, want alice's (%d:%d)", out, st, alice.UID, alice.GID)
	}
	// The job's file aside, neither source changed.
	beforeOwn[out] = mtTree(t, out)[out]
	mtAssertSame(t, beforeOwn, own)
	mtAssertSame(t, before, bobDir, site)
}
