package cgroup

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"regexp"
	"sort"
	"strings"
)

// IsTaskPath reports whether p is exactly a Mesos task cgroup path,
// "/mesos/<uuid>" or nested "/mesos/<uuid>/mesos/<uuid2>...".
func IsTaskPath(p string) bool { return mesosPath.MatchString(p) }

var mesosID = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

// Hierarchies are the v1 (or hybrid) hierarchies mounted under a root, split
// into those a Mesos agent with --isolation=cgroups/cpu,cgroups/mem manages
// (cpu, cpuacct and memory for the isolators, freezer for its launcher: it
// creates and destroys the task's directory there) and all the others
// (Docker creates the --cgroup-parent directory there too, and nobody
// removes it). Directories are absolute; symlinks (Debian's cpu ->
// cpu,cpuacct) are not followed.
type Hierarchies struct {
	Memory  string   // the memory hierarchy (also in Managed)
	Managed []string // memory, cpu, cpuacct, freezer
	Others  []string
}

// MesosManagedV1 are the v1 hierarchies a Mesos agent with
// --isolation=cgroups/cpu,cgroups/mem makes and destroys task cgroups in:
// cpu, cpuacct and memory for the isolators, freezer for its launcher. The
// local Mesos isolates the same ones.
var MesosManagedV1 = []string{"memory", "cpu", "cpuacct", "freezer"}

// V1Hierarchies lists the hierarchies under root. It fails if the memory or
// the cpu hierarchy is missing: without them nobody can tell which task
// cgroups Mesos still uses.
func V1Hierarchies(root string) (Hierarchies, error) {
	var h Hierarchies
	ents, err := os.ReadDir(root)
	if err != nil {
		return h, fmt.Errorf("listing cgroup hierarchies: %w", err)
	}
	cpu := false
	for _, e := range ents {
		if !e.IsDir() { // also skips symlinks
			continue
		}
		dir := root + "/" + e.Name()
		ctrls := strings.Split(e.Name(), ",")
		managed := false
		for _, c := range MesosManagedV1 {
			managed = managed || contains(ctrls, c)
		}
		if !managed {
			h.Others = append(h.Others, dir)
			continue
		}
		h.Managed = append(h.Managed, dir)
		if contains(ctrls, "memory") {
			h.Memory = dir
		}
		cpu = cpu || contains(ctrls, "cpu")
	}
	if h.Memory == "" || !cpu {
		return h, fmt.Errorf("no memory or no cpu cgroup hierarchy under %s: cannot tell which task cgroups Mesos still uses", root)
	}
	return h, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TaskExists reports whether the Mesos task cgroup path (IsTaskPath) still
// exists: in the memory hierarchy on v1, in the single tree on v2. Any
// error other than "does not exist" is returned, so that callers keep what
// they cannot judge.
func TaskExists(root string, mode Mode, path string) (bool, error) {
	if !IsTaskPath(path) {
		return false, fmt.Errorf("%q is not a Mesos task cgroup path", path)
	}
	dir := root + path
	if mode == V1 {
		h, err := V1Hierarchies(root)
		if err != nil {
			return false, err
		}
		dir = h.Memory + path
	}
	return exists(dir)
}

func exists(dir string) (bool, error) {
	_, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	return err == nil, err
}

// Leftover is a task cgroup path that Mesos has destroyed (it is in none of
// the hierarchies Mesos manages) but that still has a directory in other
// hierarchies: Docker made those for --cgroup-parent.
type Leftover struct {
	Path string   // "/mesos/<id>[/mesos/<id>...]"
	Dirs []string // its directories, one per hierarchy that has it
}

// Leftovers finds the leftover task cgroups in the v1 hierarchies h, nested
// ones before their parents. It only reads cgroupfs: whether a directory is
// empty is for rmdir(2) to say, atomically.
func Leftovers(h Hierarchies) ([]Leftover, error) {
	dirs := map[string][]string{}
	for _, top := range h.Others {
		if err := findTasks(top, "", 0, func(p string) { dirs[p] = append(dirs[p], top+p) }); err != nil {
			return nil, err
		}
	}
	var out []Leftover
	for p, ds := range dirs {
		used := false
		for _, m := range h.Managed {
			in, err := exists(m + p)
			if err != nil {
				return nil, err
			}
			used = used || in
		}
		if !used {
			sort.Strings(ds)
			out = append(out, Leftover{Path: p, Dirs: ds})
		}
	}
	sort.Slice(out, func(i, j int) bool {
		di, dj := strings.Count(out[i].Path, "/"), strings.Count(out[j].Path, "/")
		if di != dj {
			return di > dj
		}
		return out[i].Path < out[j].Path
	})
	return out, nil
}

// maxNesting bounds how deep Leftovers looks for nested Mesos containers.
const maxNesting = 8

// findTasks calls found for every task path "/mesos/<id>[/mesos/<id>...]"
// that has a directory under top (beneath prefix).
func findTasks(top, prefix string, depth int, found func(string)) error {
	if depth == maxNesting {
		return nil
	}
	ents, err := os.ReadDir(top + prefix + "/mesos")
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking for task cgroups: %w", err)
	}
	for _, e := range ents {
		if !e.IsDir() || !mesosID.MatchString(e.Name()) {
			continue
		}
		p := prefix + "/mesos/" + e.Name()
		found(p)
		if err := findTasks(top, p, depth+1, found); err != nil {
			return err
		}
	}
	return nil
}
