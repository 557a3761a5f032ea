package cgroup

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// Mesos container ids (UUIDs as the agent generates them) and a Docker id.
const (
	idA    = "3f1c7a52-8d4e-4b1a-9c2f-5e6d7a8b9c0d"
	idB    = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d"
	idUp   = "3F1C7A52-8D4E-4B1A-9C2F-5E6D7A8B9C0D"
	docker = "4c01db0b339c7f8e6a9d2b1e0f3c5a7d9e1b3c5d7f9a1b3c5d7e9f1a3b5c7d9e"
)

// taskA is the cgroup of Mesos container idA; nested is idB inside idA.
const (
	taskA  = "/mesos/" + idA
	taskB  = "/mesos/" + idB
	nested = taskA + taskB
)

// hybridTask is /proc/<pid>/cgroup of a task run by a Mesos 1.12 agent with
// the cgroups/cpu,cgroups/mem isolators plus the freezer on a hybrid host
// whose cpu and cpuacct hierarchies are mounted separately.
const hybridTask = "" +
	"12:cpuset:/\n" +
	"11:pids:/\n" +
	"10:devices:/\n" +
	"9:blkio:/\n" +
	"8:freezer:" + taskA + "\n" +
	"7:memory:" + taskA + "\n" +
	"6:perf_event:/\n" +
	"5:hugetlb:/\n" +
	"4:net_cls,net_prio:/\n" +
	"3:cpuacct:" + taskA + "\n" +
	"2:cpu:" + taskA + "\n" +
	"1:name=systemd:/\n" +
	"0::/\n"

// comounted is the systemd default layout, cpu and cpuacct in one hierarchy.
const comounted = "" +
	"11:pids:/system.slice/mesos-agent.service\n" +
	"10:memory:" + taskA + "\n" +
	"9:devices:/system.slice/mesos-agent.service\n" +
	"8:cpu,cpuacct:" + taskA + "\n" +
	"7:freezer:/\n" +
	"1:name=systemd:/system.slice/mesos-agent.service\n" +
	"0::/system.slice/mesos-agent.service\n"

// loginShell is a user outside Mesos on a hybrid host.
const loginShell = "" +
	"12:cpuset:/\n" +
	"11:pids:/user.slice/user-1000.slice/session-3.scope\n" +
	"7:memory:/user.slice/user-1000.slice/session-3.scope\n" +
	"3:cpu,cpuacct:/user.slice\n" +
	"1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n" +
	"0::/user.slice/user-1000.slice/session-3.scope\n"

// v1 builds a v1 cgroup file with memory and cpu,cpuacct at path p.
func v1(p string) string {
	return "9:freezer:/\n8:memory:" + p + "\n4:cpu,cpuacct:" + p + "\n1:name=systemd:/\n0::/\n"
}

// exactly64K is a valid task file padded to exactly maxCgroupFile bytes.
func exactly64K() string {
	tail := "8:memory:" + taskA + "\n0::/\n"
	head := "1:name=systemd:/"
	pad := maxCgroupFile - len(head) - len("\n") - len(tail)
	return head + strings.Repeat("a", pad) + "\n" + tail
}

type outcome int

const (
	ok        outcome = iota // Parse returns want
	notMesos                 // errors.Is(err, ErrNotMesos)
	malformed                // some other error: the text is crafted or broken
)

type parseCase struct {
	name string
	mode Mode
	data string
	out  outcome
	want Task
}

