package cgroup

import (
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"github.com/containerd/cgroups/v3"
	"golang.org/x/sys/unix"
)

// Mode says which cgroup hierarchy Docker places containers in.
type Mode int

const (
	// V1 is the legacy (or hybrid) layout: one hierarchy per controller.
	V1 Mode = 1
	// V2 is the unified layout: a single hierarchy.
	V2 Mode = 2
)

func (m Mode) String() string {
	if m == V2 {
		return "v2"
	}
	return "v1"
}

// Task is the Mesos task cgroup a process was found in.
type Task struct {
	// Parent is the cgroup path containers must be created under (Docker's
	// HostConfig.CgroupParent), e.g. "/mesos/<id>". On v2 it is the parent of
	// the "leaf" cgroup the task's processes sit in.
	Parent string
	// ContainerID is the innermost Mesos container id in Parent.
	ContainerID string
	// Mode is the hierarchy the path was read from.
	Mode Mode
	// Controllers lists the v1 controllers whose path is Parent (empty on v2).
	Controllers []string
	// Delegated says why the task cgroup may not be a Mesos agent's (a
	// user could have made it, see Delegated), or is "" when it is one;
	// Parse leaves it empty.
	Delegated string
}

// ErrNotMesos means the process is not inside a Mesos task cgroup.
var ErrNotMesos = errors.New("not inside a Mesos task cgroup (/mesos/<container-id>)")

// maxCgroupFile bounds what we read from /proc/<pid>/cgroup.
const maxCgroupFile = 64 << 10

// knownV1 are the v1 controllers a line may name; anything else is refused so
// that a crafted cgroup name cannot smuggle in a line for a made-up hierarchy.
var knownV1 = map[string]bool{
	"cpu": true, "cpuacct": true, "cpuset": true, "memory": true, "devices": true,
	"freezer": true, "net_cls": true, "net_prio": true, "blkio": true,
	"perf_event": true, "hugetlb": true, "pids": true, "rdma": true, "misc": true, "debug": true,
}

// A Mesos container id is a UUID as the Mesos agent generates them.
var mesosPath = regexp.MustCompile(`^(/mesos/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})+$`)

// Parse reads the text of /proc/<pid>/cgroup and returns the Mesos task cgroup
// the process is in. mode says which hierarchy containers use on this host.
// It is strict: malformed lines, duplicate hierarchies or controllers, unknown
// controllers, and Mesos-looking paths that are not exactly
// "/mesos/<uuid>[/mesos/<uuid>...]" (plus "/leaf" on v2) are errors, because
// such text can only come from a crafted cgroup name.
func Parse(data []byte, mode Mode) (Task, error) {
	lines, err := parseLines(data)
	if err != nil {
		return Task{}, err
	}
	if mode == V2 {
		return parseV2(lines)
	}
	return parseV1(lines)
}

type line struct {
	id          int
	controllers []string
	path        string
}

func parseLines(data []byte) ([]line, error) {
	if len(data) > maxCgroupFile {
		return nil, fmt.Errorf("cgroup file is larger than %d bytes", maxCgroupFile)
	}
	text := string(data)
	if !strings.HasSuffix(text, "\n") {
		return nil, errors.New("cgroup file does not end in a newline")
	}
	var out []line
	ids := map[int]bool{}
	ctrls := map[string]bool{}
	for _, raw := range strings.Split(strings.TrimSuffix(text, "\n"), "\n") {
		parts := strings.SplitN(raw, ":", 3)
		if len(parts) != 3 {
			return nil, fmt.Errorf("malformed cgroup line %q", raw)
		}
		id, err := strconv.Atoi(parts[0])
		if err != nil || id < 0 || strconv.Itoa(id) != parts[0] {
			return nil, fmt.Errorf("malformed hierarchy id in cgroup line %q", raw)
		}
		if ids[id] {
			return nil, fmt.Errorf("hierarchy %d listed twice in cgroup file", id)
		}
		ids[id] = true
		l := line{id: id, path: parts[2]}
		if !strings.HasPrefix(l.path, "/") {
			return nil, fmt.Errorf("cgroup path %q is not absolute", l.path)
		}
		if id == 0 {
			if parts[1] != "" {
				return nil, fmt.Errorf("hierarchy 0 names controllers in cgroup line %q", raw)
			}
		} else {
			for _, c := range strings.Split(parts[1], ",") {
				if !knownV1[c] && !strings.HasPrefix(c, "name=") {
					return nil, fmt.Errorf("unknown cgroup controller %q", c)
				}
				if ctrls[c] {
					return nil, fmt.Errorf("cgroup controller %q listed twice", c)
				}
				ctrls[c] = true
				l.controllers = append(l.controllers, c)
			}
		}
		out = append(out, l)
	}
	return out, nil
}

