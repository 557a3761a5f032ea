package localmesos

import (
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"github.com/containerd/cgroups/v3"
	"github.com/containerd/cgroups/v3/cgroup1"
	"github.com/containerd/cgroups/v3/cgroup2"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/cgroupfs"
)

const (
	cgroupRoot = "/sys/fs/cgroup"
	// The command executor's allowance, which a Mesos agent adds to a
	// command task's container: its cgroup gets the task's resources plus
	// these (so memory.limit_in_bytes is the task's mem + 32 MB).
	executorCPUs  = 0.1
	executorMemMB = 32
)

// isolated are the v1 hierarchies a Mesos agent with
// --isolation=cgroups/cpu,cgroups/mem puts a task in: package cgroup's
// list, which socker's placement check and gc read too.
var isolated = func() map[cgroup1.Name]bool {
	m := map[cgroup1.Name]bool{}
	for _, name := range cgroup.MesosManagedV1 {
		m[cgroup1.Name(name)] = true
	}
	return m
}()

// taskCgroup is a task's cgroup, laid out as the Mesos cgroups isolator
// does: v1 /sys/fs/cgroup/{cpu,cpuacct,memory,freezer}/mesos/<id>; v2
// /sys/fs/cgroup/mesos/<id> with the task's processes in <id>/leaf. A
// non-root launcher makes it in its delegated cgroup instead: v1 only,
// .../<DelegatedParent(uid)>/mesos/<id>.
type taskCgroup struct {
	path string // e.g. /mesos/<id>
	v1   cgroup1.Cgroup
	v2   *cgroup2.Manager
	leaf *cgroup2.Manager
}

// newTaskCgroup makes the cgroup parent/id with the task's limits.
func newTaskCgroup(parent, id string, cpus, memMB float64) (*taskCgroup, error) {
	cpus += executorCPUs
	mem := int64((memMB + executorMemMB) * (1 << 20))
	shares := uint64(max(cpus*1024, 2))
	period := uint64(100000)
	quota := int64(max(cpus*float64(period), 1000))
	path := parent + "/" + id
	g := &taskCgroup{path: path}
	if cgroups.Mode() == cgroups.Unified {
		weight := 1 + (shares-2)*9999/262142 // cpu.shares to cpu.weight, as runc converts
		var err error
		g.v2, err = cgroup2.NewManager(cgroupRoot, path, &cgroup2.Resources{
			CPU:    &cgroup2.CPU{Weight: &weight, Max: cgroup2.NewCPUMax(&quota, &period)},
			Memory: &cgroup2.Memory{Max: &mem},
		})
		if err != nil {
			return nil, err
		}
		if g.leaf, err = g.v2.NewChild("leaf", nil); err == nil {
			// Containers created beside leaf (Docker's --cgroup-parent) get the controllers too.
			err = g.leaf.ToggleControllers([]string{"cpu", "memory"}, cgroup2.Enable)
		}
		if err != nil {
			g.destroy()
			return nil, err
		}
		return g, nil
	}
	hierarchy := func() ([]cgroup1.Subsystem, error) {
		all, err := cgroup1.Default()
		var subs []cgroup1.Subsystem
		for _, s := range all {
			if isolated[s.Name()] {
				subs = append(subs, s)
			}
		}
		return subs, err
	}
	cg, err := cgroup1.New(cgroup1.StaticPath(path), &specs.LinuxResources{
		CPU:    &specs.LinuxCPU{Shares: &shares, Quota: &quota, Period: &period},
		Memory: &specs.LinuxMemory{Limit: &mem},
	}, cgroup1.WithHiearchy(hierarchy))
	if err != nil {
		g.removeDirs()
		return nil, err
	}
	g.v1 = cg
	return g, nil
}

// dirs lists the task cgroup's directory in each hierarchy it was made in:
// the isolated v1 hierarchies, or the v2 task directory (not leaf).
func (g *taskCgroup) dirs() []string {
	if g.v2 != nil {
		return []string{filepath.Join(cgroupRoot, g.path)}
	}
	var out []string
	for _, s := range g.v1.Subsystems() {
		out = append(out, filepath.Join(cgroupRoot, string(s.Name()), g.path))
	}
	return out
}

// chown gives the task's cgroup directory, not its control files, to the
// task's user in every hierarchy it isolates, as a Mesos agent with
// --switch_user does before it starts the task (the cgroups isolator's
// prepare: "Chown the cgroup at ... to user ..."). Mesos 1.12 has no cgroup
// v2 isolator; on v2 the task directory is chowned the same way.
func (g *taskCgroup) chown(uid, gid int) error {
	for _, d := range g.dirs() {
		if err := os.Chown(d, uid, gid); err != nil {
			return fmt.Errorf("chowning the task cgroup %s: %w", d, err)
		}
	}
	return nil
}

// add moves a process into the cgroup (into leaf on v2).
func (g *taskCgroup) add(pid int) error {
	if g.leaf != nil {
		return g.leaf.AddProc(uint64(pid))
	}
	return g.v1.AddProc(uint64(pid))
}

// pids lists every process in the cgroup and beneath it (Docker's
// containers included).
func (g *taskCgroup) pids() []int {
	var out []int
	if g.v2 != nil {
		ps, _ := g.v2.Procs(true)
		for _, p := range ps {
			out = append(out, int(p))
		}
		return out
	}
	seen := map[int]bool{}
	for _, s := range g.v1.Subsystems() {
		ps, _ := g.v1.Processes(s.Name(), true)
		for _, p := range ps {
			if !seen[p.Pid] {
				seen[p.Pid] = true
				out = append(out, p.Pid)
			}
		}
	}
	return out
}

// kill SIGKILLs every process in the cgroup, frozen first so none can fork.
func (g *taskCgroup) kill() {
	if g.v2 != nil {
		g.v2.Kill()
		return
	}
	g.v1.Freeze()
	for _, pid := range g.pids() {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	g.v1.Thaw()
}

// destroy kills what is left and removes the cgroup in every hierarchy,
// including the empty cgroups Docker created beneath it in hierarchies
// Mesos does not isolate.
func (g *taskCgroup) destroy() error {
	deadline := time.Now().Add(10 * time.Second)
	for (g.v1 != nil || g.v2 != nil) && len(g.pids()) > 0 && time.Now().Before(deadline) {
		g.kill()
		time.Sleep(20 * time.Millisecond)
	}
	var err error
	for time.Now().Before(deadline) {
		if err = g.removeDirs(); err == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("removing cgroup %s: %w", g.path, err)
}

func (g *taskCgroup) removeDirs() error {
	roots := []string{cgroupRoot}
	if cgroups.Mode() != cgroups.Unified {
		roots = nil
		ents, _ := os.ReadDir(cgroupRoot)
		for _, e := range ents {
			roots = append(roots, filepath.Join(cgroupRoot, e.Name()))
		}
	}
	var last error
	for _, r := range roots {
		if err := cgroupfs.RemoveTree(filepath.Join(r, g.path)); err != nil {
			last = err
		}
	}
	return last
}