var parseCases = []parseCase{
	// Accepted, v1.
	{name: "v1 mesos 1.12 hybrid host", mode: V1, data: hybridTask, out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"freezer", "memory", "cpuacct", "cpu"}}},
	{name: "v1 co-mounted cpu,cpuacct", mode: V1, data: comounted, out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"memory", "cpu", "cpuacct"}}},
	{name: "v1 nested container", mode: V1, data: v1(nested), out: ok,
		want: Task{Parent: nested, ContainerID: idB, Mode: V1, Controllers: []string{"memory", "cpu", "cpuacct"}}},
	{name: "v1 memory only", mode: V1, data: "8:memory:" + taskA + "\n4:cpu,cpuacct:/\n", out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"memory"}}},
	{name: "v1 cpu only, no trailing unified line", mode: V1, data: "8:memory:/\n2:cpu:" + taskA + "\n", out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"cpu"}}},
	{name: "v1 named hierarchy in the task", mode: V1, data: "8:memory:" + taskA + "\n2:name=mesos:" + taskA + "\n", out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"memory", "name=mesos"}}},
	{name: "v1 exactly 64 KiB", mode: V1, data: exactly64K(), out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"memory"}}},

	// Accepted, v2.
	{name: "v2 task cgroup", mode: V2, data: "0::" + taskA + "\n", out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V2}},
	{name: "v2 leaf", mode: V2, data: "0::" + taskA + "/leaf\n", out: ok,
		want: Task{Parent: taskA, ContainerID: idA, Mode: V2}},
	{name: "v2 nested leaf", mode: V2, data: "0::" + nested + "/leaf\n", out: ok,
		want: Task{Parent: nested, ContainerID: idB, Mode: V2}},

	// Outside Mesos.
	{name: "v1 login shell", mode: V1, data: loginShell, out: notMesos},
	{name: "v1 root everywhere", mode: V1, data: v1("/"), out: notMesos},
	{name: "v1 mesos only in freezer", mode: V1, data: "9:freezer:" + taskA + "\n8:memory:/\n4:cpu,cpuacct:/\n0::/\n", out: notMesos},
	{name: "v1 mesos only in name=systemd", mode: V1, data: "8:memory:/\n1:name=systemd:" + taskA + "\n", out: notMesos},
	{name: "v1 mesos only in unified line", mode: V1, data: "8:memory:/\n0::" + taskA + "\n", out: notMesos},
	{name: "v1 mode given a v2 file", mode: V1, data: "0::" + taskA + "\n", out: notMesos},
	{name: "v1 mesos-like but not a component", mode: V1, data: v1("/mesosx/" + idA), out: notMesos},
	{name: "v2 root", mode: V2, data: "0::/\n", out: notMesos},
	{name: "v2 login shell", mode: V2, data: "0::/user.slice/user-1000.slice/session-3.scope\n", out: notMesos},
	{name: "v2 bare leaf", mode: V2, data: "0::/leaf\n", out: notMesos},

	// Controllers disagree.
	{name: "v1 controllers disagree", mode: V1, data: "8:memory:" + taskA + "\n4:cpu,cpuacct:" + taskB + "\n", out: malformed},
	{name: "v1 controllers disagree on nesting", mode: V1, data: "8:memory:" + taskA + "\n4:cpu,cpuacct:" + nested + "\n", out: malformed},
	{name: "v1 freezer disagrees", mode: V1, data: "9:freezer:" + taskB + "\n8:memory:" + taskA + "\n", out: malformed},

	// Crafted names.
	{name: "v1 dotdot", mode: V1, data: v1("/mesos/../x"), out: malformed},
	{name: "v1 dotdot after id", mode: V1, data: v1(taskA + "/../" + idB), out: malformed},
	{name: "v1 extra component", mode: V1, data: v1(taskA + "/foo"), out: malformed},
	{name: "v1 uppercase uuid", mode: V1, data: v1("/mesos/" + idUp), out: malformed},
	{name: "v1 leaf", mode: V1, data: v1(taskA + "/leaf"), out: malformed},
	{name: "v1 mesos not at root", mode: V1, data: v1("/x" + taskA), out: malformed},
	{name: "v1 bare /mesos", mode: V1, data: v1("/mesos"), out: malformed},
	{name: "v1 /mesos/", mode: V1, data: v1("/mesos/"), out: malformed},
	{name: "v1 trailing slash", mode: V1, data: v1(taskA + "/"), out: malformed},
	{name: "v1 short id", mode: V1, data: v1("/mesos/3f1c7a52"), out: malformed},
	{name: "v1 uuid without dashes", mode: V1, data: v1("/mesos/3f1c7a528d4e4b1a9c2f5e6d7a8b9c0d"), out: malformed},
	{name: "v1 double slash", mode: V1, data: v1("/mesos//" + idA), out: malformed},
	{name: "v1 colon in path", mode: V1, data: v1(taskA + ":x"), out: malformed},
	{name: "v1 carriage return", mode: V1, data: v1(taskA + "\r"), out: malformed},
	{name: "v1 crafted mesos in an unused hierarchy", mode: V1, data: "8:memory:" + taskA + "\n5:pids:/user.slice/mesos/" + idB + "\n", out: malformed},
	{
		// A cgroup named "x\n99:memory:/mesos/<idB>" in the pids hierarchy
		// makes the kernel print a second memory line.
		name: "v1 newline injection duplicates memory", mode: V1,
		data: "11:pids:/user.slice/x\n99:memory:" + taskB + "\n7:memory:/user.slice\n3:cpu,cpuacct:/user.slice\n0::/user.slice\n",
		out:  malformed,
	},
	{
		name: "v1 newline injection after the real line", mode: V1,
		data: "11:pids:/\n7:memory:/user.slice/x\n99:memory:" + taskA + "\n0::/\n",
		out:  malformed,
	},
	{
		name: "v1 newline injection in the unified line", mode: V1,
		data: "7:memory:/\n3:cpu,cpuacct:/\n0::/user.slice/x\n99:cpu:" + taskA + "\n",
		out:  malformed,
	},
	{name: "v1 duplicated hierarchy id", mode: V1, data: "7:memory:" + taskA + "\n7:cpu:" + taskA + "\n", out: malformed},
	{name: "v1 duplicated unified line", mode: V1, data: "7:memory:" + taskA + "\n0::/\n0::/\n", out: malformed},
	{name: "v1 controller twice in one line", mode: V1, data: "7:memory,memory:" + taskA + "\n", out: malformed},
	{name: "v1 named hierarchy twice", mode: V1, data: "7:memory:" + taskA + "\n2:name=systemd:/\n1:name=systemd:/\n", out: malformed},
	{name: "v1 unknown controller", mode: V1, data: "7:memory:" + taskA + "\n5:bogus:/\n", out: malformed},
	{name: "v1 empty controller list", mode: V1, data: "7:memory:" + taskA + "\n5::/\n", out: malformed},
	{name: "v1 empty controller in list", mode: V1, data: "7:memory,:" + taskA + "\n", out: malformed},
	{name: "v1 hierarchy 0 with controllers", mode: V1, data: "0:memory:" + taskA + "\n", out: malformed},
	{name: "v1 missing trailing newline", mode: V1, data: strings.TrimSuffix(hybridTask, "\n"), out: malformed},
	{name: "v2 missing trailing newline", mode: V2, data: "0::" + taskA, out: malformed},
	{name: "v1 empty file", mode: V1, data: "", out: malformed},
	{name: "v1 only a newline", mode: V1, data: "\n", out: malformed},
	{name: "v1 blank line", mode: V1, data: "7:memory:" + taskA + "\n\n3:cpu:" + taskA + "\n", out: malformed},
	{name: "v1 trailing blank line", mode: V1, data: "7:memory:" + taskA + "\n\n", out: malformed},
	{name: "v1 malformed line", mode: V1, data: "7:memory:" + taskA + "\ngarbage\n", out: malformed},
	{name: "v1 one colon", mode: V1, data: "7:memory\n", out: malformed},
	{name: "v1 non-numeric id", mode: V1, data: "x:memory:" + taskA + "\n", out: malformed},
	{name: "v1 zero-padded id", mode: V1, data: "04:memory:" + taskA + "\n", out: malformed},
	{name: "v1 signed id", mode: V1, data: "+4:memory:" + taskA + "\n", out: malformed},
	{name: "v1 negative id", mode: V1, data: "-4:memory:" + taskA + "\n", out: malformed},
	{name: "v1 negative zero id", mode: V1, data: "-0::" + taskA + "\n", out: malformed},
	{name: "v1 empty id", mode: V1, data: ":memory:" + taskA + "\n", out: malformed},
	{name: "v1 space in id", mode: V1, data: " 4:memory:" + taskA + "\n", out: malformed},
	{name: "v1 huge id", mode: V1, data: "99999999999999999999:memory:" + taskA + "\n", out: malformed},
	{name: "v1 relative path", mode: V1, data: "7:memory:mesos/" + idA + "\n", out: malformed},
	{name: "v1 empty path", mode: V1, data: "7:memory:\n", out: malformed},
	{name: "v2 relative path", mode: V2, data: "0::mesos/" + idA + "\n", out: malformed},
	{name: "v2 two lines", mode: V2, data: "0::" + taskA + "\n0::/\n", out: malformed},
	{name: "v2 host given a hybrid file", mode: V2, data: hybridTask, out: malformed},
	{name: "v2 single v1 line", mode: V2, data: "7:memory:" + taskA + "\n", out: malformed},
	{name: "v2 newline injection", mode: V2, data: "0::/user.slice/x\n0::" + taskA + "/leaf\n", out: malformed},
	{name: "v2 extra component", mode: V2, data: "0::" + taskA + "/foo\n", out: malformed},
	{name: "v2 double leaf", mode: V2, data: "0::" + taskA + "/leaf/leaf\n", out: malformed},
	{name: "v2 leafy", mode: V2, data: "0::" + taskA + "/leafy\n", out: malformed},
	{name: "v2 dotdot", mode: V2, data: "0::/mesos/../x\n", out: malformed},
	{name: "v2 uppercase uuid", mode: V2, data: "0::/mesos/" + idUp + "\n", out: malformed},
	{name: "v2 mesos not at root", mode: V2, data: "0::/x" + taskA + "/leaf\n", out: malformed},
	{name: "v2 controllers on hierarchy 0", mode: V2, data: "0:memory:" + taskA + "\n", out: malformed},
	{name: "v1 oversize", mode: V1, data: "1:name=systemd:/" + strings.Repeat("a", maxCgroupFile) + "\n" + v1(taskA), out: malformed},
	{name: "v1 one byte over 64 KiB", mode: V1, data: exactly64K() + "\n", out: malformed},
	{name: "v2 oversize", mode: V2, data: "0::" + taskA + "/" + strings.Repeat("a", maxCgroupFile) + "\n", out: malformed},
}

