//go:build integration

// Package realagent is socker's real-agent tier: mrun jobs run by a real
// user through a real Apache Mesos 1.12 master and agent on loopback (the
// build in ../shared/mesos), for the isolator sets real clusters use, with
// socker installed setuid root in a temporary directory and the real Docker
// daemon. Run it with `make test-mesos` as root, on its own and before the
// main integration suite: at start-up a Mesos agent destroys every cgroup
// under mesos/ that it does not know, the integration suite's task cgroups
// among them. A missing prerequisite (the Mesos tarball among them) fails
// the run; nothing here is skipped.
package realagent

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/sockerhpc/socker/internal/testutil"
	"github.com/sockerhpc/socker/security"
)

// mpiImage is the MPI image scripts/setup.sh builds (make mpi-image).
const mpiImage = "socker/mpich:4"

// The fixture every test shares.
var (
	dir        string // temporary directory (0755): mesos/, socker, mrun, log/, share/, clusters
	confDir    string // root-owned 0755 directory of the config, in /run
	mesosDir   string // the unpacked Mesos tree (sbin/, bin/, libexec/mesos, lib/)
	sockerBin  string // installed setuid root
	mrunBin    string
	configPath string
	auditPath  string
	shareDir   string // the allowed mount prefix
	alice      testutil.User
)

func TestMain(m *testing.M) {
	if err := setup(); err != nil {
		fmt.Fprintln(os.Stderr, "realagent setup failed:", err)
		cleanup()
		os.Exit(1)
	}
	code := m.Run()
	exec.Command(sockerBin, "gc").Run()
	cleanup()
	os.Exit(code)
}

func cleanup() {
	if dir != "" {
		unmountUnder(dir)
		os.RemoveAll(dir)
	}
	if confDir != "" {
		os.RemoveAll(confDir)
	}
}

