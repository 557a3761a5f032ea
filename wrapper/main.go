package wrapper

import (
	"fmt"
	"os"
	"strings"

	"github.com/sockerhpc/socker/security"
)

// Set at build time only (go build -ldflags "-X ..."; see the Makefile). No
// flag or environment variable can change them.
var (
	// ConfigPath is the site policy file.
	ConfigPath = "/etc/socker/socker.toml"
	// Version is the socker version, recorded in every audit line.
	Version = "dev"
)

// Exit codes of socker's own failures (sysexits.h). Otherwise socker exits
// with the container's status.
const (
	ExitUsage       = 64 // malformed command line
	ExitUnavailable = 69 // Docker, the image or cgroups unavailable
	ExitSoftware    = 70 // internal error
	ExitDenied      = 77 // refused by policy
	ExitConfig      = 78 // configuration or installation problem
)

const usage = `usage: socker COMMAND [ARG...]

Commands:
  run      run a container as you, inside your Mesos task's cgroup:
           ` + runUsage + `
  explain  print the exact container spec run would send, or why it would
           refuse; starts nothing: socker explain [run options] IMAGE [--] COMMAND...
  images   list the images the site policy lets you run
  doctor   check the installation and print one line per check with the fix
  version  print the version
  help     print this help

Exit status: the container's (128+N if it was killed by signal N), or
64 usage error, 69 Docker/cgroup/image unavailable, 77 denied by policy,
78 configuration or installation problem.`

// Main runs socker with the given argv and returns the exit status. It is
// the whole program: cmd/socker only calls os.Exit(Main(os.Args)).
func Main(argv []string) int {
	if err := security.Harden(); err != nil {
		return say(ExitConfig, err.Error())
	}
	if len(argv) < 2 {
		return say(ExitUsage, "no command given (try: socker help)")
	}
	switch argv[1] {
	case "run":
		return run(argv[2:])
	case "explain":
		return explain(argv[2:])
	case "images":
		return images(argv[2:])
	case "doctor":
		return doctor(argv[2:])
	case "version", "--version":
		fmt.Println("socker", Version)
		return 0
	case "help", "--help", "-h":
		fmt.Println(usage)
		return 0
	}
	return say(ExitUsage, fmt.Sprintf("unknown command %q (try: socker help)", argv[1]))
}

// say prints one "socker: ..." line on stderr and returns code.
func say(code int, msg string) int {
	fmt.Fprintf(os.Stderr, "socker: %s\n", oneLine(msg))
	return code
}

// oneLine keeps a message on one line whatever it quotes.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
}
