package localmesos

import (
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// fakeLauncher plays the commands of the captures without running them:
// "sleep" runs until signalled (a shell that traps TERM ignores SIGTERM), "exit N"
// exits N, anything else exits 0. Users are checked as the real launcher
// does (TaskCredential), root allowed, so no test here needs root.
type fakeLauncher struct {
	mu       sync.Mutex
	procs    map[string]*fakeProc // by task id
	launched chan *fakeProc
	nextPid  int
}

func newFakeLauncher() *fakeLauncher {
	return &fakeLauncher{procs: map[string]*fakeProc{}, launched: make(chan *fakeProc, 100), nextPid: 1000}
}

type fakeProc struct {
	spec       LaunchSpec
	pid        int
	ignoreTERM bool
	mu         sync.Mutex
	signals    []syscall.Signal
	exit       chan syscall.WaitStatus
}

func (l *fakeLauncher) Launch(spec LaunchSpec) (Process, error) {
	if spec.User != "barsuser" { // the captures' user, who need not exist here
		if _, err := TaskCredential(spec, true); err != nil && !strings.Contains(err.Error(), "Operation not permitted") {
			return nil, err
		}
	}
	l.mu.Lock()
	l.nextPid++
	p := &fakeProc{spec: spec, pid: l.nextPid, exit: make(chan syscall.WaitStatus, 1)}
	l.procs[spec.TaskID] = p
	l.mu.Unlock()
	cmd := spec.Command.GetValue()
	p.ignoreTERM = strings.Contains(cmd, "trap '' TERM")
	switch {
	case strings.Contains(cmd, "sleep"):
	case strings.Contains(cmd, "exit "):
		var code int
		for _, f := range strings.Fields(strings.ReplaceAll(cmd, ";", " ")) {
			if n, err := parseInt(f); err == nil {
				code = n
			}
		}
		p.finish(code)
	default:
		p.finish(0)
	}
	l.launched <- p
	return p, nil
}

func parseInt(s string) (int, error) {
	n := 0
	if s == "" {
		return 0, syscall.EINVAL
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return 0, syscall.EINVAL
		}
		n = n*10 + int(c-'0')
	}
	return n, nil
}

// proc waits for the launch of a task.
func (l *fakeLauncher) proc(t *testing.T, taskID string) *fakeProc {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		p := l.procs[taskID]
		l.mu.Unlock()
		if p != nil {
			return p
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("task %s was never launched", taskID)
	return nil
}

func (p *fakeProc) Pid() int { return p.pid }

// finish ends the command with an exit code.
func (p *fakeProc) finish(code int) {
	select {
	case p.exit <- syscall.WaitStatus(code << 8):
	default:
	}
}

func (p *fakeProc) Signal(sig syscall.Signal) error {
	p.mu.Lock()
	p.signals = append(p.signals, sig)
	p.mu.Unlock()
	if sig == syscall.SIGKILL || sig == syscall.SIGTERM && !p.ignoreTERM {
		select {
		case p.exit <- syscall.WaitStatus(sig):
		default:
		}
	}
	return nil
}

func (p *fakeProc) Signals() []syscall.Signal {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]syscall.Signal(nil), p.signals...)
}

func (p *fakeProc) Wait() (syscall.WaitStatus, error) { return <-p.exit, nil }
