package testutil

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/cgroupfs"
	"github.com/sockerhpc/socker/internal/uuid"
)

// Prerequisites returns an error naming the first thing the root tiers need
// that this machine lacks. Root tests call it and fail (never skip) on error.
func Prerequisites(image string) error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("root tests must run as root (euid is %d)", os.Geteuid())
	}
	for _, tool := range []string{"docker", "setpriv", "useradd", "groupadd", "usermod"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s not found: run scripts/setup.sh", tool)
		}
	}
	if out, err := exec.Command("docker", "image", "inspect", image).CombinedOutput(); err != nil {
		return fmt.Errorf("docker image %s unavailable (run scripts/setup.sh): %s", image, strings.TrimSpace(string(out)))
	}
	return nil
}

// User is a real Unix account created for tests.
type User struct {
	Name   string
	UID    uint32
	GID    uint32
	Groups []uint32 // all groups, as `id -G` prints them (primary first)
}

// EnsureUser creates (if missing) user name with its own primary group and
// the given supplementary groups, which are created too.
func EnsureUser(name string, groups ...string) (User, error) {
	for _, g := range groups {
		if out, err := exec.Command("groupadd", "-f", g).CombinedOutput(); err != nil {
			return User{}, fmt.Errorf("groupadd %s: %v: %s", g, err, out)
		}
	}
	if exec.Command("id", "-u", name).Run() != nil {
		args := []string{"-m", "-U", "-s", "/bin/sh"}
		if len(groups) > 0 {
			args = append(args, "-G", strings.Join(groups, ","))
		}
		if out, err := exec.Command("useradd", append(args, name)...).CombinedOutput(); err != nil {
			return User{}, fmt.Errorf("useradd %s: %v: %s", name, err, out)
		}
	} else if len(groups) > 0 {
		if out, err := exec.Command("usermod", "-aG", strings.Join(groups, ","), name).CombinedOutput(); err != nil {
			return User{}, fmt.Errorf("usermod %s: %v: %s", name, err, out)
		}
	}
	return LookupUser(name)
}

// LookupUser reads an account's ids with id(1).
func LookupUser(name string) (User, error) {
	u := User{Name: name}
	read := func(flag string) ([]uint32, error) {
		out, err := exec.Command("id", flag, name).Output()
		if err != nil {
			return nil, fmt.Errorf("id %s %s: %v", flag, name, err)
		}
		var ids []uint32
		for _, f := range strings.Fields(string(out)) {
			n, err := strconv.ParseUint(f, 10, 32)
			if err != nil {
				return nil, err
			}
			ids = append(ids, uint32(n))
		}
		return ids, nil
	}
	ids, err := read("-u")
	if err != nil {
		return u, err
	}
	u.UID = ids[0]
	if ids, err = read("-g"); err != nil {
		return u, err
	}
	u.GID = ids[0]
	u.Groups, err = read("-G")
	return u, err
}

// TaskCgroup is a cgroup laid out like the Mesos cgroups isolator's
// (cgroups/cpu, cgroups/mem, and cgroups/pids for NewAgentTaskCgroup):
// /mesos/<uuid> in the cpu, cpuacct, memory and freezer (and pids)
// hierarchies on v1, or /mesos/<uuid> with the task in /leaf on v2.
type TaskCgroup struct {
	ID    string // the Mesos container id (a UUID)
	Path  string // "/mesos/<id>" (or beneath NewTaskCgroupUnder's parent)
	Mode  cgroup.Mode
	procs []string // cgroup.procs files a task process is written to
}

// mesosControllers are the v1 hierarchies a Mesos 1.12 agent with
// --isolation=cgroups/cpu,cgroups/mem puts a task in (cgroup.MesosManagedV1).
var mesosControllers = func() map[cgroup1.Name]bool {
	m := map[cgroup1.Name]bool{}
	for _, c := range cgroup.MesosManagedV1 {
		m[cgroup1.Name(c)] = true
	}
	return m
}()