// looksMesos reports whether p has a "mesos" path component, i.e. whether it
// must match mesosPath exactly to be accepted.
func looksMesos(p string) bool {
	return p == "/mesos" || strings.HasPrefix(p, "/mesos/") || strings.Contains(p, "/mesos/")
}

func parseV1(lines []line) (Task, error) {
	var t Task
	resource := false
	for _, l := range lines {
		if l.id == 0 {
			continue // the unified hierarchy of a hybrid host: Docker does not use it
		}
		if !looksMesos(l.path) {
			continue
		}
		if !mesosPath.MatchString(l.path) {
			return Task{}, fmt.Errorf("cgroup path %q is not a Mesos task cgroup", l.path)
		}
		if t.Parent != "" && t.Parent != l.path {
			return Task{}, fmt.Errorf("controllers disagree on the Mesos task cgroup (%q and %q)", t.Parent, l.path)
		}
		t.Parent = l.path
		for _, c := range l.controllers {
			t.Controllers = append(t.Controllers, c)
			if c == "memory" || c == "cpu" {
				resource = true
			}
		}
	}
	if t.Parent == "" || !resource {
		return Task{}, ErrNotMesos
	}
	t.Mode = V1
	t.ContainerID = t.Parent[strings.LastIndex(t.Parent, "/")+1:]
	return t, nil
}

func parseV2(lines []line) (Task, error) {
	if len(lines) != 1 || lines[0].id != 0 {
		return Task{}, errors.New("cgroup v2 host but the cgroup file is not a single unified line")
	}
	p := strings.TrimSuffix(lines[0].path, "/leaf")
	if !looksMesos(p) {
		return Task{}, ErrNotMesos
	}
	if !mesosPath.MatchString(p) {
		return Task{}, fmt.Errorf("cgroup path %q is not a Mesos task cgroup", lines[0].path)
	}
	return Task{Parent: p, ContainerID: p[strings.LastIndex(p, "/")+1:], Mode: V2}, nil
}

// Beneath checks that the process whose /proc/<pid>/cgroup text is data sits
// strictly beneath t.Parent: in every controller where the task was found
// (v1), or in the unified hierarchy (v2).
func Beneath(t Task, data []byte) error {
	lines, err := parseLines(data)
	if err != nil {
		return err
	}
	under := func(p string) bool { return strings.HasPrefix(p, t.Parent+"/") }
	if t.Mode == V2 {
		if len(lines) != 1 || lines[0].id != 0 || !under(lines[0].path) {
			return fmt.Errorf("container cgroup is not beneath %s", t.Parent)
		}
		return nil
	}
	want := map[string]bool{}
	for _, c := range t.Controllers {
		want[c] = true
	}
	for _, l := range lines {
		for _, c := range l.controllers {
			if want[c] {
				if !under(l.path) {
					return fmt.Errorf("container %s cgroup %q is not beneath %s", c, l.path, t.Parent)
				}
				delete(want, c)
			}
		}
	}
	if len(want) != 0 {
		return fmt.Errorf("container cgroup file lacks controllers of the task cgroup %s", t.Parent)
	}
	return nil
}

// HostMode reports the hierarchy Docker uses on this host.
func HostMode() (Mode, error) {
	switch cgroups.Mode() {
	case cgroups.Legacy, cgroups.Hybrid:
		return V1, nil
	case cgroups.Unified:
		return V2, nil
	}
	return 0, errors.New("no cgroup hierarchy is mounted at /sys/fs/cgroup")
}

// ReadProc reads /proc/<pid>/cgroup ("self" for the calling process), bounded.
func ReadProc(pid string) ([]byte, error) {
	f, err := os.Open("/proc/" + pid + "/cgroup")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxCgroupFile+1))
	if err != nil {
		return nil, fmt.Errorf("reading /proc/%s/cgroup: %w", pid, err)
	}
	return data, nil
}

