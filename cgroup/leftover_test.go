package cgroup

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

const idC = "33333333-3333-4333-8333-333333333333" // idA, idB: cgroup_test.go

// fakeRoot makes a v1 cgroup root in a temporary directory: one directory
// per hierarchy, then the given directories (relative to the root).
func fakeRoot(t *testing.T, hierarchies []string, dirs ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, h := range hierarchies {
		if err := os.Mkdir(filepath.Join(root, h), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dirs {
		if err := os.MkdirAll(filepath.Join(root, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

var debianV1 = []string{"blkio", "cpu,cpuacct", "cpuset", "devices", "freezer", "memory", "net_cls,net_prio", "pids", "systemd", "unified"}

func TestV1Hierarchies(t *testing.T) {
	root := fakeRoot(t, debianV1)
	if err := os.Symlink("cpu,cpuacct", filepath.Join(root, "cpu")); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(root, "a-file"), nil, 0o644)
	h, err := V1Hierarchies(root)
	if err != nil {
		t.Fatal(err)
	}
	abs := func(names ...string) []string {
		for i, n := range names {
			names[i] = root + "/" + n
		}
		return names
	}
	want := Hierarchies{
		Memory:  root + "/memory",
		Managed: abs("cpu,cpuacct", "freezer", "memory"),
		Others:  abs("blkio", "cpuset", "devices", "net_cls,net_prio", "pids", "systemd", "unified"),
	}
	if !reflect.DeepEqual(h, want) {
		t.Errorf("V1Hierarchies =\n %+v\nwant\n %+v", h, want)
	}

	for name, hs := range map[string][]string{
		"no memory": {"cpu", "pids"},
		"no cpu":    {"cpuacct", "memory", "pids"},
	} {
		if _, err := V1Hierarchies(fakeRoot(t, hs)); err == nil {
			t.Errorf("%s: no error; gc must not guess which task cgroups Mesos uses", name)
		}
	}
}

func TestLeftovers(t *testing.T) {
	// idA: destroyed by Mesos, left by Docker in pids, devices and unified.
	// idB: still a task (memory only is enough to keep it).
	// idC nested in idB: destroyed; nested leftovers come before parents.
	// "docker" and a non-UUID under mesos are never touched.
	root := fakeRoot(t, []string{"cpu", "cpuacct", "memory", "freezer", "pids", "devices", "unified"},
		"pids/mesos/"+idA+"/0123abcd",
		"devices/mesos/"+idA,
		"unified/mesos/"+idA,
		"memory/mesos/"+idB,
		"pids/mesos/"+idB+"/mesos/"+idC,
		"pids/mesos/not-a-uuid",
		"pids/docker/"+idA,
		"freezer/mesos/"+idA, // managed hierarchy: never a candidate, and not yet gone
	)
	h, err := V1Hierarchies(root)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Leftovers(h)
	if err != nil {
		t.Fatal(err)
	}
	// idA is still in freezer (Mesos has not finished destroying it): kept.
	want := []Leftover{
		{Path: "/mesos/" + idB + "/mesos/" + idC, Dirs: []string{root + "/pids/mesos/" + idB + "/mesos/" + idC}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Leftovers =\n %+v\nwant\n %+v", got, want)
	}

	os.Remove(filepath.Join(root, "freezer/mesos", idA))
	got, err = Leftovers(h)
	if err != nil {
		t.Fatal(err)
	}
	want = []Leftover{
		want[0],
		{Path: "/mesos/" + idA, Dirs: []string{root + "/devices/mesos/" + idA, root + "/pids/mesos/" + idA, root + "/unified/mesos/" + idA}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("after Mesos destroyed idA, Leftovers =\n %+v\nwant\n %+v", got, want)
	}
}

func TestTaskExists(t *testing.T) {
	root := fakeRoot(t, []string{"cpu", "memory", "pids"}, "memory/mesos/"+idA, "pids/mesos/"+idB)
	for _, tc := range []struct {
		path    string
		want    bool
		wantErr bool
	}{
		{"/mesos/" + idA, true, false},
		{"/mesos/" + idB, false, false}, // only Docker's directory is left
		{"/mesos/" + idA + "/mesos/" + idC, false, false},
		{"/mesos/../" + idA, false, true},
		{"/docker", false, true},
		{"", false, true},
	} {
		got, err := TaskExists(root, V1, tc.path)
		if got != tc.want || (err != nil) != tc.wantErr {
			t.Errorf("TaskExists(v1, %q) = %v, %v; want %v, error %v", tc.path, got, err, tc.want, tc.wantErr)
		}
	}
	v2 := fakeRoot(t, nil, "mesos/"+idA)
	if got, err := TaskExists(v2, V2, "/mesos/"+idA); !got || err != nil {
		t.Errorf("TaskExists(v2, A) = %v, %v; want true", got, err)
	}
	if got, err := TaskExists(v2, V2, "/mesos/"+idB); got || err != nil {
		t.Errorf("TaskExists(v2, B) = %v, %v; want false", got, err)
	}
}
