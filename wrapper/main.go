package wrapper

// Step 0: Main. Privileges: setuid root, all of it, from the first line;
// nothing is read from the caller here but the command's name.

import (
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/earlysignals"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// Main runs socker with the given argv and returns the exit status. It is
// the whole program: cmd/socker only calls os.Exit(Main(os.Args)).
func Main(argv []string) int {
	// Caught since package initialisation (internal/earlysignals; those
	// that arrived since are queued there), so that no signal ends socker
	// with Go runtime text: run stops its container on them; any other
	// command ends with one line. (Notify is a no-op for those caught
	// already: earlysignals.Caught is stopSignals.)
	sigs := earlysignals.Stop
	signal.Notify(sigs, stopSignals...)
	if err := security.Harden(); err != nil {
		return say(exitcode.Config, err.Error())
	}
	if len(argv) < 2 || argv[1] != "run" {
		go func() {
			os.Exit(StoppedBy(<-sigs))
		}()
	}
	if len(argv) < 2 {
		return say(exitcode.Usage, "no command given (try: socker help)")
	}
	switch argv[1] {
	case "run":
		return run(argv[2:], sigs)
	case "explain":
		return explain(argv[2:])
	case "images":
		return images(argv[2:])
	case "gc":
		return gc(argv[2:])
	case "doctor":
		return doctor(argv[2:])
	case "version", "--version":
		fmt.Println("socker", build.Version)
		return 0
	case "help", "--help", "-h":
		return help(argv[2:])
	}
	return say(exitcode.Usage, fmt.Sprintf("unknown command %q (try: socker help)", argv[1]))
}

// StoppedBy ends a command other than run on signal s: one line, and the
// status 128+s to exit with.
func StoppedBy(s os.Signal) int {
	n := s.(syscall.Signal)
	return say(128+int(n), "stopped by "+n.String())
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

// help is `socker help [config]`: the text rendering of socker(8), or of
// socker.toml(5).
func help(unsafeArgs []string) int {
	switch {
	case len(unsafeArgs) == 0:
		fmt.Print(docs.Socker(build.ConfigPath).Text())
	case len(unsafeArgs) == 1 && unsafeArgs[0] == "config":
		fmt.Print(docs.SockerConfig(build.ConfigPath).Text())
	default:
		return say(exitcode.Usage, "socker help takes no argument but config")
	}
	return 0
}