// Self returns the Mesos task cgroup of the calling process.
func Self() (Task, error) {
	mode, err := HostMode()
	if err != nil {
		return Task{}, err
	}
	data, err := ReadProc("self")
	if err != nil {
		return Task{}, err
	}
	return Parse(data, mode)
}

// Root is where the cgroup hierarchies are mounted.
const Root = "/sys/fs/cgroup"

// Dir is what Delegated reads of one directory of a task cgroup.
type Dir struct {
	Path string
	UID  uint32 // owner
	Perm uint32 // permission bits
}

// Judge is the rule Delegated applies to one hierarchy; it does no I/O.
// dirs runs from the hierarchy's root (dirs[0]) down through every
// component of a task path "/mesos/<id>[/mesos/<id>...]", so dirs[i] for
// even i >= 2 is a container-id level. A user can make a cgroup only inside
// a directory they can write, so the task cgroup is a Mesos agent's when
// every directory above the task's own is root's and not writable by group
// or others. The task's own directory (the first container-id level not
// root's) may be the caller's: a Mesos agent with --switch_user chowns it
// to the task's user, and what lies beneath it is that task's. Judge
// returns "" for such a cgroup, else why it is not one: the first
// directory that someone other than root could have made cgroups in, or
// that a user other than the caller owns.
func Judge(dirs []Dir, caller uint32) string {
	for i, d := range dirs {
		switch {
		case d.Perm&0o022 != 0:
			return fmt.Sprintf("%s is writable by its group or others (mode %04o), who can make cgroups in it", d.Path, d.Perm&0o7777)
		case d.UID == 0:
			continue
		case d.UID == caller && i >= 2 && i%2 == 0:
			return "" // the task's own directory, chowned by the agent
		case d.UID == caller:
			return fmt.Sprintf("%s is owned by the caller (uid %d), who can make cgroups in it", d.Path, d.UID)
		default:
			return fmt.Sprintf("%s is owned by uid %d, neither root nor the caller", d.Path, d.UID)
		}
	}
	return ""
}

// Delegated tells a task cgroup a Mesos agent made from one a user could
// have made (see Judge): it returns "" for an agent's, else the reason it
// is not one. It reads (lstat, as root, nothing followed below the
// hierarchy's mount point) every directory from the hierarchy's root down
// to t.Parent in every hierarchy of t.Controllers found under root (at
// least one must be; named hierarchies are skipped), or on v2 under root
// itself; root is normally Root. What it checks cannot change before
// Docker uses the path: renaming or removing a cgroup needs write access to
// its parent, which only root has above the task's own directory.
func Delegated(root string, t Task, caller uint32) (string, error) {
	tops := []string{root}
	if t.Mode == V1 {
		tops = nil
		for _, c := range t.Controllers {
			if !knownV1[c] {
				continue // named hierarchies are not under root/<name>
			}
			top := root + "/" + c // Debian links cpu and cpuacct to cpu,cpuacct
			if _, err := os.Stat(top); err == nil {
				tops = append(tops, top)
			}
		}
		if len(tops) == 0 {
			return "", fmt.Errorf("none of the task's cgroup hierarchies (%s) is under %s", strings.Join(t.Controllers, ","), root)
		}
	}
	for _, top := range tops {
		dirs, err := readDirs(top, t.Parent)
		if err != nil {
			return "", fmt.Errorf("checking who made the task cgroup: %w", err)
		}
		if why := Judge(dirs, caller); why != "" {
			return why, nil
		}
	}
	return "", nil
}

// readDirs stats top (following a symlink such as cpu -> cpu,cpuacct) and
// lstats each directory of path beneath it.
func readDirs(top, path string) ([]Dir, error) {
	var out []Dir
	dir := top
	stat := unix.Stat
	for _, part := range append([]string{""}, strings.Split(strings.TrimPrefix(path, "/"), "/")...) {
		if part != "" {
			dir += "/" + part
		}
		var st unix.Stat_t
		if err := stat(dir, &st); err != nil {
			return nil, fmt.Errorf("%s: %w", dir, err)
		}
		if st.Mode&unix.S_IFMT != unix.S_IFDIR {
			return nil, fmt.Errorf("%s is not a directory", dir)
		}
		out = append(out, Dir{Path: dir, UID: st.Uid, Perm: st.Mode &^ unix.S_IFMT})
		stat = unix.Lstat
	}
	return out, nil
}
