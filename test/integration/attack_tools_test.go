//go:build integration

package integration

import (
	"encoding/json"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/container"

	"github.com/sockerhpc/socker/internal/testutil"
)

// TestAttackTools_ExplainRefusalCreatesNothing: explain applies the same
// policy as run: a refused request prints the denial, exit 77, is audited
// once as a deny, creates nothing and writes nothing else.
func TestAttackTools_ExplainRefusalCreatesNothing(t *testing.T) {
	tc := task(t, 64*mib)
	since := time.Now()
	for _, c := range []struct {
		name         string
		user         testutil.User
		args         []string
		reason, says string
	}{
		{"unlisted image", alice, []string{"busybox:latest", "id"}, "image-not-allowed", "is not allowed"},
		{"denied group", mallory, []string{image, "id"}, "group-denied", `members of group "sockt-deny"`},
		{"mount outside the prefixes", alice, []string{"--mount", "/etc:/etc2", image, "id"}, "mount-not-allowed", "is not under an allowed prefix"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := startProbe(t)
			r := run(t, tc.Command(&c.user, append([]string{socker, "explain"}, c.args...)...), "")
			p.refused(t, r, 77, "deny", c.reason, c.says, c.user.UID)
		})
	}
	assertNoContainerEvents(t, since, tc)
}

// TestAttackTools_ExplainMatchesCreatedContainer: what explain prints is
// what run sends: for the same arguments, User, Env (but for Docker's
// HOSTNAME, order aside), Cmd, WorkingDir, Labels (but for the wrapper pid,
// which is each wrapper's own), CapDrop, SecurityOpt, CgroupParent,
// PidsLimit, NetworkMode, Init and Mounts of the container socker run
// created, as docker inspect shows them, equal explain's.
func TestAttackTools_ExplainMatchesCreatedContainer(t *testing.T) {
	tc := task(t, 256*mib)
	args := []string{"--mount", shareDir + ":/data:ro", "--env", "OMP_NUM_THREADS=2", "--workdir", "/data", image, "--", "sleep", "60"}
	cmd := tc.Command(&alice, append([]string{socker, "explain"}, args...)...)
	r, explainPID := runPID(t, cmd)
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("explain: exit %d, stderr %q", r.code, r.stderr)
	}
	var ex struct {
		Config     container.Config
		HostConfig container.HostConfig
	}
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatalf("explain output: %v\n%s", err, r.stdout)
	}

	wrapper := sockerRun(tc, &alice, args...)
	ins := startContainer(t, tc, wrapper)
	got, want := ins.Config, &ex.Config
	gh, wh := ins.HostConfig, &ex.HostConfig

	if want.Labels["socker.wrapper-pid"] != strconv.Itoa(explainPID) || got.Labels["socker.wrapper-pid"] != strconv.Itoa(wrapper.Process.Pid) {
		t.Errorf("wrapper-pid labels %q (explain) and %q (run), want each wrapper's pid %d and %d",
			want.Labels["socker.wrapper-pid"], got.Labels["socker.wrapper-pid"], explainPID, wrapper.Process.Pid)
	}
	launch := got.Labels["socker.launch"]
	checkLaunchLabel(t, launch, true)
	checkLaunchLabel(t, want.Labels["socker.launch"], false)
	for _, l := range []map[string]string{want.Labels, got.Labels} {
		for _, k := range []string{"socker.wrapper-pid", "socker.launch"} {
			delete(l, k)
		}
	}
	// run binds a root-only clone of the source it checked
	// (/run/socker/<launch>/m0); explain stages nothing and shows the
	// caller's path. Everything else about the mount is the same.
	if len(gh.Mounts) == 1 && len(wh.Mounts) == 1 {
		if gh.Mounts[0].Source != "/run/socker/"+launch+"/m0" || wh.Mounts[0].Source != shareDir {
			t.Errorf("mount sources: run %q, explain %q; want a staged clone and %q", gh.Mounts[0].Source, wh.Mounts[0].Source, shareDir)
		}
		gh.Mounts[0].Source, wh.Mounts[0].Source = "", ""
	}
	gotEnv := slices.DeleteFunc(slices.Clone(got.Env), func(kv string) bool { return strings.HasPrefix(kv, "HOSTNAME=") })
	wantEnv := slices.Clone(want.Env)
	slices.Sort(gotEnv)
	slices.Sort(wantEnv)
	for _, c := range []struct {
		field     string
		got, want any
	}{
		{"User", got.User, want.User},
		{"Env", gotEnv, wantEnv},
		{"Cmd", got.Cmd, want.Cmd},
		{"WorkingDir", got.WorkingDir, want.WorkingDir},
		{"Labels", got.Labels, want.Labels},
		{"Image", got.Image, want.Image},
		{"CapDrop", gh.CapDrop, wh.CapDrop},
		{"CapAdd", len(gh.CapAdd), len(wh.CapAdd)},
		{"SecurityOpt", gh.SecurityOpt, wh.SecurityOpt},
		{"CgroupParent", gh.CgroupParent, wh.CgroupParent},
		{"PidsLimit", deref(gh.PidsLimit), deref(wh.PidsLimit)},
		{"NetworkMode", gh.NetworkMode, wh.NetworkMode},
		{"Init", gh.Init != nil && *gh.Init, wh.Init != nil && *wh.Init},
		{"Mounts", gh.Mounts, wh.Mounts},
		{"Binds", len(gh.Binds), len(wh.Binds)},
		{"Privileged", gh.Privileged, wh.Privileged},
		{"GroupAdd", gh.GroupAdd, wh.GroupAdd},
	} {
		if !reflect.DeepEqual(c.got, c.want) {
			t.Errorf("%s: docker inspect %#v, explain %#v", c.field, c.got, c.want)
		}
	}
	if want.User == "" || len(want.Env) < 5 || len(wh.Mounts) != 1 || wh.CgroupParent != tc.Path {
		t.Errorf("explain's spec lacks the expected values: %+v %+v", want, wh)
	}
}