// tarball is the Mesos build's path: $SOCKER_MESOS_TARBALL, or the shared
// copy next to the checkout (../shared/mesos/, looked for in each
// directory above the checkout, nearest first, so that a clone in a
// subdirectory finds it too).
func tarball() (string, error) {
	if p := os.Getenv("SOCKER_MESOS_TARBALL"); p != "" {
		return p, nil
	}
	root, err := testutil.RepoRoot()
	if err != nil {
		return "", err
	}
	const rel = "shared/mesos/mesos-1.12.0-debian12-amd64.tar.zst"
	for d := filepath.Dir(root); ; d = filepath.Dir(d) {
		if p := filepath.Join(d, rel); fileExists(p) {
			return p, nil
		}
		if d == filepath.Dir(d) {
			return filepath.Join(filepath.Dir(root), rel), nil // missing: setup says where it looked
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func setup() error {
	if err := testutil.Prerequisites(mpiImage); err != nil {
		return err
	}
	tb, err := tarball()
	if err != nil {
		return err
	}
	if _, err := os.Stat(tb); err != nil {
		return fmt.Errorf("the Mesos 1.12 build is missing: %v (set SOCKER_MESOS_TARBALL to mesos-1.12.0-debian12-amd64.tar.zst; see ../shared/mesos/README.md)", err)
	}
	for _, tool := range []string{"zstd", "tar", "mpiexec.hydra", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: run scripts/setup.sh", tool)
		}
	}
	if dir, err = os.MkdirTemp("", "socker-ra-"); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	unpack := exec.Command("sh", "-c", `zstd -dc "$1" | tar -C "$2" -xf -`, "sh", tb, dir)
	if out, err := unpack.CombinedOutput(); err != nil {
		return fmt.Errorf("unpacking %s: %v: %s", tb, err, out)
	}
	mesosDir = filepath.Join(dir, "mesos")
	if out, err := exec.Command(filepath.Join(mesosDir, "sbin", "mesos-agent"), "--version").CombinedOutput(); err != nil {
		return fmt.Errorf("mesos-agent --version: %v: %s (the runtime libraries: scripts/setup.sh installs them)", err, out)
	}
	if confDir, err = os.MkdirTemp("/run", "socker-ra-"); err != nil {
		return err
	}
	if err := os.Chmod(confDir, 0o755); err != nil {
		return err
	}
	configPath = filepath.Join(confDir, "socker.toml")
	auditPath = filepath.Join(dir, "log", "audit.log")
	shareDir = filepath.Join(dir, "share")
	if err := os.MkdirAll(filepath.Dir(auditPath), 0o700); err != nil {
		return err
	}
	if err := os.MkdirAll(shareDir, 0o755); err != nil {
		return err
	}
	// A cluster node's config (no cgroups.allow_delegated: a real agent
	// makes every directory above a task's cgroup root's).
	config := fmt.Sprintf(`[images]
allow = [%q]
[mounts]
allow = [%q]
[users]
min_uid = 1000
deny_groups = ["docker", "sudo", "disk", "adm"]
[container]
network = "host"
pids_limit = 4096
stop_grace_seconds = 10
[audit]
path = %q
`, mpiImage, shareDir, auditPath)
	if err := os.WriteFile(configPath, []byte(config), 0o644); err != nil {
		return err
	}
	if sockerBin, err = testutil.InstallSocker(dir, configPath); err != nil {
		return err
	}
	if alice, err = testutil.EnsureUser("sockt-alice", "sockt-g1", "sockt-g2"); err != nil {
		return err
	}
	root, err := testutil.RepoRoot()
	if err != nil {
		return err
	}
	mrunBin = filepath.Join(dir, "mrun")
	build := exec.Command("go", "build", "-o", mrunBin, "./cmd/mrun")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		return fmt.Errorf("building mrun: %v: %s", err, out)
	}
	return nil
}

// asAlice makes cmd run as alice, the kernel setting her credentials (no
// setpriv), with a minimal environment, from /.
func asAlice(cmd *exec.Cmd, env ...string) *exec.Cmd {
	cmd.Dir = "/"
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=/tmp", "LC_ALL=C"}, env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
	return cmd
}

// records returns every audit record written so far.
func records(t *testing.T) []security.Record {
	t.Helper()
	data, err := os.ReadFile(auditPath)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var recs []security.Record
	s := bufio.NewScanner(bytes.NewReader(data))
	s.Buffer(nil, 1<<20)
	for s.Scan() {
		var r security.Record
		if err := json.Unmarshal(s.Bytes(), &r); err != nil {
			t.Fatalf("audit line is not JSON: %q: %v", s.Text(), err)
		}
		recs = append(recs, r)
	}
	return recs
}

// recordsOf returns the audit records of Mesos container cid, in order.
func recordsOf(t *testing.T, cid string) []security.Record {
	t.Helper()
	var out []security.Record
	for _, r := range records(t) {
		if r.MesosContainerID == cid {
			out = append(out, r)
		}
	}
	return out
}

// unmountUnder lazily unmounts every mount point at or below root, deepest
// first (the filesystem/linux isolator bind-mounts the agent's work_dir onto
// itself).
func unmountUnder(root string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var points []string
	for _, l := range strings.Split(string(data), "\n") {
		f := strings.Fields(l)
		if len(f) < 5 {
			continue
		}
		p := unescapeMountinfo(f[4])
		if p == root || strings.HasPrefix(p, root+"/") {
			points = append(points, p)
		}
	}
	// Deepest first; a point mounted twice is unmounted twice.
	for i := 0; i < len(points); i++ {
		for j := i + 1; j < len(points); j++ {
			if len(points[j]) > len(points[i]) {
				points[i], points[j] = points[j], points[i]
			}
		}
	}
	for _, p := range points {
		exec.Command("umount", "-l", p).Run()
	}
	return points
}

// unescapeMountinfo undoes mountinfo's octal escapes (\040 for a space).
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			var n int
			if _, err := fmt.Sscanf(s[i+1:i+4], "%o", &n); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
