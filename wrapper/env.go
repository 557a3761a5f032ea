package wrapper

import (
	"os"
	"syscall"

	"github.com/sockerhpc/socker/internal/earlysignals"
	"github.com/sockerhpc/socker/internal/exitcode"
)

// ScrubEnvironment re-executes socker with an empty environment unless the
// environment is already empty, so that nothing the caller put there
// (GODEBUG, GOMAXPROCS, LD_*, DOCKER_*, HTTP_PROXY, TZ, ...) is in the process
// that makes decisions. It must be the first thing main does: the Go runtime
// reads a few variables before main, and the re-executed process starts with
// none but what the runtime itself adds. /proc/self/exe is the running
// binary's inode, not a path the caller can swap. It returns only if there
// was nothing to scrub; an exec failure ends the process. Before the exec it
// takes back the early signals (earlysignals.Handoff): one caught by then
// ends socker with one line, one after it ends socker by its default
// action, none is lost.
func ScrubEnvironment() {
	if clean(syscall.Environ()) {
		return
	}
	// A signal caught so far would die with this process image: it ends
	// socker here, with one line (nothing has been done yet).
	if s, ok := earlysignals.Handoff(); ok {
		os.Exit(StoppedBy(s))
	}
	err := syscall.Exec("/proc/self/exe", os.Args, []string{})
	os.Exit(say(exitcode.Config, "re-executing with an empty environment: "+err.Error()))
}

// clean reports whether env holds nothing but what the Go runtime's setuid
// secure mode puts there itself (GOTRACEBACK=none), so that the re-executed
// process does not re-execute again.
func clean(env []string) bool {
	for _, kv := range env {
		if kv != "GOTRACEBACK=none" {
			return false
		}
	}
	return true
}