func deref(p *int64) int64 {
	if p == nil {
		return -1
	}
	return *p
}

// TestAttackTools_Images: `socker images` lists the allowed image as present
// for alice, and refuses mallory (denied group) with exit 77 and one deny
// record, writing nothing else.
func TestAttackTools_Images(t *testing.T) {
	p := startProbe(t)
	r := run(t, testutil.AsUserOutside(alice, socker, "images"), "")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("images: exit %d, stderr %q", r.code, r.stderr)
	}
	if !slices.Contains(strings.Split(r.stdout, "\n"), "docker.io/socker-test/tiny:1\tpresent") {
		t.Errorf("images output %q does not list docker.io/socker-test/tiny:1 as present", r.stdout)
	}
	if recs := newRecords(t, p.before); len(recs) != 0 {
		t.Errorf("images wrote audit records: %+v", recs)
	}
	p.snap.assertUnchanged(t)

	p = startProbe(t)
	r = run(t, testutil.AsUserOutside(mallory, socker, "images"), "")
	p.refused(t, r, 77, "deny", "group-denied", `members of group "sockt-deny"`, mallory.UID)

	p = startProbe(t)
	r = run(t, testutil.AsUserOutside(alice, socker, "images", "--all"), "")
	p.refused(t, r, 64, "deny", "usage", "takes no arguments", alice.UID)
}

// TestAttackTools_Doctor: in a task cgroup with a sound installation every
// check of `socker doctor` is "ok" (exit 0); with a group-writable config
// the config check fails (exit 78). Doctor writes nothing.
func TestAttackTools_Doctor(t *testing.T) {
	tc := task(t, 64*mib)
	p := startProbe(t)
	r := run(t, tc.Command(&alice, socker, "doctor"), "")
	lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
	if r.code != 0 || r.stderr != "" || len(lines) < 8 {
		t.Errorf("doctor: exit %d, stderr %q, stdout:\n%s", r.code, r.stderr, r.stdout)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "ok ") {
			t.Errorf("doctor line is not ok: %q", l)
		}
	}
	if recs := newRecords(t, p.before); len(recs) != 0 {
		t.Errorf("doctor wrote audit records: %+v", recs)
	}
	p.snap.assertUnchanged(t)

	if err := os.Chmod(configPath, 0o664); err != nil {
		t.Fatal(err)
	}
	defer os.Chmod(configPath, 0o644)
	p = startProbe(t)
	r = run(t, tc.Command(&alice, socker, "doctor"), "")
	if r.code != 78 {
		t.Errorf("doctor with a group-writable config: exit %d, want 78", r.code)
	}
	failed := false
	for _, l := range strings.Split(r.stdout, "\n") {
		if strings.HasPrefix(l, "FAIL config") {
			failed = true
			if !strings.Contains(l, "must be owned by root and not writable by group or others") {
				t.Errorf("config FAIL line does not say why: %q", l)
			}
		}
	}
	if !failed {
		t.Errorf("no FAIL line for the config:\n%s", r.stdout)
	}
	if recs := newRecords(t, p.before); len(recs) != 0 {
		t.Errorf("doctor wrote audit records: %+v", recs)
	}
	p.snap.assertUnchanged(t)
}
