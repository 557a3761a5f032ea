//go:build integration

package integration

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// earlyStopSignals are the signals socker catches from its first
// initialiser (internal/earlysignals.Caught): each ends it with one line
// and status 128+N.
var earlyStopSignals = map[syscall.Signal]bool{
	syscall.SIGHUP: true, syscall.SIGINT: true, syscall.SIGQUIT: true, syscall.SIGILL: true,
	syscall.SIGTRAP: true, syscall.SIGABRT: true, syscall.SIGBUS: true, syscall.SIGFPE: true,
	syscall.SIGUSR1: true, syscall.SIGSEGV: true, syscall.SIGUSR2: true, syscall.SIGPIPE: true,
	syscall.SIGALRM: true, syscall.SIGTERM: true, syscall.SIGSTKFLT: true, syscall.SIGXCPU: true,
	syscall.SIGXFSZ: true, syscall.SIGVTALRM: true, syscall.SIGPWR: true, syscall.SIGSYS: true,
	syscall.SIGIO: true,
}

// TestSignals_CaughtFromEarlyInit sends every signal a caller may send
// socker but SIGKILL and SIGSTOP (1 to 64) at the first moment the test can
// see that socker's early initialiser (internal/earlysignals) has run: the
// signals 32 and 34 it ignores appear in SigIgn of /proc/<pid>/status.
// That is usually before wrapper.Main, while the Docker client's packages
// initialise (the test logs how often), sometimes after. Either way a
// stop signal ends socker with status 128+N and one `socker:` line, never
// Go runtime text nor a death by the signal; any other signal leaves it
// running (SIGTSTP, SIGTTIN, SIGTTOU stop it until SIGCONT), which a SIGTERM
// sent next shows: 143 and one line.
//
// socker runs as alice with an empty environment (so that it does not
// re-execute itself: the ignored signals would already be in SigIgn of the
// re-executed process before its initialiser ran) as `socker help`, its
// output a 4 KiB pipe the test never reads: it can only end by a signal.
//
// The test first sets 32 and 34 to their default in its own process: an
// ignored signal stays ignored across fork and execve, so a test started by
// a runner that ignores them would see the bits in socker's SigIgn from its
// first instruction, and signal it before its initialiser ran.
func TestSignals_CaughtFromEarlyInit(t *testing.T) {
	const rounds = 3
	for _, sig := range []syscall.Signal{32, 34} {
		if ignores(os.Getpid(), sig) {
			t.Logf("this test process inherited signal %d ignored: setting it to its default", int(sig))
		}
		setDefault(t, sig)
		if ignores(os.Getpid(), sig) {
			t.Fatalf("signal %d is still ignored by the test process", int(sig))
		}
	}
	beforeMain, total := 0, 0
	for round := 0; round < rounds; round++ {
		for n := syscall.Signal(1); n <= 64; n++ {
			if n == syscall.SIGKILL || n == syscall.SIGSTOP {
				continue
			}
			if early := signalEarly(t, n, round == 0); early {
				beforeMain++
			}
			total++
		}
	}
	t.Logf("%d of %d signals landed before socker's Main had written any output", beforeMain, total)
}

// signalEarly runs one socker, signals it with n once its early
// initialiser has run, checks the outcome, and reports whether the signal
// was sent before socker had written any output (before Main, or early in
// it). checkCaller also checks that alice may signal her socker.
func signalEarly(t *testing.T, n syscall.Signal, checkCaller bool) bool {
	t.Helper()
	b := startBlockedHelp(t, []string{}, n.String())
	defer b.stop()
	cmd, pid, done, stderr, r := b.cmd, b.cmd.Process.Pid, b.done, b.stderr, b.out
	// kill(2) as alice: her real uid is socker's.
	if checkCaller && n == 1 {
		kill := exec.Command("kill", "-0", strconv.Itoa(pid))
		kill.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
		if out, err := kill.CombinedOutput(); err != nil {
			t.Errorf("alice may not signal her socker: %v %s", err, out)
		}
	}
	early := pipeBytes(t, r) == 0
	if err := syscall.Kill(pid, n); err != nil {
		t.Fatal(err)
	}

	want, says := syscall.SIGTERM, "stopped by terminated"
	if earlyStopSignals[n] {
		want, says = n, "stopped by "+n.String()
	} else {
		// Not a stop signal: socker must still be there for SIGTERM.
		if n == syscall.SIGTSTP || n == syscall.SIGTTIN || n == syscall.SIGTTOU {
			syscall.Kill(pid, syscall.SIGCONT)
		}
		syscall.Kill(pid, syscall.SIGTERM)
	}
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatalf("%v: socker did not end (stderr %q)", n, stderr.String())
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	if ws.Signaled() {
		t.Errorf("%v: socker died of %v (stderr %q)", n, ws.Signal(), stderr.String())
		return early
	}
	name := fmt.Sprintf("signal %d (%v)", int(n), n)
	t.Run(strings.ReplaceAll(name, " ", "_"), func(t *testing.T) {
		assertOneLineError(t, result{ws.ExitStatus(), "", stderr.String()}, 128+int(want), says)
	})
	return early
}

