package wrapper

import (
	"errors"
	"testing"
)

// fakeHost is a probe with made-up staging locks and cgroup tree.
type fakeHost struct {
	alive   map[string]bool // launch id -> its lock is held
	tasks   map[string]bool
	lockErr error
	cgErr   error
}

func (f fakeHost) launchAlive(launch string) (bool, error) {
	return f.alive[launch], f.lockErr
}

func (f fakeHost) taskExists(path string) (bool, error) {
	return f.tasks[path], f.cgErr
}

const (
	gcLaunch = "0123456789abcdef0123456789abcdef"
	gcTask   = "/mesos/3f1c7a52-8d4e-4b1a-9c2f-5e6d7a8b9c0d"
)

func gcLabels(edit func(map[string]string)) map[string]string {
	l := map[string]string{
		LabelUID: "1500", LabelGID: "1500", LabelUser: "alice",
		LabelCgroup: gcTask, LabelMesosID: gcTask[7:], LabelImage: "docker.io/socker-test/tiny:1",
		LabelLaunch: gcLaunch, LabelWrapperPID: "4242",
	}
	if edit != nil {
		edit(l)
	}
	return l
}

func TestOrphaned(t *testing.T) {
	alive := fakeHost{alive: map[string]bool{gcLaunch: true}, tasks: map[string]bool{gcTask: true}}
	gone := alive
	gone.alive = nil
	noTask := alive
	noTask.tasks = nil
	probeErr := errors.New("EIO")
	olderSocker := func(l map[string]string) {
		delete(l, LabelLaunch)
		l["socker.wrapper-start"], l["socker.wrapper-pidns"] = "123456", "pid:[4026531836]"
	}
	for _, tc := range []struct {
		name   string
		labels map[string]string
		host   fakeHost
		reason string // "" keeps the container
	}{
		{"wrapper alive, task alive: keep", gcLabels(nil), alive, ""},
		{"wrapper gone: its lock is free", gcLabels(nil), gone, "wrapper-gone"},
		{"task cgroup gone", gcLabels(nil), noTask, "task-cgroup-gone"},
		{"both gone: the wrapper is named", gcLabels(nil), fakeHost{}, "wrapper-gone"},
		{"the host pid label is not used", gcLabels(func(l map[string]string) { l[LabelWrapperPID] = "1" }), alive, ""},
		{"older socker, no launch label: the task cgroup alone decides", gcLabels(olderSocker), gone, ""},
		{"older socker, task gone", gcLabels(olderSocker), fakeHost{}, "task-cgroup-gone"},
		{"malformed launch label", gcLabels(func(l map[string]string) { l[LabelLaunch] = "../../etc" }), gone, ""},
		{"upper-case launch label", gcLabels(func(l map[string]string) { l[LabelLaunch] = "0123456789ABCDEF0123456789ABCDEF" }), gone, ""},
		{"lock unreadable: keep", gcLabels(nil), fakeHost{lockErr: probeErr, tasks: map[string]bool{gcTask: true}}, ""},
		{"cgroup tree unreadable: keep", gcLabels(nil), fakeHost{alive: map[string]bool{gcLaunch: true}, cgErr: probeErr}, ""},
		{"cgroup label not a task path: not used",
			gcLabels(func(l map[string]string) { l[LabelCgroup] = "/mesos/../docker" }), noTask, ""},
		{"cgroup label empty", gcLabels(func(l map[string]string) { l[LabelCgroup] = "" }), noTask, ""},
		{"nested task cgroup gone",
			gcLabels(func(l map[string]string) { l[LabelCgroup] = gcTask + "/mesos/0c1a1000-0000-4000-8000-0000000003e9" }), alive, "task-cgroup-gone"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reason, detail := orphaned(tc.labels, tc.host)
			if reason != tc.reason {
				t.Fatalf("reason = %q (%s), want %q", reason, detail, tc.reason)
			}
			if (reason == "") != (detail == "") {
				t.Errorf("detail %q does not go with reason %q", detail, reason)
			}
		})
	}
}
