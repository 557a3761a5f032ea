//go:build integration

package integration

import (
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exitRecord returns the one exit record among the records written since
// before for the task mesosID, failing the test if there is not exactly one.
func exitRecord(t *testing.T, before int, mesosID string) {
	t.Helper()
	n := 0
	for _, r := range newRecords(t, before) {
		if r.Event == "exit" && r.MesosContainerID == mesosID {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d exit records for task %s, want 1", n, mesosID)
	}
}

// onlySockerLines fails unless stderr is empty or one "socker: " line: no
// Go runtime text (goroutine dumps, "fatal error:", "SIGQUIT: quit").
func onlySockerLines(t *testing.T, stderr string) {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
	if stderr == "" {
		return
	}
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "socker: ") {
		t.Errorf("stderr is not one socker line: %q", stderr)
	}
}

// A job runs as long as it runs: nothing bounds the wait for the container
// (socker's setup timeout is 2 minutes; this container runs past it).
func TestRun_LongJobOutlivesTheSetupTimeout(t *testing.T) {
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	start := time.Now()
	r := run(t, sockerRun(tc, &alice, image, "sh", "-c", "sleep 125; echo done; exit 7"), "")
	t.Logf("ran %v", time.Since(start))
	if r.code != 7 || r.stdout != "done\n" || r.stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 7, done, nothing", r.code, r.stdout, r.stderr)
	}
	exitRecord(t, before, tc.ID)
}

// Every signal a caller can send the wrapper that would end it (SIGKILL
// aside, see socker gc) stops the container: it is removed, the exit record
// is written, and stderr holds at most one socker line, never Go's runtime
// text.
func TestRun_EverySignalRemovesTheContainer(t *testing.T) {
	sigs := []syscall.Signal{
		syscall.SIGHUP, syscall.SIGINT, syscall.SIGQUIT, syscall.SIGILL, syscall.SIGTRAP,
		syscall.SIGABRT, syscall.SIGBUS, syscall.SIGFPE, syscall.SIGUSR1, syscall.SIGSEGV,
		syscall.SIGUSR2, syscall.SIGPIPE, syscall.SIGALRM, syscall.SIGTERM, syscall.SIGSTKFLT,
		syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGVTALRM, syscall.SIGPWR, syscall.SIGSYS, syscall.SIGIO,
	}
	for _, sig := range sigs {
		t.Run(sig.String(), func(t *testing.T) {
			tc := task(t, 256*mib)
			before := len(auditLines(t))
			cmd := sockerRun(tc, &alice, image, "sleep", "600")
			var stderr strings.Builder
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			runningContainer(t, tc.ID)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			// A liveness bound, not a timing claim: socker stops the
			// container at once; one that ignored the signal runs 600 s.
			waited := make(chan error, 1)
			go func() { waited <- cmd.Wait() }()
			var err error
			select {
			case err = <-waited:
			case <-time.After(60 * time.Second):
				cmd.Process.Kill()
				<-waited
				t.Fatalf("the wrapper still ran 60 s after %v", sig)
			}
			if _, ok := err.(*exec.ExitError); err != nil && !ok {
				t.Fatal(err)
			}
			ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
			if ws.Signaled() {
				t.Errorf("the wrapper died of %v", ws.Signal())
			}
			onlySockerLines(t, stderr.String())
			if ids := socketContainers(t, tc.ID); len(ids) != 0 {
				t.Errorf("container left: %v", ids)
			}
			exitRecord(t, before, tc.ID)
		})
	}
}

// The reader of socker's output goes away (`socker run ... | head -n 2`):
// the wrapper stops and removes the container and writes its exit record.
func TestRun_OutputReaderGoneStopsTheContainer(t *testing.T) {
	tc := task(t, 256*mib)
	before := len(auditLines(t))
	pipeline := fmt.Sprintf("%s run %s sh -c 'i=0; while :; do echo $i; i=$((i+1)); done' | head -n 2", socker, image)
	r := run(t, tc.Command(&alice, "/bin/sh", "-c", pipeline), "")
	if r.stdout != "0\n1\n" {
		t.Errorf("stdout %q, want the first two lines", r.stdout)
	}
	onlySockerLines(t, r.stderr)
	if ids := socketContainers(t, tc.ID); len(ids) != 0 {
		t.Errorf("container left: %v", ids)
	}
	exitRecord(t, before, tc.ID)
}

// An image's VOLUME gives each container an anonymous volume: it goes with
// the container (after a normal run, and when socker gc removes the
// container of a SIGKILLed wrapper), leaving no user data on the node.
func TestRun_AnonymousVolumesRemoved(t *testing.T) {
	const volImage = "socker-test/volume:1"
	if exec.Command("docker", "image", "inspect", volImage).Run() != nil {
		out, err := exec.Command("docker", "create", image, "true").Output()
		if err != nil {
			t.Fatal(err)
		}
		id := strings.TrimSpace(string(out))
		defer exec.Command("docker", "rm", id).Run()
		if out, err := exec.Command("docker", "commit", "--change", "VOLUME /data", id, volImage).CombinedOutput(); err != nil {
			t.Fatalf("docker commit: %v %s", err, out)
		}
	}
	withConfig(t, allowImages(baseConfig, image, volImage))
	volumes := func() []string {
		out, err := exec.Command("docker", "volume", "ls", "-q").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Fields(string(out))
	}
	newVolumes := func(before []string) []string {
		var out []string
		for _, v := range volumes() {
			if !slices.Contains(before, v) {
				out = append(out, v)
			}
		}
		return out
	}

	tc := task(t, 256*mib)
	vols := volumes()
	r := run(t, sockerRun(tc, &alice, volImage, "ls", "-d", "/data"), "")
	if r.code != 0 || r.stdout != "/data\n" {
		t.Fatalf("exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if left := newVolumes(vols); len(left) != 0 {
		t.Errorf("volumes left after the run: %v", left)
	}

	killed := task(t, 256*mib)
	cmd := sockerRun(killed, &alice, volImage, "sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	runningContainer(t, killed.ID)
	if len(newVolumes(vols)) != 1 {
		t.Errorf("the running container has no anonymous volume: %v", newVolumes(vols))
	}
	cmd.Process.Kill()
	cmd.Wait()
	if r := sockerGC(t, nil); r.code != 0 {
		t.Fatalf("socker gc: exit %d, stderr %q", r.code, r.stderr)
	}
	if ids := socketContainers(t, killed.ID); len(ids) != 0 {
		t.Errorf("gc left the container: %v", ids)
	}
	if left := newVolumes(vols); len(left) != 0 {
		t.Errorf("volumes left after gc: %v", left)
	}
}

// socker doctor applies the identity policy before it reaches Docker: a
// denied caller gets no answer from the daemon.
func TestDoctor_DeniedCallerDoesNotReachDocker(t *testing.T) {
	tc := task(t, 64*mib)
	r := run(t, tc.Command(&mallory, socker, "doctor"), "")
	if r.code != 78 || !strings.Contains(r.stdout, "FAIL caller") ||
		!strings.Contains(r.stdout, "FAIL docker         not checked: only a caller the policy allows may reach Docker") ||
		strings.Contains(r.stdout, "cgroup driver") {
		t.Errorf("doctor as a denied caller: exit %d, stdout:\n%s", r.code, r.stdout)
	}
}
