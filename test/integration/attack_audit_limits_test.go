//go:build integration

package integration

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/testutil"
)

// The caller's resource limits are hostile process state (SECURITY.md, P4
// and P5): a setuid program inherits them, and after the privilege drop the
// caller may change the wrapper's with prlimit(1). These tests give socker
// tiny limits and check that the audit log stays one whole JSON record per
// line, that a refusal is still recorded, that the container gets the
// caller's limits (not dockerd's), and that no limit makes the setuid binary
// print Go runtime text.
//
// The tests decode the audit log themselves (into maps, not security.Record)
// so that they state the behaviour without depending on the code under test.

// freshAudit points the config at a new audit log, in a new root-owned 0700
// directory, and returns its path. The log does not exist yet.
func freshAudit(t *testing.T) string {
	t.Helper()
	d, err := os.MkdirTemp(dir, "audit-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	p := filepath.Join(d, "audit.log")
	withConfig(t, auditConfig(p))
	return p
}

// logRecords returns every line of the audit log at path and fails the test
// for each one that is not a whole JSON object, or if the log does not end
// in a newline.
func logRecords(t *testing.T, path string) []map[string]any {
	t.Helper()
	data := readIfExists(t, path)
	if len(data) > 0 && data[len(data)-1] != '\n' {
		t.Errorf("%s does not end in a newline: ...%q", path, tail(data))
	}
	var recs []map[string]any
	for i, line := range strings.Split(strings.TrimSuffix(string(data), "\n"), "\n") {
		if line == "" && len(data) == 0 {
			break
		}
		var r map[string]any
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Errorf("%s line %d is not a JSON record (%v): %q", path, i+1, err, short200(line))
			continue
		}
		recs = append(recs, r)
	}
	return recs
}

func tail(b []byte) []byte {
	if len(b) > 200 {
		return b[len(b)-200:]
	}
	return b
}

func short200(s string) string {
	if len(s) > 200 {
		return s[:200] + "..."
	}
	return s
}

// recordsWith returns the records whose event and uid are the given ones.
func recordsWith(recs []map[string]any, event string, uid uint32) []map[string]any {
	var out []map[string]any
	for _, r := range recs {
		if r["event"] == event && r["uid"] == float64(uid) {
			out = append(out, r)
		}
	}
	return out
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// canRaiseHardLimits reports whether root on this machine may raise a hard
// resource limit (CAP_SYS_RESOURCE in the bounding set, as on a real node;
// not in a container started without it). A setuid-root program gets the
// bounding set as its permitted capabilities.
func canRaiseHardLimits(t *testing.T) bool {
	t.Helper()
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(l, "CapBnd:"); ok {
			bnd, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			if err != nil {
				t.Fatal(err)
			}
			const capSysResource = 24
			return bnd&(1<<capSysResource) != 0
		}
	}
	t.Fatal("no CapBnd in /proc/self/status")
	return false
}

// assertNoRuntimeText fails if stderr carries Go runtime output.
func assertNoRuntimeText(t *testing.T, stderr string) {
	t.Helper()
	for _, bad := range []string{"fatal error", "goroutine", "panic", "runtime:", "runtime.", "SIG"} {
		if strings.Contains(stderr, bad) {
			t.Errorf("stderr carries Go runtime text %q: %q", bad, stderr)
		}
	}
}

