package earlysignals

import (
	"os"
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