func TestParse(t *testing.T) {
	if n := len(exactly64K()); n != maxCgroupFile {
		t.Fatalf("exactly64K() is %d bytes, want %d", n, maxCgroupFile)
	}
	for _, tc := range parseCases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.data), tc.mode)
			switch tc.out {
			case ok:
				if err != nil {
					t.Fatalf("Parse: %v", err)
				}
				if !reflect.DeepEqual(got, tc.want) {
					t.Fatalf("Parse = %#v, want %#v", got, tc.want)
				}
			case notMesos:
				if !errors.Is(err, ErrNotMesos) {
					t.Fatalf("Parse = %#v, %v; want ErrNotMesos", got, err)
				}
			case malformed:
				if err == nil {
					t.Fatalf("Parse = %#v, want an error", got)
				}
				if errors.Is(err, ErrNotMesos) {
					t.Fatalf("Parse error %v is ErrNotMesos; crafted or broken text must be a distinct error", err)
				}
			}
			if err != nil && !reflect.DeepEqual(got, Task{}) {
				t.Fatalf("Parse returned %#v alongside error %v", got, err)
			}
		})
	}
}

func mustParse(t *testing.T, data string, mode Mode) Task {
	t.Helper()
	task, err := Parse([]byte(data), mode)
	if err != nil {
		t.Fatalf("Parse(%q): %v", data, err)
	}
	return task
}

