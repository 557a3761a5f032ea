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
	// Delegated is the first directory of the task cgroup owned by a user
	// rather than root (see Delegated); Parse leaves it empty.
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

// Delegated returns the first directory of the task's cgroup, from the
// hierarchy's top "mesos" directory down to t.Parent, that is not owned by
// root, or "" when all are root's. A Mesos agent runs as root, so every
// directory it makes is root's; one owned by a user was delegated to that
// user, who can then make "Mesos" cgroups of their own. root is normally
// Root. On v1 it checks every hierarchy of t.Controllers found under root
// (at least one must be).
func Delegated(root string, t Task) (string, error) {
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
		dir := top
		for _, part := range strings.Split(strings.TrimPrefix(t.Parent, "/"), "/") {
			dir += "/" + part
			var st unix.Stat_t
			if err := unix.Lstat(dir, &st); err != nil {
				return "", fmt.Errorf("checking the owner of the task cgroup: %s: %w", dir, err)
			}
			if st.Mode&unix.S_IFMT != unix.S_IFDIR {
				return "", fmt.Errorf("checking the owner of the task cgroup: %s is not a directory", dir)
			}
			if st.Uid != 0 {
				return dir, nil
			}
		}
	}
	return "", nil
}