// TestAttackAudit_FileSizeLimitCannotTearTheLog: a caller who sets a small
// RLIMIT_FSIZE before running socker (a setuid program inherits it) can no
// longer make it write part of a record, glue the next user's record to a
// fragment, or leave a refusal unrecorded: every line of the log is a whole
// JSON record and every refusal and run is recorded.
func TestAttackAudit_FileSizeLimitCannotTearTheLog(t *testing.T) {
	log := freshAudit(t)
	tc := task(t, 256*mib)
	deny := func(t *testing.T, r result, says string) {
		t.Helper()
		assertOneLineError(t, r, 77, says)
		if strings.Contains(r.stderr, "audit") {
			t.Errorf("the refusal was not audited: %q", r.stderr)
		}
	}
	// A first record, so that the log is not empty.
	deny(t, run(t, sockerRun(tc, &alice, "busybox:1", "true"), ""), "is not allowed")

	soft := func(limit int64) string { return fmt.Sprintf("--fsize=%d:", limit) }
	cases := []struct {
		name  string
		limit func(size int64) int64 // from the log's size
	}{
		{"soft limit below the log's size", func(size int64) int64 { return size / 2 }},
		{"soft limit at the log's size", func(size int64) int64 { return size }},
		{"soft limit inside the next record", func(size int64) int64 { return size + 100 }},
	}
	for _, c := range cases {
		t.Run(c.name+": a refusal is recorded whole", func(t *testing.T) {
			before := len(recordsWith(logRecords(t, log), "deny", alice.UID))
			limit := c.limit(fileSize(t, log))
			deny(t, run(t, tc.Command(&alice, "prlimit", soft(limit), "--", socker, "run", "busybox:1", "true"), ""), "is not allowed")
			if got := len(recordsWith(logRecords(t, log), "deny", alice.UID)); got != before+1 {
				t.Errorf("%d new deny records for alice, want 1", got-before)
			}
		})
		t.Run(c.name+": a run records its start and exit whole", func(t *testing.T) {
			before := logRecords(t, log)
			limit := c.limit(fileSize(t, log))
			r := run(t, tc.Command(&alice, "prlimit", soft(limit), "--", socker, "run", image, "echo", "ran"), "")
			if r.code != 0 || r.stdout != "ran\n" || r.stderr != "" {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, \"ran\", nothing", r.code, r.stdout, r.stderr)
			}
			after := logRecords(t, log)
			for _, ev := range []string{"start", "exit"} {
				if n := len(recordsWith(after, ev, alice.UID)) - len(recordsWith(before, ev, alice.UID)); n != 1 {
					t.Errorf("%d new %s records, want 1", n, ev)
				}
			}
		})
	}

	// Hard and soft limit: socker raises the hard limit as root where root
	// may (CAP_SYS_RESOURCE); where it may not, it refuses to write a record
	// it cannot write whole and says so.
	t.Run("hard limit inside the next record", func(t *testing.T) {
		before := len(recordsWith(logRecords(t, log), "deny", alice.UID))
		limit := fileSize(t, log) + 100
		r := run(t, tc.Command(&alice, "prlimit", fmt.Sprintf("--fsize=%d", limit), "--", socker, "run", "busybox:1", "true"), "")
		got := len(recordsWith(logRecords(t, log), "deny", alice.UID)) - before
		if canRaiseHardLimits(t) {
			deny(t, r, "is not allowed")
			if got != 1 {
				t.Errorf("%d new deny records for alice, want 1", got)
			}
			return
		}
		assertOneLineError(t, r, 77, "also failed to audit this")
		if !strings.Contains(r.stderr, "RLIMIT_FSIZE") || got != 0 {
			t.Errorf("without CAP_SYS_RESOURCE: stderr %q and %d records; want a refusal naming RLIMIT_FSIZE and no record", r.stderr, got)
		}
	})

	// The next user's record is whole and on its own line.
	deny(t, run(t, sockerRun(tc, &mallory, "busybox:1", "true"), ""), "may not run containers")
	recs := logRecords(t, log)
	if last := recs[len(recs)-1]; last["uid"] != float64(mallory.UID) {
		t.Errorf("last record %v, want mallory's refusal", last)
	}
}