func TestBeneath(t *testing.T) {
	under := taskA + "/" + docker
	// dockerV1 is a container Docker created with CgroupParent=p: every
	// hierarchy holds it at p/<docker-id>.
	dockerV1 := func(p string) string {
		c := p + "/" + docker
		return "12:cpuset:" + c + "\n11:pids:" + c + "\n10:devices:" + c + "\n9:blkio:" + c +
			"\n8:freezer:" + c + "\n7:memory:" + c + "\n6:perf_event:" + c + "\n5:hugetlb:" + c +
			"\n4:net_cls,net_prio:" + c + "\n3:cpuacct:" + c + "\n2:cpu:" + c + "\n1:name=systemd:" + c + "\n0::/\n"
	}
	hybrid := mustParse(t, hybridTask, V1)
	comount := mustParse(t, comounted, V1)
	nest := mustParse(t, v1(nested), V1)
	v2 := mustParse(t, "0::"+taskA+"/leaf\n", V2)
	v2nest := mustParse(t, "0::"+nested+"/leaf\n", V2)

	cases := []struct {
		name string
		task Task
		data string
		ok   bool
	}{
		{"v1 docker container beneath the task", hybrid, dockerV1(taskA), true},
		{"v1 only the task's controllers beneath", hybrid,
			"12:cpuset:/\n8:freezer:" + under + "\n7:memory:" + under + "\n3:cpuacct:" + under + "\n2:cpu:" + under + "\n1:name=systemd:/\n0::/\n", true},
		{"v1 deeper beneath", hybrid, dockerV1(taskA + "/a/b"), true},
		{"v1 co-mounted beneath", comount, "10:memory:" + under + "\n8:cpu,cpuacct:" + under + "\n0::/\n", true},
		{"v1 nested beneath the inner task", nest, dockerV1(nested), true},

		{"v1 at the task cgroup itself", hybrid, hybridTask, false},
		{"v1 at the task cgroup in all controllers", hybrid, strings.ReplaceAll(dockerV1(taskA), "/"+docker, ""), false},
		{"v1 prefix confusion", hybrid, dockerV1(taskA + "x"), false},
		{"v1 prefix confusion without slash", hybrid, dockerV1(taskA[:len(taskA)-1]), false},
		{"v1 sibling task", hybrid, dockerV1(taskB), false},
		{"v1 docker default parent", hybrid, dockerV1("/docker"), false},
		{"v1 root", hybrid, dockerV1(""), false},
		{"v1 nested task, container only beneath the outer task", nest, dockerV1(taskA), false},
		{"v1 memory missing", hybrid,
			"8:freezer:" + under + "\n3:cpuacct:" + under + "\n2:cpu:" + under + "\n0::/\n", false},
		{"v1 freezer missing", hybrid,
			"7:memory:" + under + "\n3:cpuacct:" + under + "\n2:cpu:" + under + "\n0::/\n", false},
		{"v1 one controller outside", hybrid,
			"8:freezer:" + under + "\n7:memory:" + under + "\n3:cpuacct:" + under + "\n2:cpu:/docker/" + docker + "\n0::/\n", false},
		{"v1 unified line only", hybrid, "0::" + under + "\n", false},
		{"v1 no trailing newline", hybrid, strings.TrimSuffix(dockerV1(taskA), "\n"), false},
		{"v1 duplicated controller", hybrid, dockerV1(taskA) + "99:memory:" + under + "\n", false},
		{"v1 empty", hybrid, "", false},
		{"v1 oversize", hybrid, "1:name=x:/" + strings.Repeat("a", maxCgroupFile) + "\n" + dockerV1(taskA), false},

		{"v2 beneath", v2, "0::" + under + "\n", true},
		{"v2 nested beneath", v2nest, "0::" + nested + "/" + docker + "\n", true},
		{"v2 at the task cgroup itself", v2, "0::" + taskA + "\n", false},
		{"v2 prefix confusion", v2, "0::" + taskA + "x/" + docker + "\n", false},
		{"v2 sibling task", v2, "0::" + taskB + "/" + docker + "\n", false},
		{"v2 docker default scope", v2, "0::/system.slice/docker-" + docker + ".scope\n", false},
		{"v2 root", v2, "0::/\n", false},
		{"v2 nested, only beneath the outer task", v2nest, "0::" + taskA + "/" + docker + "\n", false},
		{"v2 two lines", v2, "0::" + under + "\n0::" + under + "\n", false},
		{"v2 hybrid container file", v2, dockerV1(taskA), false},
		{"v2 v1 line", v2, "1:memory:" + under + "\n", false},
		{"v2 no trailing newline", v2, "0::" + under, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := Beneath(tc.task, []byte(tc.data))
			if tc.ok && err != nil {
				t.Fatalf("Beneath: %v", err)
			}
			if !tc.ok && err == nil {
				t.Fatalf("Beneath(%#v, %q) = nil, want an error", tc.task, tc.data)
			}
		})
	}
}

