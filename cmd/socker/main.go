// Command socker is the setuid-root wrapper that runs a Docker container as
// the calling user inside the caller's Mesos task cgroup. All logic lives in
// package wrapper; see its doc.go for the launch order and SECURITY.md for
// the promises.
package main

import (
	"os"

	// First, for its initialiser: it catches socker's signals before the
	// Docker client's packages and socker's own initialise.
	_ "github.com/sockerhpc/socker/internal/earlysignals"

	"github.com/sockerhpc/socker/wrapper"
)

func main() {
	wrapper.ScrubEnvironment()
	os.Exit(wrapper.Main(os.Args))
}