// TestAttackAudit_LimitLoweredAfterTheDropFailsClosed: once socker runs as the
// caller, the caller may lower its RLIMIT_FSIZE with prlimit --pid. The exit
// record then cannot be written; socker says so and writes no part of it.
func TestAttackAudit_LimitLoweredAfterTheDropFailsClosed(t *testing.T) {
	log := freshAudit(t)
	tc := task(t, 256*mib)
	cmd := sockerRun(tc, &alice, image, "sleep", "3")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(recordsWith(logRecords(t, log), "start", alice.UID)) == 0 {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("no start record after 30s; stderr %q", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	limit := fileSize(t, log) + 100
	if o, err := testutil.AsUserOutside(alice, "prlimit", "--pid", strconv.Itoa(cmd.Process.Pid), fmt.Sprintf("--fsize=%d", limit)).CombinedOutput(); err != nil {
		t.Fatalf("alice's prlimit on her wrapper: %v: %s", err, o)
	}
	cmd.Wait()
	code, _ := exitStatus(cmd)
	stderr := errb.String()
	if code != 0 || out.String() != "" {
		t.Errorf("exit %d, stdout %q; want the container's 0 and nothing", code, out.String())
	}
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "socker: ") || !strings.Contains(stderr, "RLIMIT_FSIZE") {
		t.Errorf("stderr %q, want one socker: line saying the exit record exceeds RLIMIT_FSIZE", stderr)
	}
	assertNoRuntimeText(t, stderr)
	recs := logRecords(t, log)
	if n := len(recordsWith(recs, "exit", alice.UID)); n != 0 {
		t.Errorf("%d exit records, want none (it could not be written whole)", n)
	}
	if fileSize(t, log) > limit {
		t.Errorf("the log grew past the limit the caller set")
	}
}

// TestAttackAudit_FragmentIsTerminated: a line left unterminated (a crash, a
// full disk, a wrapper killed mid-write) is ended before the next record, so
// no record is ever glued to it.
func TestAttackAudit_FragmentIsTerminated(t *testing.T) {
	log := freshAudit(t)
	tc := task(t, 256*mib)
	run(t, sockerRun(tc, &alice, "busybox:1", "true"), "")
	const fragment = `{"time":"2026-12-01T00:00:00Z","event":"deny","reason":"image-not-al`
	f, err := os.OpenFile(log, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(fragment); err != nil {
		t.Fatal(err)
	}
	f.Close()
	r := run(t, sockerRun(tc, &mallory, "busybox:1", "true"), "")
	assertOneLineError(t, r, 77, "may not run containers")
	data, err := os.ReadFile(log)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if len(lines) != 3 || lines[1] != fragment {
		t.Fatalf("log lines %q, want a record, the fragment alone, and mallory's record", lines)
	}
	var rec map[string]any
	if err := json.Unmarshal([]byte(lines[2]), &rec); err != nil || rec["uid"] != float64(mallory.UID) || rec["event"] != "deny" {
		t.Errorf("the record after the fragment is %q (%v), want mallory's refusal", lines[2], err)
	}
}

// TestAttackAudit_NewLogIsRoots: the audit log a first run creates is
// root's, group root's too, mode 0600, whoever ran socker (the setuid
// process's effective gid is the caller's).
func TestAttackAudit_NewLogIsRoots(t *testing.T) {
	log := freshAudit(t)
	tc := task(t, 256*mib)
	assertOneLineError(t, run(t, sockerRun(tc, &alice, "busybox:1", "true"), ""), 77, "is not allowed")
	st, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	sys := st.Sys().(*syscall.Stat_t)
	if sys.Uid != 0 || sys.Gid != 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("new audit log is %d:%d mode %v, want 0:0 mode 0600", sys.Uid, sys.Gid, st.Mode().Perm())
	}
	if n := len(logRecords(t, log)); n != 1 {
		t.Errorf("%d records, want 1", n)
	}
}

// TestAttackAudit_HugeCommandIsBounded: a refused call with 45 arguments of
// 128 KiB of '<' (each at the kernel's MAX_ARG_STRLEN; with an empty
// environment, so that socker does not re-execute itself, which a setuid
// program's 8 MiB stack limit would refuse) adds a bounded record: under
// 100 KiB, its command shortened, with the full command's length, argument
// count and sha256 (of each argument followed by a NUL).
func TestAttackAudit_HugeCommandIsBounded(t *testing.T) {
	log := freshAudit(t)
	tc := task(t, 256*mib)
	const args, argLen = 45, 128<<10 - 1
	command := []string{"true"}
	for range args {
		command = append(command, strings.Repeat("<", argLen))
	}
	// Room for 5.9 MB of arguments (a quarter of the stack limit, at most
	// 6 MiB) in the exec helper's execve, which inherits this limit.
	var stack syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_STACK, &stack); err != nil {
		t.Fatal(err)
	}
	raised := stack
	raised.Cur = raised.Max
	if err := syscall.Setrlimit(syscall.RLIMIT_STACK, &raised); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Setrlimit(syscall.RLIMIT_STACK, &stack) })
	argv := append([]string{socker, "run", image}, command...)
	r := run(t, hostileCmd(t, tc, alice, socker, argv, []string{}), "")
	assertOneLineError(t, r, 77, "request too large")

	h := sha256.New()
	total := 0
	for _, a := range command {
		h.Write([]byte(a))
		h.Write([]byte{0})
		total += len(a)
	}
	if size := fileSize(t, log); size >= 100<<10 {
		t.Errorf("the refusal added %d bytes to the log, want < 100 KiB", size)
	}
	recs := logRecords(t, log)
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	rec := recs[0]
	if rec["reason"] != "request-too-large" || rec["uid"] != float64(alice.UID) {
		t.Errorf("record %s/%v, want request-too-large for alice", rec["reason"], rec["uid"])
	}
	if rec["command_args"] != float64(len(command)) || rec["command_bytes"] != float64(total) ||
		rec["command_sha256"] != hex.EncodeToString(h.Sum(nil)) {
		t.Errorf("command_args %v command_bytes %v command_sha256 %v; want %d, %d, %x",
			rec["command_args"], rec["command_bytes"], rec["command_sha256"], len(command), total, h.Sum(nil))
	}
	got, _ := rec["command"].([]any)
	if len(got) == 0 || got[0] != "true" {
		t.Errorf("command %.200v, want it to start with true", rec["command"])
	}
	data, _ := os.ReadFile(log)
	if bytes.Contains(data, []byte(`\u003c`)) {
		t.Error(`'<' is escaped as \u003c (HTML escaping inflates it sixfold)`)
	}
}

