//go:build integration

package integration

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// seccompConfig is baseConfig with the packaged seccomp profile (copied
// root-owned beside the config), as the packaged configs set it.
func seccompConfig(t *testing.T) (profile string) {
	t.Helper()
	withConfig(t, strings.Replace(baseConfig, "[container]\n", "[container]\nseccomp_profile = \""+seccompPath+"\"\n", 1))
	return seccompPath
}

// cmaProbe builds testdata/cmaprobe.c static into the allowed mount prefix
// and returns its path there.
func cmaProbe(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(shareDir, "cmaprobe")
	if out, err := exec.Command("gcc", "-static", "-O1", "-Wall", "-Werror", "-o", bin, filepath.Join("testdata", "cmaprobe.c")).CombinedOutput(); err != nil {
		t.Fatalf("building cmaprobe (gcc, libc6-dev: scripts/setup.sh): %v\n%s", err, out)
	}
	t.Cleanup(func() { os.Remove(bin) })
	return bin
}

// hold starts cmaprobe hold as cmd, to be ended with stop, and returns the
// secret's pid and address as cmaprobe prints them.
func hold(t *testing.T, cmd *exec.Cmd, stop syscall.Signal) (pid int, addr string) {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Signal(stop); cmd.Wait() })
	buf := make([]byte, 128)
	done := make(chan string, 1)
	go func() { n, _ := out.Read(buf); done <- string(buf[:n]) }()
	select {
	case line := <-done:
		if _, err := fmt.Sscanf(line, "pid %d addr %s", &pid, &addr); err != nil {
			t.Fatalf("cmaprobe hold printed %q", line)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("cmaprobe hold printed nothing")
	}
	return pid, addr
}

// With the packaged profile (Moby's current default), processes of one
// container reach each other's memory with process_vm_readv, as MPI's
// single-copy transfers need (Docker 20.10's built-in profile denies it).
// They reach nothing else: a process of the same user on the host, named
// by its host pid, and a process of the same user in another container (a
// second job), found by scanning every pid the container can see at the
// address where the (static, non-PIE) victim keeps its secret, stay out of
// reach of process_vm_readv and ptrace alike. The start record carries the
// profile's sha256.
func TestSeccomp_CrossMemoryAttachStaysInTheContainer(t *testing.T) {
	profile := seccompConfig(t)
	probe := cmaProbe(t)
	const secret = "alice-secret-7f3a"

	t.Run("within the container", func(t *testing.T) {
		before := len(auditLines(t))
		tc := task(t, 256*mib)
		r := run(t, sockerRun(tc, &alice, "--mount", shareDir+":/data:ro", image, "/data/cmaprobe", "child"), "")
		if r.code != 0 || r.stdout != "child ok\n" {
			t.Fatalf("exit %d stdout %q stderr %q: want child ok (process_vm_readv between processes of one container)", r.code, r.stdout, r.stderr)
		}
		data, err := os.ReadFile(profile)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		start := recordOf(newRecords(t, before), "start")
		if start == nil || start.SeccompHash != "sha256:"+hex.EncodeToString(sum[:]) {
			t.Errorf("start record %s: want seccomp_hash sha256:%x", jsonOf(start), sum)
		}
	})

	t.Run("a host process of the same user", func(t *testing.T) {
		victim := exec.Command(probe, "hold", secret)
		victim.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
		pid, addr := hold(t, victim, syscall.SIGKILL)
		// The host can read it (the probe works) ...
		host := exec.Command(probe, "read", fmt.Sprint(pid), addr, secret)
		host.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
		if out, err := host.Output(); err != nil || !strings.HasPrefix(string(out), "read match") {
			t.Fatalf("alice on the host reading her own process: %q %v (the probe does not work)", out, err)
		}
		// ... a container of hers cannot, by pid or by scanning.
		tc := task(t, 256*mib)
		r := run(t, sockerRun(tc, &alice, "--mount", shareDir+":/data:ro", image, "sh", "-c",
			fmt.Sprintf("/data/cmaprobe read %d %s %s; /data/cmaprobe scan %s %s", pid, addr, secret, addr, secret)), "")
		if r.code != 0 {
			t.Fatalf("exit %d stderr %q", r.code, r.stderr)
		}
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		if len(lines) != 2 || !strings.HasPrefix(lines[0], "read ESRCH ptrace ESRCH") || !strings.HasSuffix(lines[1], " 0 matches") {
			t.Errorf("from a container, the host process %d: %q, want read ESRCH ptrace ESRCH and 0 matches", pid, r.stdout)
		}
	})

	t.Run("another container of the same user", func(t *testing.T) {
		tcA := task(t, 256*mib)
		_, addr := hold(t, sockerRun(tcA, &alice, "--mount", shareDir+":/data:ro", image, "/data/cmaprobe", "hold", secret), syscall.SIGTERM)
		tcB := task(t, 256*mib)
		r := run(t, sockerRun(tcB, &alice, "--mount", shareDir+":/data:ro", image, "/data/cmaprobe", "scan", addr, secret), "")
		if r.code != 0 || !strings.HasSuffix(strings.TrimSpace(r.stdout), " 0 matches") || !strings.HasPrefix(r.stdout, "scan ") {
			t.Errorf("a second container scanning for the first's secret: exit %d stdout %q stderr %q, want 0 matches", r.code, r.stdout, r.stderr)
		}
		// The scan works: in its own container the victim's secret is found.
		tcC := task(t, 256*mib)
		r = run(t, sockerRun(tcC, &alice, "--mount", shareDir+":/data:ro", image, "sh", "-c",
			fmt.Sprintf("/data/cmaprobe hold %s & sleep 0.5; /data/cmaprobe scan %s %s; kill $!", secret, addr, secret)), "")
		if !strings.Contains(r.stdout, " 1 matches") {
			t.Errorf("the scan in the victim's own container: %q %q, want 1 match (the probe does not work)", r.stdout, r.stderr)
		}
	})
}
