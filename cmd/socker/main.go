// Command socker is the setuid-root wrapper that runs a Docker container as
// the calling user inside the caller's Mesos task cgroup. All logic lives in
// package wrapper; see its doc.go for the launch order and SECURITY.md for
// the promises.
package main

import (
	"os"

	"github.com/sockerhpc/socker/wrapper"
)

func main() {
	wrapper.ScrubEnvironment()
	os.Exit(wrapper.Main(os.Args))
}
