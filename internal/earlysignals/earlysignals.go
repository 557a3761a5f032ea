package earlysignals

import (
	"os"
	"os/signal"
	"syscall"
	"unsafe"
)

// Caught are the signals whose default action would end socker, the ones a
// program can catch: every signal but SIGKILL and SIGSTOP whose default is
// to terminate once Go has installed its handlers (silently, with Go
// runtime text) or that the Go runtime would ignore but the kernel's
// default would not. They are wrapper.stopSignals, in the order that
// closes the worst window first: Notify takes microseconds for the first
// row (the runtime handles them already), tens of microseconds each for
// the rest (a round trip to the runtime's signal thread).
//
// Not among them, so harmless as before: SIGCHLD, SIGWINCH, SIGURG (the Go
// runtime's preemption), SIGCONT; SIGPROF (the runtime's; Notify cannot
// catch it and a stray one does nothing); SIGTSTP, SIGTTIN, SIGTTOU (they
// stop socker until SIGCONT); the real-time signals 33 to 64 (the runtime
// ignores them, or uses 33 itself).
var Caught = []os.Signal{
	// By default Go runtime text ("SIGSYS: bad system call", PC=...), exit 2.
	syscall.SIGILL, syscall.SIGTRAP, syscall.SIGBUS, syscall.SIGFPE,
	syscall.SIGSEGV, syscall.SIGSTKFLT, syscall.SIGSYS,
	syscall.SIGQUIT, syscall.SIGABRT,
	// By default a silent death by the signal.
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP,
	// By default ignored by the Go runtime (SIGPIPE but on fds 1 and 2,
	// where it is a silent death).
	syscall.SIGPIPE, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM,
	syscall.SIGVTALRM, syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGPWR, syscall.SIGIO,
}

// Ignored are signals 32 and 34, which Go reserves for a C library and
// therefore neither handles nor lets Notify catch: left at their default
// they would end socker silently at any time. socker links no C; they are
// ignored, which also holds across socker's re-execution (an ignored
// signal stays ignored across execve) and is what a test can see in
// /proc/<pid>/status (SigIgn) once Stop is in place.
var Ignored = []syscall.Signal{32, 34}

// Stop receives Caught from this package's initialiser on. Signals beyond
// its capacity are dropped, but by then one is queued, which is all that
// matters: the first stops socker, a second kills a stopping container.
var Stop = make(chan os.Signal, 4)

func init() {
	signal.Notify(Stop, Caught...)
	for _, s := range Ignored {
		ignore(s)
	}
}

// Handoff ends this process's catching before it re-executes itself, so
// that no signal dies with it: a signal the Go runtime has taken is queued
// in this process's memory, which execve discards. It first leaves Caught
// at the kernel's default (from then on a signal ends this process by its
// default action, as one does in the microseconds before the Go runtime
// installs its handlers), then stops Stop, which returns only once every
// signal the runtime took before is in Stop (os/signal.Stop waits until
// delivery is idle), and returns the first of them, if any. Whoever calls
// it must then end the process or execute another program.
func Handoff() (os.Signal, bool) {
	for _, s := range Caught {
		setDefault(s.(syscall.Signal))
	}
	signal.Stop(Stop)
	select {
	case s := <-Stop:
		return s, true
	default:
		return nil, false
	}
}

// setDefault sets sig to SIG_DFL with rt_sigaction(2) (os/signal.Reset
// would give it back to the Go runtime, which prints its own text for
// SIGSYS and the like).
func setDefault(sig syscall.Signal) { setAction(sig, 0) }

// ignore sets sig to SIG_IGN with rt_sigaction(2) (os/signal.Ignore does
// nothing for a signal the Go runtime does not handle). A failure is not
// reported: it leaves the signal at its default.
func ignore(sig syscall.Signal) { setAction(sig, 1) }

// setAction sets sig's handler to SIG_DFL (0) or SIG_IGN (1).
func setAction(sig syscall.Signal, handler uintptr) {
	var act struct{ handler, flags, restorer, mask uintptr }
	act.handler = handler
	syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&act)), 0, 8, 0, 0)
}
