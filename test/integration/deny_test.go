//go:build integration

package integration

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/internal/testutil"
)

// Every refusal: the documented exit status, one "socker: ..." line on
// stderr, no container created (no Docker container event at all), and
// exactly one audit record of the denial with its reason and the caller's
// real uid.
func TestRun_DenialsCreateNothingAndAuditOnce(t *testing.T) {
	tc := task(t, 256*mib)
	outside := func(u testutil.User, args ...string) *exec.Cmd {
		return testutil.AsUserOutside(u, append([]string{socker, "run"}, args...)...)
	}
	// A task cgroup whose directory another user owns is not alice's task
	// (a Mesos agent chowns a task's directory to the task's user only):
	// refused unless cgroups.allow_delegated. TestRun_RealAgentTaskCgroup*
	// and TestRun_TaskCgroupUnderUserOwnedDirRefused cover the caller's own.
	owned := task(t, 256*mib)
	ownedDir := filepath.Join(cgroup.Root, "memory", owned.Path)
	if owned.Mode == cgroup.V2 {
		ownedDir = filepath.Join(cgroup.Root, owned.Path)
	}
	if err := os.Chown(ownedDir, int(mallory.UID), int(mallory.GID)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name   string
		cmd    *exec.Cmd
		uid    uint32
		code   int
		reason string
		says   string
	}{
		{"root caller", sockerRun(tc, nil, image, "id"), 0, 77, "uid-root", "refusing to run as root"},
		{"unlisted image", sockerRun(tc, &alice, "busybox:latest", "id"), alice.UID, 77, "image-not-allowed", `image "docker.io/library/busybox:latest" is not allowed`},
		{"unlisted image id", sockerRun(tc, &alice, "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "id"), alice.UID, 77, "image-not-allowed", "is not allowed"},
		{"short image id", sockerRun(tc, &alice, "ccf4be4b171b", "id"), alice.UID, 77, "image-not-allowed", `"docker.io/library/ccf4be4b171b:latest" is not allowed`},
		{"denied group", sockerRun(tc, &mallory, image, "id"), mallory.UID, 77, "group-denied", `members of group "sockt-deny"`},
		{"outside a Mesos cgroup", outside(alice, image, "id"), alice.UID, 77, "not-in-mesos-cgroup", "not inside a Mesos task cgroup"},
		{"a task cgroup another user owns", sockerRun(owned, &alice, image, "id"), alice.UID, 77, "cgroup-delegated", fmt.Sprintf("is owned by uid %d, neither root nor the caller", mallory.UID)},
		{"mount outside the allowed prefixes", sockerRun(tc, &alice, "--mount", "/etc:/etc2", image, "id"), alice.UID, 77, "mount-not-allowed", `mount source "/etc" is not under an allowed prefix`},
		{"mount prefix confusion", sockerRun(tc, &alice, "--mount", shareDir+"y:/d", image, "id"), alice.UID, 77, "mount-not-allowed", "is not under an allowed prefix"},
		{"missing mount source", sockerRun(tc, &alice, "--mount", shareDir+"/missing:/d", image, "id"), alice.UID, 77, "mount-source", "does not exist"},
		{"docker option smuggled", sockerRun(tc, &alice, "--privileged", image, "id"), alice.UID, 64, "usage", `unknown option "--privileged"`},
		{"no command", sockerRun(tc, &alice, image), alice.UID, 64, "usage", "no command given"},
		{"reserved env", sockerRun(tc, &alice, "--env", "HOME=/etc", image, "id"), alice.UID, 77, "env-reserved", "HOME is set by socker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before := len(auditLines(t))
			since := time.Now()
			r := run(t, c.cmd, "")
			assertOneLineError(t, r, c.code, c.says)
			if ev := containerEvents(t, since, tc.ID); len(ev) != 0 {
				t.Errorf("Docker saw container events: %+v", ev)
			}
			recs := newRecords(t, before)
			if len(recs) != 1 {
				t.Fatalf("want exactly one audit record, got %d: %+v", len(recs), recs)
			}
			if recs[0].Event != "deny" || recs[0].Reason != c.reason || recs[0].UID != c.uid {
				t.Errorf("audit record %+v, want deny/%s for uid %d", recs[0], c.reason, c.uid)
			}
		})
	}
	for _, id := range []string{tc.ID, owned.ID} {
		if ids := socketContainers(t, id); len(ids) != 0 {
			t.Errorf("containers left behind: %v", ids)
		}
	}

	// The admin's opt-in for a single machine (mrun --master local).
	withConfig(t, baseConfig+"\n[cgroups]\nallow_delegated = true\n")
	if r := run(t, sockerRun(owned, &alice, image, "true"), ""); r.code != 0 {
		t.Errorf("delegated cgroup with allow_delegated: exit %d, stderr %q", r.code, r.stderr)
	}
}

// A log line cannot be forged through a user-controlled field.
func TestRun_AuditEscapesControlCharacters(t *testing.T) {
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	evil := "x\n{\"event\":\"start\",\"uid\":0}\r\x1b[2J"
	r := run(t, sockerRun(tc, &alice, "no/such:image", evil), "")
	assertOneLineError(t, r, 77, "is not allowed")
	recs := newRecords(t, before)
	if len(recs) != 1 || len(recs[0].Command) != 1 || recs[0].Command[0] != evil {
		t.Errorf("want one record carrying the command verbatim, got %+v", recs)
	}
}

// P4: no container starts unless its audit record was written. The audit
// log sits on a full filesystem: the start record cannot be written, so the
// container is removed without ever starting.
func TestRun_AuditFailureStartsNothing(t *testing.T) {
	tc := task(t, 256*mib)
	full := filepath.Join(dir, "full")
	mountTmpfs(t, full, 0o700, "size=16k,mode=0700")
	log := filepath.Join(full, "audit.log")
	if err := os.WriteFile(log, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	exec.Command("dd", "if=/dev/zero", "of="+filepath.Join(full, "filler"), "bs=4k", "count=64").Run()
	withConfig(t, auditConfig(log))
	since := time.Now()
	r := run(t, sockerRun(tc, &alice, image, "sh", "-c", "echo ran"), "")
	assertOneLineError(t, r, 78, "refusing to start")
	for _, ev := range containerEvents(t, since, tc.ID) {
		if ev.Action == "start" {
			t.Errorf("a container started without its audit record: %+v", ev)
		}
	}
	if ids := socketContainers(t, tc.ID); len(ids) != 0 {
		t.Errorf("containers left behind: %v", ids)
	}
}

// Installation problems are exit 78 with a message that says what to fix:
// no setuid bit, no_new_privs (Mesos' linux/nnp isolator), a config that is
// not root-owned or is writable by others, a symlinked config.
func TestRun_InstallationProblems(t *testing.T) {
	tc := task(t, 256*mib)

	plain := filepath.Join(dir, "socker-nosuid")
	copySocker(t, plain, 0o755)
	r := run(t, tc.Command(&alice, plain, "run", image, "id"), "")
	assertOneLineError(t, r, 78, "setuid root is not in effect")

	r = run(t, tc.Command(&alice, "setpriv", "--no-new-privs", socker, "run", image, "id"), "")
	assertOneLineError(t, r, 78, "no_new_privs")

	for _, c := range []struct {
		name   string
		break_ func() error
	}{
		{"not root-owned", func() error { return os.Chown(configPath, int(alice.UID), int(alice.GID)) }},
		{"world-writable", func() error { return os.Chmod(configPath, 0o666) }},
		{"group-writable", func() error { return os.Chmod(configPath, 0o664) }},
		{"directory writable by others", func() error { return os.Chmod(confDir, 0o777) }},
		{"directory owned by a user", func() error { return os.Chown(confDir, int(alice.UID), int(alice.GID)) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			if err := c.break_(); err != nil {
				t.Fatal(err)
			}
			defer func() {
				os.Chown(configPath, 0, 0)
				os.Chmod(configPath, 0o644)
				os.Chown(confDir, 0, 0)
				os.Chmod(confDir, 0o755)
			}()
			r := run(t, sockerRun(tc, &alice, image, "id"), "")
			assertOneLineError(t, r, 78, "must be owned by root and not writable by group or others")
		})
	}

	t.Run("symlinked config", func(t *testing.T) {
		real := configPath + ".real"
		if err := os.Rename(configPath, real); err != nil {
			t.Fatal(err)
		}
		defer os.Rename(real, configPath)
		if err := os.Symlink(real, configPath); err != nil {
			t.Fatal(err)
		}
		defer os.Remove(configPath)
		r := run(t, sockerRun(tc, &alice, image, "id"), "")
		assertOneLineError(t, r, 78, "symlink")
	})

	t.Run("unknown config key", func(t *testing.T) {
		withConfig(t, baseConfig+"[extra]\nprivileged = true\n")
		r := run(t, sockerRun(tc, &alice, image, "id"), "")
		assertOneLineError(t, r, 78, `unknown key "extra`)
	})
}