// NewTaskCgroup creates a task cgroup with a memory limit in bytes, every
// directory root's.
func NewTaskCgroup(memLimit int64) (*TaskCgroup, error) {
	return newTaskCgroup("/mesos", memLimit, mesosControllers)
}

// NewTaskCgroupUnder creates, as NewTaskCgroup does, the task cgroup
// parent/<uuid> (parent "/mesos/<id>/mesos" is a nested container's). Close
// removes the task cgroup, not parent.
func NewTaskCgroupUnder(parent string, memLimit int64) (*TaskCgroup, error) {
	return newTaskCgroup(parent, memLimit, mesosControllers)
}

// NewAgentTaskCgroup replays what a real Mesos 1.12 agent (built from
// source, flags --isolation=cgroups/cpu,cgroups/mem,cgroups/pids
// --launcher=linux --switch_user) does for a task of user: root makes
// /mesos/<uuid> in the cpu, cpuacct, memory, freezer and pids hierarchies,
// then chowns the directory, not its control files, to the task's user in
// each (the cgroups isolator's prepare: "Chown the cgroup at ... to user").
// On v2 it chowns /mesos/<uuid>.
func NewAgentTaskCgroup(memLimit int64, user User) (*TaskCgroup, error) {
	ctrls := map[cgroup1.Name]bool{cgroup1.Pids: true}
	for c := range mesosControllers {
		ctrls[c] = true
	}
	t, err := newTaskCgroup("/mesos", memLimit, ctrls)
	if err != nil {
		return nil, err
	}
	for _, d := range t.Dirs() {
		if err := os.Chown(d, int(user.UID), int(user.GID)); err != nil {
			t.Close()
			return nil, fmt.Errorf("chowning task cgroup %s to %s: %w", d, user.Name, err)
		}
	}
	return t, nil
}

// Dirs lists the task cgroup's directory in each hierarchy it was made in.
func (t *TaskCgroup) Dirs() []string {
	if t.Mode == cgroup.V2 {
		return []string{filepath.Join("/sys/fs/cgroup", t.Path)}
	}
	var out []string
	for _, p := range t.procs {
		out = append(out, filepath.Dir(p))
	}
	return out
}

func newTaskCgroup(parent string, memLimit int64, ctrls map[cgroup1.Name]bool) (*TaskCgroup, error) {
	mode, err := cgroup.HostMode()
	if err != nil {
		return nil, err
	}
	id := uuid.New()
	t := &TaskCgroup{ID: id, Path: parent + "/" + id, Mode: mode}
	if mode == cgroup.V2 {
		// Mesos enables the controllers it isolates for its subtree.
		if err := os.MkdirAll("/sys/fs/cgroup/mesos", 0o755); err != nil {
			return nil, err
		}
		os.WriteFile("/sys/fs/cgroup/cgroup.subtree_control", []byte("+memory +pids +cpu"), 0)
		os.WriteFile("/sys/fs/cgroup/mesos/cgroup.subtree_control", []byte("+memory +pids +cpu"), 0)
		m, err := cgroup2.NewManager("/sys/fs/cgroup", t.Path, &cgroup2.Resources{Memory: &cgroup2.Memory{Max: &memLimit}})
		if err != nil {
			return nil, fmt.Errorf("creating v2 task cgroup: %w", err)
		}
		if _, err := m.NewChild("leaf", nil); err != nil {
			return nil, fmt.Errorf("creating v2 leaf cgroup: %w", err)
		}
		t.procs = []string{filepath.Join("/sys/fs/cgroup", t.Path, "leaf", "cgroup.procs")}
		return t, nil
	}
	hier := func() ([]cgroup1.Subsystem, error) {
		all, err := cgroup1.Default()
		if err != nil {
			return nil, err
		}
		var subs []cgroup1.Subsystem
		for _, s := range all {
			if ctrls[s.Name()] {
				subs = append(subs, s)
			}
		}
		return subs, nil
	}
	if _, err := cgroup1.New(cgroup1.StaticPath(t.Path), &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &memLimit}}, cgroup1.WithHiearchy(hier)); err != nil {
		return nil, fmt.Errorf("creating v1 task cgroup: %w", err)
	}
	subs, _ := hier()
	for _, s := range subs {
		t.procs = append(t.procs, filepath.Join("/sys/fs/cgroup", string(s.Name()), t.Path, "cgroup.procs"))
	}
	return t, nil
}