func TestModeString(t *testing.T) {
	if V1.String() != "v1" || V2.String() != "v2" {
		t.Fatalf("Mode strings: %q %q", V1, V2)
	}
}

// wantParent is written independently of the package's own pattern.
var wantParent = regexp.MustCompile(`^(/mesos/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})+$`)

func FuzzParse(f *testing.F) {
	for _, tc := range parseCases {
		if len(tc.data) > 4096 {
			// The size limit is covered by TestParse; huge seeds only slow
			// the mutator down.
			continue
		}
		f.Add([]byte(tc.data), tc.mode == V2)
		f.Add([]byte(tc.data), tc.mode != V2)
	}
	f.Fuzz(func(t *testing.T, data []byte, v2 bool) {
		mode := V1
		if v2 {
			mode = V2
		}
		task, err := Parse(data, mode)
		// Beneath must not panic on any input, for any task.
		_ = Beneath(Task{Parent: taskA, ContainerID: idA, Mode: V1, Controllers: []string{"memory", "cpu"}}, data)
		_ = Beneath(Task{Parent: taskA, ContainerID: idA, Mode: V2}, data)
		if err != nil {
			if !reflect.DeepEqual(task, Task{}) {
				t.Fatalf("Parse returned %#v alongside error %v", task, err)
			}
			return
		}
		if len(data) > maxCgroupFile || len(data) == 0 || data[len(data)-1] != '\n' {
			t.Fatalf("Parse accepted %d bytes not ending in a newline or oversize", len(data))
		}
		if !wantParent.MatchString(task.Parent) {
			t.Fatalf("Parent %q is not (/mesos/<uuid>)+", task.Parent)
		}
		if strings.Contains(task.Parent, "..") || strings.ContainsAny(task.Parent, "\n\r\x00") {
			t.Fatalf("Parent %q has .. or a control character", task.Parent)
		}
		if i := strings.LastIndex(task.Parent, "/"); task.ContainerID != task.Parent[i+1:] {
			t.Fatalf("ContainerID %q is not the last component of %q", task.ContainerID, task.Parent)
		}
		if task.Mode != mode {
			t.Fatalf("Mode = %v, want %v", task.Mode, mode)
		}
		if again, err := Parse(data, mode); err != nil || !reflect.DeepEqual(again, task) {
			t.Fatalf("Parse is not deterministic: %#v, %v then %#v, %v", task, nil, again, err)
		}
		if mode == V2 {
			if len(task.Controllers) != 0 {
				t.Fatalf("v2 task has controllers %q", task.Controllers)
			}
			path := strings.TrimSuffix(strings.TrimPrefix(string(data), "0::"), "\n")
			if path != task.Parent && path != task.Parent+"/leaf" {
				t.Fatalf("v2 file %q gave Parent %q", data, task.Parent)
			}
			// The task's own leaf is beneath Parent; Parent itself is not.
			if err := Beneath(task, data); (err == nil) != strings.HasSuffix(path, "/leaf") {
				t.Fatalf("Beneath(%#v, %q) = %v", task, data, err)
			}
			return
		}
		seen := map[string]bool{}
		resource := false
		for _, c := range task.Controllers {
			if seen[c] {
				t.Fatalf("controller %q listed twice in %q", c, task.Controllers)
			}
			seen[c] = true
			if !knownV1[c] && !strings.HasPrefix(c, "name=") {
				t.Fatalf("unknown controller %q accepted", c)
			}
			if c == "memory" || c == "cpu" {
				resource = true
			}
		}
		if !resource {
			t.Fatalf("v1 task %#v has neither memory nor cpu", task)
		}
		// A process is never strictly beneath its own cgroup.
		if err := Beneath(task, data); err == nil {
			t.Fatalf("Beneath(%#v, its own file %q) = nil", task, data)
		}
	})
}