// blockedHelp is a `socker help` as alice whose output is a 4 KiB pipe the
// test never reads (out, its read end): it can only end by a signal.
type blockedHelp struct {
	cmd    *exec.Cmd
	out    *os.File
	stderr *bytes.Buffer
	done   chan struct{} // closed once cmd has been waited for
}

// startBlockedHelp starts a blockedHelp with environment env and returns
// once its (first) process's early initialiser has run: signal 32 is in
// its SigIgn. what names it in failures; stop kills and reaps it.
func startBlockedHelp(t *testing.T, env []string, what string) *blockedHelp {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := unix.FcntlInt(w.Fd(), unix.F_SETPIPE_SZ, 4096); err != nil {
		t.Fatal(err)
	}
	b := &blockedHelp{cmd: exec.Command(socker, "help"), out: r, stderr: &bytes.Buffer{}, done: make(chan struct{})}
	b.cmd.Env = env
	b.cmd.Stdout, b.cmd.Stderr = w, b.stderr
	b.cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: alice.UID, Gid: alice.GID, Groups: alice.Groups}}
	err = b.cmd.Start()
	w.Close()
	if err != nil {
		r.Close()
		t.Fatal(err)
	}
	go func() { b.cmd.Wait(); close(b.done) }()
	deadline := time.Now().Add(20 * time.Second)
	for !ignores(b.cmd.Process.Pid, 32) {
		if time.Now().After(deadline) {
			b.stop()
			t.Fatalf("%s: socker never ignored signal 32 (its early initialiser did not run)", what)
		}
		select {
		case <-b.done:
			b.stop()
			t.Fatalf("%s: socker ended before the signal: %v, stderr %q", what, b.cmd.ProcessState, b.stderr.String())
		default:
		}
	}
	return b
}

func (b *blockedHelp) stop() {
	b.cmd.Process.Kill()
	<-b.done
	b.out.Close()
}

// setDefault sets sig to SIG_DFL with rt_sigaction(2): the Go runtime
// installs no handler for 32 and 34 and os/signal.Reset leaves them alone.
func setDefault(t *testing.T, sig syscall.Signal) {
	var act struct{ handler, flags, restorer, mask uintptr } // handler 0: SIG_DFL
	if _, _, e := syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0); e != 0 {
		t.Fatalf("rt_sigaction(%d, SIG_DFL): %v", int(sig), e)
	}
}

// ignores reports whether process pid ignores signal sig (SigIgn in
// /proc/<pid>/status: bit sig-1).
func ignores(pid int, sig syscall.Signal) bool {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return false
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			m, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64)
			return err == nil && m&(1<<(sig-1)) != 0
		}
	}
	return false
}

// pipeBytes is how many bytes wait unread in pipe r (TIOCINQ is FIONREAD).
func pipeBytes(t *testing.T, r *os.File) int {
	n, err := unix.IoctlGetInt(int(r.Fd()), unix.TIOCINQ)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// TestSignals_NoneLostAcrossReexec (P7): with a non-empty environment
// socker re-executes itself, and a signal its first process has caught must
// not die with that process image. 60 `socker help` as alice, each with an
// environment (so it re-executes) and its output a pipe the test never reads
// (so it can only end by a signal), each sent SIGTERM 0-8 ms (fixed seed)
// after its first process's early initialiser has run (32 in SigIgn): the
// window from there to its execve. Each must end within 10 s: 143 and one
// `socker:` line (caught), or dead of SIGTERM with nothing on stderr (sent
// in the microseconds after the first process handed its signals back, or
// before the second's initialiser). One that runs on lost the signal.
func TestSignals_NoneLostAcrossReexec(t *testing.T) {
	for _, sig := range []syscall.Signal{32, 34} {
		setDefault(t, sig)
	}
	const runs, seed = 60, 20261207
	rng := rand.New(rand.NewPCG(seed, seed))
	outcomes := map[string]int{}
	for i := range runs {
		delay := time.Duration(rng.IntN(8001)) * time.Microsecond
		outcomes[signalAcrossReexec(t, i, delay)]++
	}
	t.Logf("outcomes: %v", outcomes)
}

// signalAcrossReexec runs one `socker help` with an environment, sends it
// SIGTERM delay after its first process ignores 32, and returns how it ended.
func signalAcrossReexec(t *testing.T, i int, delay time.Duration) string {
	t.Helper()
	b := startBlockedHelp(t, []string{"LANG=C.UTF-8"}, fmt.Sprintf("run %d", i))
	defer b.stop()
	cmd, pid, done, stderr := b.cmd, b.cmd.Process.Pid, b.done, b.stderr
	time.Sleep(delay)
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Errorf("run %d (SIGTERM %v after the first initialiser): socker runs on: the signal was lost (stderr %q)", i, delay, stderr.String())
		return "lost"
	}
	ws := cmd.ProcessState.Sys().(syscall.WaitStatus)
	switch {
	case ws.Signaled() && ws.Signal() == syscall.SIGTERM && stderr.Len() == 0:
		return "died of SIGTERM"
	case !ws.Signaled() && ws.ExitStatus() == 143 && stderr.String() == "socker: stopped by terminated\n":
		return "143, one line"
	}
	t.Errorf("run %d (SIGTERM %v after the first initialiser): %v, stderr %q", i, delay, cmd.ProcessState, stderr.String())
	return "other"
}
