// Package benchutil holds what socker's benchmarks (test/bench and
// test/bench/mpi) share: the config they install socker with, and how they
// stop on ^C.
package benchutil

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/sockerhpc/socker/internal/testutil"
)

// Config is a benchmark's socker config: the integration tests' baseConfig
// without the mount prefix (the benchmarks bind nothing).
type Config struct {
	Image     string // the one allowed image
	Network   string // container.network
	PidsLimit int    // container.pids_limit
	Extra     string // more sections, each line ending in a newline, before [audit]
	// Seccomp sets container.seccomp_profile to the packaged profile
	// (packaging/seccomp); false leaves Docker's built-in one.
	Seccomp bool
}

// Text returns the config file with the audit log at auditPath and, if
// c.Seccomp, the seccomp profile at seccompPath.
func (c Config) Text(auditPath, seccompPath string) string {
	seccomp := ""
	if c.Seccomp {
		seccomp = fmt.Sprintf("seccomp_profile = %q\n", seccompPath)
	}
	return fmt.Sprintf(`[images]
allow = [%q]
[users]
min_uid = 1000
deny_groups = ["docker", "sudo", "disk", "adm"]
[container]
network = %q
pids_limit = %d
stop_grace_seconds = 10
%s%s[audit]
path = %q
`, c.Image, c.Network, c.PidsLimit, seccomp, c.Extra, auditPath)
}

// Install builds socker and installs it setuid root with config c in a
// temporary directory named after prefix (testutil.NewInstall).
func Install(prefix string, c Config) (*testutil.Install, error) {
	return testutil.NewInstall(prefix, c.Text)
}

// Interruptible is a context that ends on SIGINT or SIGTERM, so that a
// benchmark cut short still cleans up what it started.
func Interruptible() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}
