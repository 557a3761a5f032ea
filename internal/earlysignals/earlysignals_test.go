package earlysignals

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Every caught signal, sent to this process, is queued in Stop and ends
// nothing (this test binary would die or print runtime text otherwise).
func TestCaughtSignalsQueue(t *testing.T) {
	for _, s := range Caught {
		if err := syscall.Kill(os.Getpid(), s.(syscall.Signal)); err != nil {
			t.Fatal(err)
		}
		select {
		case got := <-Stop:
			if got != s {
				t.Errorf("sent %v, Stop got %v", s, got)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v never reached Stop", s)
		}
	}
}

// Signals 32 and 34 are ignored, as the kernel sees it: one sent ends
// nothing, and SigIgn says so (the integration test watches for it).
func TestReservedSignalsIgnored(t *testing.T) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		t.Fatal(err)
	}
	var ign uint64
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "SigIgn:"); ok {
			if ign, err = strconv.ParseUint(strings.TrimSpace(v), 16, 64); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, s := range Ignored {
		if ign&(1<<(s-1)) == 0 {
			t.Errorf("signal %d not in SigIgn %x", s, ign)
		}
		syscall.Kill(os.Getpid(), s)
	}
	time.Sleep(50 * time.Millisecond) // still alive to end the test
}

// handoffHelper is what TestHandoff runs in a process of its own (Handoff
// changes the process's signal state for good).
const handoffHelper = "EARLYSIGNALS_HANDOFF_HELPER"

func init() {
	switch os.Getenv(handoffHelper) {
	case "caught":
		// A signal taken by the runtime just before Handoff is returned,
		// not lost with the process.
		syscall.Kill(os.Getpid(), syscall.SIGTERM)
		s, ok := Handoff()
		fmt.Printf("%v %v\n", s, ok)
		os.Exit(0)
	case "after":
		// After Handoff, a signal ends the process by its default action:
		// no Go runtime text, nothing queued.
		if s, ok := Handoff(); ok {
			fmt.Printf("caught %v before sending anything\n", s)
			os.Exit(3)
		}
		syscall.Kill(os.Getpid(), syscall.SIGSYS)
		time.Sleep(5 * time.Second)
		fmt.Println("survived SIGSYS")
		os.Exit(4)
	}
}

// Handoff returns a signal the runtime took just before it (20 processes,
// each signalling itself and then calling Handoff at once), and afterwards
// a signal takes the kernel's default action: SIGSYS kills the process by
// SIGSYS, with nothing on stderr (the Go runtime would print its header).
func TestHandoff(t *testing.T) {
	for i := range 20 {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), handoffHelper+"=caught")
		out, err := cmd.CombinedOutput()
		if err != nil || string(out) != "terminated true\n" {
			t.Fatalf("process %d: SIGTERM then Handoff: %v, output %q (want \"terminated true\")", i, err, out)
		}
	}
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), handoffHelper+"=after")
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("SIGSYS after Handoff: %v, output %q", err, out)
	}
	ws := ee.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGSYS || stderr.Len() != 0 || len(out) != 0 {
		t.Errorf("SIGSYS after Handoff: %v, stdout %q, stderr %q; want death by SIGSYS and no output", err, out, stderr.String())
	}
}
