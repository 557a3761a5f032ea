package wrapper

import (
	"errors"
	"os"
	"strconv"
	"testing"
)

// fakeHost is a probe with a made-up process table and cgroup tree.
type fakeHost struct {
	procs   map[int]string // pid -> start time; "Z" marks a zombie
	tasks   map[string]bool
	procErr error
	cgErr   error
}

func (f fakeHost) processStart(pid int) (string, bool, error) {
	if f.procErr != nil {
		return "", false, f.procErr
	}
	start, ok := f.procs[pid]
	return start, ok && start != "Z", nil
}

func (f fakeHost) taskExists(path string) (bool, error) {
	return f.tasks[path], f.cgErr
}

const (
	gcNS   = "pid:[4026531836]"
	gcTask = "/mesos/3f1c7a52-8d4e-4b1a-9c2f-5e6d7a8b9c0d"
)

func gcLabels(edit func(map[string]string)) map[string]string {
	l := map[string]string{
		LabelUID: "1500", LabelGID: "1500", LabelUser: "alice",
		LabelCgroup: gcTask, LabelMesosID: gcTask[7:], LabelImage: "docker.io/socker-test/tiny:1",
		LabelWrapperPID: "4242", LabelWrapperStart: "123456", LabelWrapperPidNS: gcNS,
	}
	if edit != nil {
		edit(l)
	}
	return l
}

func TestOrphaned(t *testing.T) {
	alive := fakeHost{procs: map[int]string{4242: "123456"}, tasks: map[string]bool{gcTask: true}}
	withProcs := func(p map[int]string) fakeHost { h := alive; h.procs = p; return h }
	noTask := alive
	noTask.tasks = nil
	probeErr := errors.New("EIO")
	for _, tc := range []struct {
		name   string
		labels map[string]string
		host   fakeHost
		reason string // "" keeps the container
	}{
		{"wrapper alive, task alive: keep", gcLabels(nil), alive, ""},
		{"wrapper gone", gcLabels(nil), withProcs(nil), "wrapper-gone"},
		{"wrapper a zombie", gcLabels(nil), withProcs(map[int]string{4242: "Z"}), "wrapper-gone"},
		{"pid reused by a later process", gcLabels(nil), withProcs(map[int]string{4242: "999999"}), "wrapper-gone"},
		{"task cgroup gone", gcLabels(nil), noTask, "task-cgroup-gone"},
		{"both gone: the wrapper is named", gcLabels(nil), fakeHost{}, "wrapper-gone"},
		{"wrapper in another pid namespace: its pid means nothing here",
			gcLabels(func(l map[string]string) { l[LabelWrapperPidNS] = "pid:[4026532999]" }), withProcs(nil), ""},
		{"another pid namespace, task gone",
			gcLabels(func(l map[string]string) { l[LabelWrapperPidNS] = "pid:[4026532999]" }), fakeHost{}, "task-cgroup-gone"},
		{"no pid namespace label (older socker): pid not used",
			gcLabels(func(l map[string]string) { delete(l, LabelWrapperPidNS) }), withProcs(nil), ""},
		{"no start label, pid alive: may be reused, keep",
			gcLabels(func(l map[string]string) { delete(l, LabelWrapperStart) }), withProcs(map[int]string{4242: "999999"}), ""},
		{"no start label, pid gone",
			gcLabels(func(l map[string]string) { delete(l, LabelWrapperStart) }), withProcs(nil), "wrapper-gone"},
		{"malformed pid label", gcLabels(func(l map[string]string) { l[LabelWrapperPID] = "42x" }), withProcs(nil), ""},
		{"pid 0", gcLabels(func(l map[string]string) { l[LabelWrapperPID] = "0" }), withProcs(nil), ""},
		{"negative pid", gcLabels(func(l map[string]string) { l[LabelWrapperPID] = "-1" }), withProcs(nil), ""},
		{"process table unreadable: keep", gcLabels(nil), fakeHost{procErr: probeErr, tasks: map[string]bool{gcTask: true}}, ""},
		{"cgroup tree unreadable: keep", gcLabels(nil), fakeHost{procs: map[int]string{4242: "123456"}, cgErr: probeErr}, ""},
		{"cgroup label not a task path: not used",
			gcLabels(func(l map[string]string) { l[LabelCgroup] = "/mesos/../docker" }), noTask, ""},
		{"cgroup label empty", gcLabels(func(l map[string]string) { l[LabelCgroup] = "" }), noTask, ""},
		{"nested task cgroup gone",
			gcLabels(func(l map[string]string) { l[LabelCgroup] = gcTask + "/mesos/0c1a1000-0000-4000-8000-0000000003e9" }), alive, "task-cgroup-gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, detail := orphaned(tc.labels, gcNS, tc.host)
			if reason != tc.reason {
				t.Fatalf("reason = %q (%s), want %q", reason, detail, tc.reason)
			}
			if (reason == "") != (detail == "") {
				t.Errorf("detail %q does not go with reason %q", detail, reason)
			}
		})
	}
}

// The real probe: this test process is alive with the start time /proc
// gives, and a pid that cannot exist is gone.
func TestHostProbe_ProcessStart(t *testing.T) {
	w := self()
	if w.PID != os.Getpid() || w.Start == "" || w.PidNS == "" {
		t.Fatalf("self() = %+v: want this process's pid, start time and pid namespace", w)
	}
	start, alive, err := hostProbe{}.processStart(os.Getpid())
	if err != nil || !alive || start != w.Start {
		t.Errorf("processStart(self) = %q, %v, %v; want %q, true, nil", start, alive, err, w.Start)
	}
	if _, alive, err := (hostProbe{}).processStart(1 << 30); alive || err != nil {
		t.Errorf("processStart(2^30) = alive %v, %v; want gone", alive, err)
	}
	if _, err := strconv.Atoi(w.Start); err != nil {
		t.Errorf("start time %q is not a number", w.Start)
	}
}
