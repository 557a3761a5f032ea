//go:build integration

package integration

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/internal/uuid"
	"github.com/sockerhpc/socker/security"
)

// P5, hostile process state. The Go runtime's TestSUID trick: the same
// request with a clean and with a poisoned process state must give the same
// result.

// countingListener accepts connections and counts them; the tests want zero.
type countingListener struct {
	net.Listener
	n atomic.Int64
}

func listen(t *testing.T, network, addr string) *countingListener {
	t.Helper()
	l, err := net.Listen(network, addr)
	if err != nil {
		t.Fatal(err)
	}
	cl := &countingListener{Listener: l}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			cl.n.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { l.Close() })
	return cl
}

// hostileState is a poisoned environment and a set of inherited fds, all
// pointing at things the test watches.
type hostileState struct {
	env       []string
	files     []*os.File
	listeners map[string]*countingListener
}

func (h hostileState) assertNoConnections(t *testing.T) {
	t.Helper()
	for name, l := range h.listeners {
		if n := l.n.Load(); n != 0 {
			t.Errorf("the fake %s listener got %d connection(s)", name, n)
		}
	}
}

// newHostileState builds the poisoned environment of ENV-01..09: loader and
// glibc variables pointing at a file alice wrote, Go runtime knobs (godebug is
// the GODEBUG value), Docker client and proxy variables pointing at listeners
// the test counts connections on, spoofed identity and path variables, a
// time zone naming /etc/shadow, about 1 MiB of values, and duplicate keys;
// plus three inherited fds: a file in alice's home, a directory and a
// connected socket.
func newHostileState(t *testing.T, work, godebug string) hostileState {
	t.Helper()
	evil := filepath.Join(work, "evil.so")
	if err := os.WriteFile(evil, []byte("#!/bin/sh\ntouch /tmp/socker-it-canary\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.Chown(evil, int(alice.UID), int(alice.GID))
	// A Docker CLI config naming a credential helper and plugin directory,
	// and the helper itself on PATH: it would leave a canary in work.
	canary := filepath.Join(work, "canary")
	for name, content := range map[string]string{
		"config.json":            `{"credsStore":"evil","cliPluginsExtraDirs":["` + work + `"]}`,
		"docker-credential-evil": "#!/bin/sh\nid >" + canary + "\n",
	} {
		if err := os.WriteFile(filepath.Join(work, name), []byte(content), 0o755); err != nil {
			t.Fatal(err)
		}
		os.Chown(filepath.Join(work, name), int(alice.UID), int(alice.GID))
	}
	sock := filepath.Join(work, "fake-docker.sock")
	h := hostileState{listeners: map[string]*countingListener{
		"unix DOCKER_HOST": listen(t, "unix", sock),
		"tcp DOCKER_HOST":  listen(t, "tcp", "127.0.0.1:0"),
		"proxy":            listen(t, "tcp", "127.0.0.1:0"),
	}}
	// Reachable by alice, so a client that used it would connect.
	os.Chown(sock, int(alice.UID), int(alice.GID))
	os.Chmod(sock, 0o777)
	proxy := "http://" + h.listeners["proxy"].Addr().String()
	h.env = []string{
		"LD_PRELOAD=" + evil, "LD_AUDIT=" + evil, "LD_LIBRARY_PATH=" + work,
		"GCONV_PATH=" + work, "LOCPATH=" + work, "NLSPATH=" + work + "/%N", "MALLOC_CHECK_=3",
		"GLIBC_TUNABLES=glibc.malloc.mxfast=glibc.malloc.mxfast=A",
		"GODEBUG=" + godebug, "GOTRACEBACK=crash", "GOMAXPROCS=1", "GOGC=off",
		"DOCKER_HOST=unix://" + sock,
		"DOCKER_HOST=tcp://" + h.listeners["tcp DOCKER_HOST"].Addr().String(),
		"DOCKER_API_VERSION=1.12", "DOCKER_TLS_VERIFY=1",
		"DOCKER_CERT_PATH=" + work, "DOCKER_CONFIG=" + work,
		"HTTP_PROXY=" + proxy, "HTTPS_PROXY=" + proxy, "ALL_PROXY=" + proxy,
		"http_proxy=" + proxy, "https_proxy=" + proxy, "all_proxy=" + proxy, "NO_PROXY=",
		"USER=root", "LOGNAME=root", "HOME=/etc", "PWD=/", "TMPDIR=/etc",
		"MESOS_SANDBOX=/etc", "MESOS_CONTAINER_ID=" + uuid.New(), "MESOS_TASK_ID=other",
		"SLURM_JOB_ID=1", "SUDO_UID=0", "TZ=:/etc/shadow",
		"PATH=" + work, "PATH=/usr/bin", "PATH=.", "=nameless", "no-equals-sign", "BASH_FUNC_x%%=() { id; }",
	}
	// About 1 MiB of values. The kernel caps one string (NAME=VALUE) at
	// MAX_ARG_STRLEN, 128 KiB, so a single 1 MiB value cannot be passed:
	// eight values just under the cap instead.
	for i := range 8 {
		h.env = append(h.env, fmt.Sprintf("BIG%d=%s", i, strings.Repeat("A", 128<<10-16)))
	}

	f, err := os.OpenFile(filepath.Join(work, "inherited.txt"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	os.Chown(f.Name(), int(alice.UID), int(alice.GID))
	d, err := os.Open(homeOf(t, alice))
	if err != nil {
		t.Fatal(err)
	}
	pair, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	s0, s1 := os.NewFile(uintptr(pair[0]), "sock0"), os.NewFile(uintptr(pair[1]), "sock1")
	h.files = []*os.File{f, d, s0}
	t.Cleanup(func() {
		for _, f := range []*os.File{f, d, s0, s1} {
			f.Close()
		}
	})
	return h
}

// explainJSON parses `socker explain` output and returns it without the
// wrapper's labels, after checking socker.wrapper-pid is the wrapper's pid.
func explainJSON(t *testing.T, out string, pid int) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		t.Fatalf("explain output is not JSON: %v\n%s", err, out)
	}
	cfg, _ := m["Config"].(map[string]any)
	labels, _ := cfg["Labels"].(map[string]any)
	if labels == nil {
		t.Fatalf("explain output has no Config.Labels:\n%s", out)
	}
	if got := labels["socker.wrapper-pid"]; got != strconv.Itoa(pid) {
		t.Errorf("socker.wrapper-pid label %v, want the wrapper's pid %d", got, pid)
	}
	delete(labels, "socker.wrapper-pid")
	launch, _ := labels["socker.launch"].(string)
	checkLaunchLabel(t, launch, false)
	delete(labels, "socker.launch")
	return m
}

// checkLaunchLabel checks the socker.launch label (it differs from run to
// run, so comparisons drop it): a run's launch id, 32 hex digits, or for
// explain, which stages nothing, empty.
func checkLaunchLabel(t *testing.T, launch string, run bool) {
	t.Helper()
	if ok := regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(launch); ok != run {
		t.Errorf("socker.launch label %q: want a launch id for run, nothing for explain (run: %v)", launch, run)
	}
}

// runPID runs cmd with an empty stdin and returns its result once it exits,
// together with the pid it ran as.
func runPID(t *testing.T, cmd *exec.Cmd) (result, int) {
	t.Helper()
	var out, errb bytes.Buffer
	cmd.Stdin = strings.NewReader("")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid
	cmd.Wait()
	code, _ := exitStatus(cmd)
	return result{code, out.String(), errb.String()}, pid
}

// TestAttackEnv_PoisonedStateChangesNothing: with a poisoned environment and
// three inherited fds, `socker explain` prints exactly the spec a clean run
// prints (but for the wrapper-pid label), says nothing on stderr, connects to
// none of the fake Docker or proxy listeners, and writes nothing but its
// audit record (UTC, the kernel uid). `socker run` then gives the container
// only PATH, HOME, USER, LOGNAME from the kernel identity (plus Docker's
// HOSTNAME) and no fd beyond those a clean run shows.
func TestAttackEnv_PoisonedStateChangesNothing(t *testing.T) {
	tc := task(t, 256*mib)
	work := userDir(t, alice, "attack-env")
	h := newHostileState(t, work, "execerrdot=0,http2debug=2,gctrace=1")
	home := homeOf(t, alice)
	args := []string{"socker", "explain", "--mount", shareDir + ":/data:ro", "--env", "OMP_NUM_THREADS=2", image, "--", "id"}

	explainOnce := func(name string, env []string, files []*os.File) map[string]any {
		t.Helper()
		before := len(auditLines(t))
		snap := takeSnapshot(t)
		cmd := hostileCmd(t, tc, alice, socker, args, env)
		cmd.ExtraFiles = files
		r, pid := runPID(t, cmd)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s explain: exit %d, stderr %q (want 0 and nothing)", name, r.code, r.stderr)
		}
		recs := newRecords(t, before)
		if len(recs) != 1 || recs[0].Event != "explain" || recs[0].UID != alice.UID || recs[0].User != alice.Name {
			t.Errorf("%s explain: audit records %+v, want one explain record for uid %d", name, recs, alice.UID)
		} else if !strings.HasSuffix(recs[0].Time, "Z") {
			t.Errorf("%s explain: audit time %q is not UTC", name, recs[0].Time)
		}
		snap.assertUnchanged(t)
		return explainJSON(t, r.stdout, pid)
	}
	etc := listDir(t, "/etc")
	clean := explainOnce("clean", nil, nil)
	poisoned := explainOnce("poisoned", h.env, h.files)
	if !reflect.DeepEqual(clean, poisoned) {
		a, _ := json.MarshalIndent(clean, "", "  ")
		b, _ := json.MarshalIndent(poisoned, "", "  ")
		t.Errorf("explain differs with a poisoned state:\nclean:\n%s\npoisoned:\n%s", a, b)
	}
	h.assertNoConnections(t)

	// The container: environment and fds.
	script := `tr '\0' '\n' </proc/$$/environ; echo ---; ls /proc/self/fd`
	runOnce := func(name string, env []string, files []*os.File) (map[string]string, []string) {
		t.Helper()
		cmd := hostileCmd(t, tc, alice, socker, []string{"socker", "run", image, "sh", "-c", script}, env)
		cmd.ExtraFiles = files
		r, _ := runPID(t, cmd)
		if r.code != 0 || r.stderr != "" {
			t.Fatalf("%s run: exit %d, stderr %q", name, r.code, r.stderr)
		}
		envText, fdText, ok := strings.Cut(r.stdout, "---\n")
		if !ok {
			t.Fatalf("%s run: unexpected output %q", name, r.stdout)
		}
		vars := map[string]string{}
		for _, kv := range strings.Split(strings.TrimSpace(envText), "\n") {
			k, v, _ := strings.Cut(kv, "=")
			if _, dup := vars[k]; dup {
				t.Errorf("%s run: %s set twice in the container", name, k)
			}
			vars[k] = v
		}
		return vars, strings.Fields(fdText)
	}
	cleanEnv, cleanFDs := runOnce("clean", nil, nil)
	poisonedEnv, poisonedFDs := runOnce("poisoned", h.env, h.files)
	for name, vars := range map[string]map[string]string{"clean": cleanEnv, "poisoned": poisonedEnv} {
		want := map[string]string{
			"PATH": security.DefaultPath, "HOME": home, "USER": alice.Name, "LOGNAME": alice.Name,
			"HOSTNAME": vars["HOSTNAME"],
		}
		if vars["HOSTNAME"] == "" || !reflect.DeepEqual(vars, want) {
			t.Errorf("%s run: container environment %v, want exactly %v (HOSTNAME from Docker)", name, vars, want)
		}
	}
	// ls opens the directory it lists: one fd beyond 0, 1, 2.
	if len(cleanFDs) != 4 || !slices.Equal(cleanFDs[:3], []string{"0", "1", "2"}) {
		t.Errorf("clean run: container fds %v, want 0 1 2 and the one ls opens", cleanFDs)
	}
	if !slices.Equal(cleanFDs, poisonedFDs) {
		t.Errorf("container fds with inherited fds %v, clean %v", poisonedFDs, cleanFDs)
	}
	h.assertNoConnections(t)
	if _, err := os.Stat("/tmp/socker-it-canary"); err == nil {
		t.Error("the LD_PRELOAD canary ran")
	}
	// HOME, TMPDIR and MESOS_SANDBOX named /etc: nothing appeared there.
	if now := listDir(t, "/etc"); !reflect.DeepEqual(now, etc) {
		t.Errorf("/etc changed during the poisoned runs")
	}
}

// listDir returns the names and mtimes of dir's entries.
func listDir(t *testing.T, dir string) map[string]int64 {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	for _, e := range ents {
		if info, err := e.Info(); err == nil {
			out[e.Name()] = info.ModTime().UnixNano()
		}
	}
	return out
}

// TestAttackEnv_RuntimeKnobsChangeNothing: Go runtime knobs in the caller's
// environment (GODEBUG, GOTRACEBACK=crash, GOMAXPROCS, GOGC) change neither
// the decision nor the spec, and print nothing. The one exception is an
// accepted risk (SECURITY.md): GODEBUG=inittrace=1 makes the runtime print
// package-initialisation timings before main, in the first process, before
// socker re-executes itself with an empty environment; the test pins that
// only those lines, and nothing else, appear.
func TestAttackEnv_RuntimeKnobsChangeNothing(t *testing.T) {
	tc := task(t, 256*mib)
	args := []string{"socker", "explain", image, "--", "id"}
	clean, cleanPID := runPID(t, hostileCmd(t, tc, alice, socker, args, nil))
	knobs, knobsPID := runPID(t, hostileCmd(t, tc, alice, socker, args,
		[]string{"GODEBUG=execerrdot=0,http2debug=2,gctrace=1", "GOTRACEBACK=crash", "GOMAXPROCS=1", "GOGC=off"}))
	traced, tracedPID := runPID(t, hostileCmd(t, tc, alice, socker, args,
		[]string{"GODEBUG=inittrace=1,gctrace=1,http2debug=2", "GOTRACEBACK=crash"}))
	if clean.code != 0 || knobs.code != 0 || traced.code != 0 {
		t.Fatalf("explain exit %d (clean), %d (knobs), %d (inittrace); stderr %q %q", clean.code, knobs.code, traced.code, knobs.stderr, traced.stderr)
	}
	want := explainJSON(t, clean.stdout, cleanPID)
	if !reflect.DeepEqual(want, explainJSON(t, knobs.stdout, knobsPID)) || !reflect.DeepEqual(want, explainJSON(t, traced.stdout, tracedPID)) {
		t.Errorf("explain differs with runtime knobs set:\n%s\n%s\n%s", clean.stdout, knobs.stdout, traced.stdout)
	}
	if knobs.stderr != "" {
		t.Errorf("runtime knobs made socker write to stderr: %q", knobs.stderr)
	}
	initLine := regexp.MustCompile(`^init [^ ]+ @[0-9.]+ ms, [0-9.]+ ms clock, [0-9]+ bytes, [0-9]+ allocs$`)
	for _, l := range strings.Split(strings.TrimSpace(traced.stderr), "\n") {
		if l != "" && !initLine.MatchString(l) {
			t.Errorf("with GODEBUG=inittrace=1, stderr has a line that is not a first-stage init trace: %q", l)
		}
	}
}

// TestAttackEnv_ClosedStandardFDs: with 0, 1 and 2 closed, a run succeeds
// (the runtime reopens them on /dev/null) and its audit lines are intact; with
// only 2 closed and 3 open on a file alice controls, a refusal writes nothing
// into that file.
func TestAttackEnv_ClosedStandardFDs(t *testing.T) {
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	r := run(t, tc.Command(&alice, "/bin/sh", "-c", `exec "$@" <&- >&- 2>&-`, "sh", socker, "run", image, "true"), "")
	if r.code != 0 || r.stdout != "" || r.stderr != "" {
		t.Errorf("run with 0-2 closed: exit %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}
	recs := newRecords(t, before) // fails on any line that is not JSON
	if len(recs) != 2 || recs[0].Event != "start" || recs[1].Event != "exit" || recs[1].ExitStatus == nil || *recs[1].ExitStatus != 0 {
		t.Errorf("audit records %+v, want start and exit 0", recs)
	}

	// somefile exists before the snapshot; the shell opens it for appending,
	// which changes neither its size nor its mtime.
	work := userDir(t, alice, "attack-fds")
	some := filepath.Join(work, "somefile")
	if err := os.WriteFile(some, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chown(some, int(alice.UID), int(alice.GID))
	denyTask := task(t, 64*mib)
	since := time.Now()
	p := startProbe(t)
	r = run(t, denyTask.Command(&alice, "/bin/sh", "-c", `exec "$@" 2>&- 3>>"$0"`, some, socker, "run", "busybox:latest", "id"), "")
	if r.code != 77 || r.stdout != "" || r.stderr != "" {
		t.Errorf("refused run with fd 2 closed: exit %d, stdout %q, stderr %q; want 77 and nothing", r.code, r.stdout, r.stderr)
	}
	if data, err := os.ReadFile(some); err != nil || len(data) != 0 {
		t.Errorf("the file on fd 3 holds %q (%v); socker must write nothing into it", data, err)
	}
	recs = newRecords(t, p.before)
	if len(recs) != 1 || recs[0].Event != "deny" || recs[0].Reason != "image-not-allowed" || recs[0].UID != alice.UID {
		t.Errorf("audit records %+v, want one deny/image-not-allowed for uid %d", recs, alice.UID)
	}
	p.snap.assertUnchanged(t)
	assertNoContainerEvents(t, since, denyTask)
}

// TestAttackArgs_HostileArgv: an empty argv (the kernel passes one "") is a
// usage error before anything privileged, with or without an environment to
// scrub; a hostile argv[0] changes nothing; 100k arguments and invalid
// UTF-8 in the command are refused and audited.
func TestAttackArgs_HostileArgv(t *testing.T) {
	tc := task(t, 256*mib)
	since := time.Now()
	for _, env := range [][]string{nil, {"GODEBUG=gctrace=1", "LD_PRELOAD=/nonexistent.so"}} {
		p := startProbe(t)
		r := run(t, hostileCmd(t, tc, alice, socker, []string{}, env), "")
		// Top-level usage errors are printed before the config and the audit
		// log are opened: no audit record.
		p.refused(t, r, 64, "", "", "no command given", alice.UID)
	}

	args := []string{"explain", image, "--", "id"}
	normal, normalPID := runPID(t, hostileCmd(t, tc, alice, socker, append([]string{socker}, args...), nil))
	before := len(auditLines(t))
	forged, forgedPID := runPID(t, hostileCmd(t, tc, alice, socker, append([]string{"x\nfake log line"}, args...), nil))
	if normal.code != 0 || forged.code != 0 || forged.stderr != "" {
		t.Fatalf("explain exit %d (normal), %d (hostile argv[0]), stderr %q", normal.code, forged.code, forged.stderr)
	}
	if !reflect.DeepEqual(explainJSON(t, normal.stdout, normalPID), explainJSON(t, forged.stdout, forgedPID)) {
		t.Errorf("a hostile argv[0] changed the spec:\n%s\n%s", normal.stdout, forged.stdout)
	}
	if recs := newRecords(t, before); len(recs) != 1 || recs[0].Event != "explain" {
		t.Errorf("audit records %+v, want one explain record", recs)
	}

	many := []string{image}
	for range 100000 {
		many = append(many, "x")
	}
	p := startProbe(t)
	r := run(t, sockerRun(tc, &alice, many...), "")
	p.refused(t, r, 77, "deny", "request-too-large", "request too large", alice.UID)

	p = startProbe(t)
	r = run(t, sockerRun(tc, &alice, image, "echo", "ok\xff\xfe"), "")
	p.refused(t, r, 77, "deny", "invalid-utf8", "is not valid UTF-8", alice.UID)

	p = startProbe(t)
	r = run(t, sockerRun(tc, &alice, "--workdir", "/tmp/\xff", image, "true"), "")
	p.refused(t, r, 77, "deny", "invalid-utf8", "is not valid UTF-8", alice.UID)
	assertNoContainerEvents(t, since, tc)
}

// TestAttackEnv_StaticBinaryNoInstrumentation: the installed binary has no
// ELF interpreter (no dynamic loader, so no LD_* or GLIBC_TUNABLES can reach
// it), was built with CGO_ENABLED=0, and carries no race, coverage or
// sanitizer instrumentation (whose runtimes read GORACE, GOCOVERDIR,
// ASAN_OPTIONS log paths).
func TestAttackEnv_StaticBinaryNoInstrumentation(t *testing.T) {
	f, err := elf.Open(socker)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Errorf("%s has a PT_INTERP program header: it is dynamically linked", socker)
		}
	}
	if f.Section(".interp") != nil || f.Section(".dynamic") != nil {
		t.Errorf("%s has .interp or .dynamic sections", socker)
	}
	out, err := exec.Command("go", "version", "-m", socker).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v\n%s", err, out)
	}
	settings := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		f := strings.Fields(l)
		if len(f) >= 2 && f[0] == "build" {
			k, v, _ := strings.Cut(f[1], "=")
			settings[k] = v
		}
	}
	if settings["CGO_ENABLED"] != "0" {
		t.Errorf("built with CGO_ENABLED=%q, want 0:\n%s", settings["CGO_ENABLED"], out)
	}
	for _, bad := range []string{"-race", "-cover", "-asan", "-msan"} {
		if v, ok := settings[bad]; ok {
			t.Errorf("built with %s=%s:\n%s", bad, v, out)
		}
	}
	for k, v := range settings {
		if strings.Contains(k, "cover") || strings.Contains(v, "-race") || strings.Contains(v, "-cover") {
			t.Errorf("instrumentation in build setting %s=%s", k, v)
		}
	}
}