// TestAttackLimits_ContainerGetsCallerLimits: the container's processes have
// the caller's resource limits (a Mesos task's posix/rlimits, limits.conf),
// not dockerd's, soft and hard, even though socker raises its own.
func TestAttackLimits_ContainerGetsCallerLimits(t *testing.T) {
	tc := task(t, 256*mib)
	// prlimit(1) as alice sets her limits and execs socker: both nofile
	// limits, the soft stack, process and core limits (hard ones unchanged).
	r := run(t, tc.Command(&alice, "prlimit", "--nofile=200", "--stack=4194304:", "--nproc=5000:", "--core=0:", "--",
		socker, "run", image, "sh", "-c",
		`echo nofile $(ulimit -n) $(ulimit -Hn); echo stack $(ulimit -s) $(ulimit -Hs); echo nproc $(ulimit -u); echo core $(ulimit -c)`), "")
	if r.code != 0 || r.stderr != "" {
		t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
	}
	hardStack, err := exec.Command("sh", "-c", "ulimit -Hs").Output() // prlimit kept alice's, which are this process's
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("nofile 200 200\nstack 4096 %s\nnproc 5000\ncore 0\n", strings.TrimSpace(string(hardStack)))
	if r.stdout != want {
		t.Errorf("limits in the container:\n%s\nwant the caller's:\n%s", r.stdout, want)
	}
}

// TestAttackLimits_TinyLimitsNoRuntimeText: with 6 or 8 open files (the Go
// runtime's netpoller needs fds of its own), or a soft limit of one process
// (RLIMIT_NPROC counts all the caller's processes, and the runtime starts
// threads once socker runs as the caller), socker works, or fails with one
// "socker: " line, exit 69, 70 or 78 and an audit record; never with Go
// runtime text. (Working includes a container that ran and failed under
// the caller's limits: with one process, it cannot start its init; socker
// then exits with its status and audits it.) Each command covers part of the path after the privilege
// drop: explain up to the spec, a missing image the Docker calls, run all
// of it; each runs five times, as whether the runtime needs a new thread
// after the drop depends on timing. Where root may not raise a hard limit (no CAP_SYS_RESOURCE), too
// few open files is refused at the start, before the audit log is open
// (exit 78, one line naming RLIMIT_NOFILE, no record).
func TestAttackLimits_TinyLimitsNoRuntimeText(t *testing.T) {
	absent := "registry.example.org/socker-test/absent:1"
	log := freshAudit(t)
	withConfig(t, allowImages(auditConfig(log), image, absent))
	tc := task(t, 256*mib)
	raise := canRaiseHardLimits(t)
	for _, lim := range []struct {
		name, set  string
		hardNofile bool
	}{
		{"nofile 6", "--nofile=6", true},
		{"nofile 8", "--nofile=8", true},
		{"soft nproc 1", "--nproc=1:", false},
	} {
		for _, c := range []struct {
			name   string
			args   []string
			works  func(r result) bool
			record string
		}{
			{"explain", []string{"explain", image, "true"}, func(r result) bool { return r.code == 0 && json.Valid([]byte(r.stdout)) }, "explain"},
			{"missing image", []string{"run", absent, "true"}, nil, ""},
			{"run", []string{"run", image, "echo", "ran"}, func(r result) bool { return r.code == 0 && r.stdout == "ran\n" }, "exit"},
		} {
			for try := range 5 {
				t.Run(fmt.Sprintf("%s/%s/%d", lim.name, c.name, try), func(t *testing.T) {
					before := len(logRecords(t, log))
					r := run(t, tc.Command(&alice, append([]string{"prlimit", lim.set, "--", socker}, c.args...)...), "")
					t.Logf("exit %d, stdout %.100q, stderr %q", r.code, r.stdout, r.stderr)
					assertNoRuntimeText(t, r.stderr)
					recs := logRecords(t, log)[before:]
					if c.works != nil && c.works(r) {
						if r.stderr != "" || len(recordsWith(recs, c.record, alice.UID)) != 1 {
							t.Errorf("worked, but stderr %q and records %v", r.stderr, recs)
						}
						return
					}
					if exits := recordsWith(recs, "exit", alice.UID); len(exits) == 1 && exits[0]["exit_status"] == float64(r.code) {
						return // the container ran; its status is socker's
					}
					lines := strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
					if len(lines) != 1 || !strings.HasPrefix(lines[0], "socker: ") || (r.code != 69 && r.code != 70 && r.code != 78) {
						t.Errorf("exit %d, stderr %q; want it to work or one socker: line and exit 69, 70 or 78", r.code, r.stderr)
					}
					if !raise && lim.hardNofile && r.code == 78 && strings.Contains(r.stderr, "RLIMIT_NOFILE") && len(recs) == 0 {
						return // refused before the audit log is open
					}
					if len(recordsWith(recs, "error", alice.UID)) != 1 {
						t.Errorf("records %v, want one error record for alice", recs)
					}
				})
			}
		}
	}
}