// Judge, the rule: who could have made the task cgroup. Layouts of a real
// Mesos agent (root-made, the task's directory chowned to the task's user),
// of the local Mesos run by a user (a root-made parent whose "mesos" is the
// user's), and of subtrees root gave away.
func TestJudge(t *testing.T) {
	const alice, bob = 1001, 1002
	type d = Dir
	root := func(path string) Dir { return Dir{Path: path, Perm: 0o755} }
	owned := func(path string, uid uint32) Dir { return Dir{Path: path, UID: uid, Perm: 0o755} }
	h := "/sys/fs/cgroup/memory"
	tests := []struct {
		name string
		dirs []Dir
		want string // "" or a substring of the reason
	}{
		{"all root's", []Dir{root(h), root(h + "/mesos"), root(h + "/mesos/A")}, ""},
		{"a real agent's: the task directory chowned to the caller", []Dir{root(h), root(h + "/mesos"), owned(h+"/mesos/A", alice)}, ""},
		{"hierarchy root read-only (0555)", []Dir{{Path: h, Perm: 0o555}, root(h + "/mesos"), owned(h+"/mesos/A", alice)}, ""},
		{"a nested task of the agent's", []Dir{root(h), root(h + "/mesos"), owned(h+"/mesos/A", alice), root(h + "/mesos/A/mesos"), owned(h+"/mesos/A/mesos/B", alice)}, ""},
		{"nested in the caller's own task, made by the caller", []Dir{root(h), root(h + "/mesos"), owned(h+"/mesos/A", alice), owned(h+"/mesos/A/mesos", alice), owned(h+"/mesos/A/mesos/B", alice)}, ""},
		{"nested, the outer task root's, the inner the caller's", []Dir{root(h), root(h + "/mesos"), root(h + "/mesos/A"), root(h + "/mesos/A/mesos"), owned(h+"/mesos/A/mesos/B", alice)}, ""},
		{"the local Mesos' delegated parent", []Dir{root(h), root(h + "/mesos"), root(h + "/mesos/P"), owned(h+"/mesos/P/mesos", alice), owned(h+"/mesos/P/mesos/B", alice)}, h + "/mesos/P/mesos is owned by the caller (uid 1001)"},
		{"the hierarchy's mesos given to the caller", []Dir{root(h), owned(h+"/mesos", alice), owned(h+"/mesos/A", alice)}, h + "/mesos is owned by the caller"},
		{"the hierarchy root given to the caller", []Dir{owned(h, alice), owned(h+"/mesos", alice), owned(h+"/mesos/A", alice)}, h + " is owned by the caller"},
		{"mesos world-writable", []Dir{root(h), {Path: h + "/mesos", Perm: 0o777}, owned(h+"/mesos/A", alice)}, h + "/mesos is writable by its group or others (mode 0777)"},
		{"mesos group-writable", []Dir{root(h), {Path: h + "/mesos", Perm: 0o775}, root(h + "/mesos/A")}, "writable by its group or others (mode 0775)"},
		{"mesos sticky and world-writable", []Dir{root(h), {Path: h + "/mesos", Perm: 0o1777}, root(h + "/mesos/A")}, "(mode 1777)"},
		{"hierarchy root world-writable", []Dir{{Path: h, Perm: 0o757}, root(h + "/mesos"), root(h + "/mesos/A")}, h + " is writable"},
		{"the task directory world-writable", []Dir{root(h), root(h + "/mesos"), {Path: h + "/mesos/A", UID: alice, Perm: 0o777}}, h + "/mesos/A is writable"},
		{"the task directory root's but group-writable", []Dir{root(h), root(h + "/mesos"), {Path: h + "/mesos/A", Perm: 0o775}}, "writable by its group"},
		{"the task directory another user's", []Dir{root(h), root(h + "/mesos"), owned(h+"/mesos/A", bob)}, h + "/mesos/A is owned by uid 1002, neither root nor the caller"},
		{"mesos another user's", []Dir{root(h), owned(h+"/mesos", bob), owned(h+"/mesos/A", alice)}, h + "/mesos is owned by uid 1002"},
		{"nested: the inner mesos another user's", []Dir{root(h), root(h + "/mesos"), root(h + "/mesos/A"), owned(h+"/mesos/A/mesos", bob), owned(h+"/mesos/A/mesos/B", alice)}, "owned by uid 1002"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Judge(tt.dirs, alice)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("Judge = %q, want %q", got, tt.want)
			}
			if strings.ContainsAny(got, "\n\r") {
				t.Fatalf("reason %q is not one line", got)
			}
		})
	}
	// Whatever the directories, a caller who is root is judged by the same
	// rule: root-owned directories never make a cgroup a user's.
	if got := Judge([]d{root(h), root(h + "/mesos"), root(h + "/mesos/A")}, 0); got != "" {
		t.Errorf("caller 0, all root's: %q", got)
	}
}