// Command returns a command that, started as root, moves itself into the
// task cgroup and then execs argv as user (setpriv --init-groups: the user's
// real groups), as a Mesos agent with --switch_user launches a task. A nil
// user keeps root.
func (t *TaskCgroup) Command(user *User, argv ...string) *exec.Cmd {
	script := `for f in ` + strings.Join(t.procs, " ") + `; do echo $$ > "$f" || exit 125; done; exec "$@"`
	args := []string{"-c", script, "sh"}
	if user != nil {
		args = append(args, "setpriv", "--reuid="+user.Name, "--regid="+user.Name, "--init-groups", "--")
	}
	return exec.Command("/bin/sh", append(args, argv...)...)
}

// AsUserOutside returns a command that runs argv as user without entering
// any task cgroup (a login shell, cron, ...).
func AsUserOutside(user User, argv ...string) *exec.Cmd {
	return exec.Command("setpriv", append([]string{"--reuid=" + user.Name, "--regid=" + user.Name, "--init-groups", "--"}, argv...)...)
}

// Close removes the task cgroup and whatever Docker created beneath it, in
// every hierarchy, as a Mesos agent and socker gc would.
func (t *TaskCgroup) Close() error {
	var roots []string
	if t.Mode == cgroup.V2 {
		roots = []string{"/sys/fs/cgroup"}
	} else {
		ents, _ := os.ReadDir("/sys/fs/cgroup")
		for _, e := range ents {
			roots = append(roots, filepath.Join("/sys/fs/cgroup", e.Name()))
		}
	}
	var last error
	for _, r := range roots {
		dir := filepath.Join(r, t.Path)
		for try := 0; try < 50; try++ {
			if last = cgroupfs.RemoveTree(dir); last == nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	return last
}

// EndAsMesos removes the task cgroup from the hierarchies a Mesos agent
// manages (those it was made in: cpu, cpuacct, memory, freezer on v1, and
// pids for NewAgentTaskCgroup), as the agent does when the task ends, and
// leaves the others (devices, blkio, ...) to Docker's leftovers and socker
// gc. On v2 it is Close.
func (t *TaskCgroup) EndAsMesos() error {
	if t.Mode == cgroup.V2 {
		return t.Close()
	}
	for _, p := range t.procs {
		if err := cgroupfs.RemoveTree(filepath.Dir(p)); err != nil {
			return err
		}
	}
	return nil
}

// RepoRoot returns the root of this module's source tree.
func RepoRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	mod := strings.TrimSpace(string(out))
	if mod == "" || mod == os.DevNull {
		return "", fmt.Errorf("not inside the socker module")
	}
	return filepath.Dir(mod), nil
}

// InstallSocker builds cmd/socker with configPath compiled in, the way
// `make build CONFIG=...` does, and installs it in dir owned by root with mode
// 4755. It returns the binary's path.
func InstallSocker(dir, configPath string) (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "socker")
	cmd := exec.Command("make", "-s", "-C", root, "build", "CONFIG="+configPath, "OUT="+bin)
	var buf bytes.Buffer
	cmd.Stdout, cmd.Stderr = &buf, &buf
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("building socker: %v: %s", err, buf.String())
	}
	if err := os.Chown(bin, 0, 0); err != nil {
		return "", err
	}
	if err := os.Chmod(bin, 0o755|os.ModeSetuid); err != nil {
		return "", err
	}
	return bin, nil
}