// Delegated reads the directories of the task cgroup in every hierarchy of
// the task found under the root given and applies Judge. Run as root the
// test chowns and chmods directories as a Mesos agent and as a delegating
// root would; run as another user every directory it makes is that user's.
func TestDelegated(t *testing.T) {
	const id = "0c1a1000-0000-4000-8000-000000000001"
	const alice = 12345
	root := t.TempDir()
	if err := os.Chmod(root, 0o755); err != nil {
		t.Fatal(err)
	}
	parent := "/mesos/" + id + "/mesos/" + id
	for _, c := range []string{"memory", "cpu,cpuacct", "freezer"} {
		if err := os.MkdirAll(filepath.Join(root, c, parent), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Symlink("cpu,cpuacct", filepath.Join(root, "cpu")); err != nil {
		t.Fatal(err)
	}
	task := Task{Parent: parent, ContainerID: id, Mode: V1, Controllers: []string{"cpu", "cpuacct", "memory", "freezer", "name=systemd"}}

	// Missing hierarchies and directories are errors, not "not delegated".
	if _, err := Delegated(root, Task{Parent: parent, Mode: V1, Controllers: []string{"pids"}}, alice); err == nil {
		t.Error("no hierarchy of the task under root: no error")
	}
	if _, err := Delegated(filepath.Join(root, "none"), Task{Parent: "/mesos/" + id, Mode: V2}, alice); err == nil {
		t.Error("missing directory: no error")
	}
	// A symlink below the hierarchy root is not followed.
	if err := os.Symlink("../memory/mesos", filepath.Join(root, "freezer", "mesos", id, "link")); err != nil {
		t.Fatal(err)
	}
	if _, err := Delegated(root, Task{Parent: "/mesos/" + id + "/link", Mode: V1, Controllers: []string{"freezer"}}, alice); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("symlinked component: err %v, want not a directory", err)
	}

	got, err := Delegated(root, task, alice)
	if err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() != 0 {
		if want := filepath.Join(root, "cpu") + " is owned by uid"; !strings.HasPrefix(got, want) {
			t.Fatalf("as uid %d: Delegated = %q, want %q...", os.Geteuid(), got, want)
		}
		if got, _ := Delegated(root, task, uint32(os.Geteuid())); !strings.HasPrefix(got, filepath.Join(root, "cpu")+" is owned by the caller") {
			t.Fatalf("as uid %d, the caller: Delegated = %q", os.Geteuid(), got)
		}
		return
	}
	if got != "" {
		t.Fatalf("all root-owned: Delegated = %q, want none", got)
	}
	chown := func(rel string, uid int) {
		t.Helper()
		if err := os.Chown(filepath.Join(root, rel), uid, uid); err != nil {
			t.Fatal(err)
		}
	}
	// A real agent chowns the (outer) task directory in every hierarchy.
	for _, h := range []string{"memory", "cpu,cpuacct", "freezer"} {
		chown(filepath.Join(h, "mesos", id), alice)
	}
	if got, err := Delegated(root, task, alice); err != nil || got != "" {
		t.Fatalf("task directories chowned to the caller: Delegated = %q, %v; want none", got, err)
	}
	if got, _ := Delegated(root, task, alice+1); !strings.Contains(got, "owned by uid 12345, neither root nor the caller") {
		t.Fatalf("another caller: Delegated = %q", got)
	}
	// The local Mesos' layout: the outer id root's, its mesos the user's.
	chown(filepath.Join("freezer", "mesos", id), 0)
	inner := filepath.Join(root, "freezer", "mesos", id, "mesos")
	chown(filepath.Join("freezer", "mesos", id, "mesos"), alice)
	if got, err := Delegated(root, task, alice); err != nil || got != inner+" is owned by the caller (uid 12345), who can make cgroups in it" {
		t.Fatalf("delegated mesos directory: Delegated = %q, %v", got, err)
	}
	chown(filepath.Join("freezer", "mesos", id, "mesos"), 0)
	if err := os.Chmod(filepath.Join(root, "memory", "mesos"), 0o777); err != nil {
		t.Fatal(err)
	}
	if got, _ := Delegated(root, task, alice); !strings.HasPrefix(got, filepath.Join(root, "memory", "mesos")+" is writable") {
		t.Fatalf("world-writable mesos: Delegated = %q", got)
	}

	// v2: one hierarchy, the root itself.
	v2 := Task{Parent: "/mesos/" + id, ContainerID: id, Mode: V2}
	if got, err := Delegated(filepath.Join(root, "cpu,cpuacct"), v2, alice); err != nil || got != "" {
		t.Fatalf("v2 root-owned: Delegated = %q, %v", got, err)
	}
}

// FuzzJudge: each byte of spec is one directory, from the hierarchy's root
// down (bits 0-1: owner root, the caller or another user; bit 2: group- or
// world-writable). Whatever the directories: the answer is one line naming
// one of them; all root's and not writable is an agent's; a root or mesos
// directory that is not is never one; a task directory of the caller's
// decides alone, whatever lies beneath it.
func FuzzJudge(f *testing.F) {
	f.Add([]byte{0, 0, 1})
	f.Add([]byte{0, 0, 0, 1, 1})
	f.Add([]byte{0, 0, 1, 1, 1})
	f.Add([]byte{0, 0, 4, 2})
	f.Fuzz(func(t *testing.T, spec []byte) {
		const caller = 1001
		if len(spec) > 64 {
			spec = spec[:64]
		}
		dirs := make([]Dir, len(spec))
		allRoot, taskLevel := true, -1
		for i, b := range spec {
			d := Dir{Path: fmt.Sprintf("/h/%d", i), Perm: 0o755}
			switch b & 3 {
			case 1:
				d.UID = caller
			case 2, 3:
				d.UID = 2002
			}
			if b&4 != 0 {
				d.Perm |= 0o022
			}
			dirs[i] = d
			if d.UID != 0 || d.Perm&0o022 != 0 {
				allRoot = false
			}
			if taskLevel < 0 && d.UID == caller && d.Perm&0o022 == 0 && i >= 2 && i%2 == 0 {
				taskLevel = i
			}
		}
		got := Judge(dirs, caller)
		if strings.ContainsAny(got, "\n\r") {
			t.Fatalf("reason %q is not one line", got)
		}
		if got != "" {
			named := false
			for _, d := range dirs {
				named = named || strings.HasPrefix(got, d.Path+" ")
			}
			if !named {
				t.Fatalf("reason %q names no directory", got)
			}
		}
		if allRoot && got != "" {
			t.Fatalf("all root's: %q", got)
		}
		for i := 0; i < len(dirs) && i < 2; i++ {
			if (dirs[i].UID != 0 || dirs[i].Perm&0o022 != 0) && got == "" {
				t.Fatalf("directory %d is %+v, yet judged an agent's", i, dirs[i])
			}
		}
		if taskLevel >= 0 && got == "" {
			deeper := append(slices.Clone(dirs[:taskLevel+1]), Dir{Path: "/x", UID: 2002, Perm: 0o777})
			if again := Judge(deeper, caller); again != "" {
				t.Fatalf("beneath the caller's task directory %d: %q", taskLevel, again)
			}
		}
	})
}
