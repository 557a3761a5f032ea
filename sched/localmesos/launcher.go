package localmesos

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
)

// LaunchSpec is what an agent hands its Launcher for one command task.
type LaunchSpec struct {
	TaskID, FrameworkID, AgentID string
	ContainerID                  string // a UUID: the cgroup is mesos/<ContainerID>
	User                         string // CommandInfo.user, else FrameworkInfo.user
	// SubscriberUID is the uid whose connection subscribed the framework
	// (access.go): unless it is root, the task runs only as that uid.
	SubscriberUID uint32
	Command       mesos.CommandInfo
	CPUs, MemMB   float64 // the task's resources
	Sandbox       string  // to create, owned by User; the task's cwd
	Env           []string
}

// Launcher starts the processes of command tasks. The master and agents
// only call it; tests swap in a fake so that none of them needs root.
type Launcher interface {
	// Launch prepares the sandbox and starts the task. A *SandboxError
	// means the task never started and is lost; other errors are launch
	// failures.
	Launch(spec LaunchSpec) (Process, error)
}

// Process is a started task.
type Process interface {
	Pid() int
	// Signal signals every process of the task: its process group, and for
	// SIGKILL its whole cgroup.
	Signal(sig syscall.Signal) error
	// Wait waits for the task's command to end, then kills whatever it left
	// behind and removes its cgroup.
	Wait() (syscall.WaitStatus, error)
}

// SandboxError is an agent's failure to prepare a task (its user does not
// exist, ...). The task is reported TASK_LOST from SOURCE_AGENT with
// REASON_EXECUTOR_TERMINATED and this message, as a Mesos agent does.
type SandboxError struct{ Message string }

func (e *SandboxError) Error() string { return e.Message }

// ExecLauncher runs command tasks as a Mesos agent with --switch_user and
// --isolation=cgroups/cpu,cgroups/mem does. Run as root, it runs each task
// as its user (that user's primary and supplementary groups, no other
// privilege), in a new process group, inside a fresh cgroup mesos/<id>
// created by root before the command runs, whose directory (not its control
// files) it chowns to the task's user in every hierarchy it isolates, as the
// agent's cgroups isolator does. Run as another user it can only run tasks
// as that same user: in a cgroup beneath DelegatedParent(uid) if root
// delegated one (Delegate), a layout a real agent never makes, else without
// a cgroup.
//
// Run as root, it also gives each task its own mount and pid namespaces, as
// an agent with --isolation=filesystem/linux,namespaces/pid does: the
// task's first process is the task init (taskinit.go), which runs the
// command beneath it with a /proc of its own, unless HostNamespaces. (The
// pid namespace only on Linux >= 6.11: see pidNamespaces.)
type ExecLauncher struct {
	// AllowRoot lets tasks run as root.
	AllowRoot bool
	// HostNamespaces runs tasks in this process's mount and pid
	// namespaces, as an agent without filesystem/linux and namespaces/pid.
	HostNamespaces bool
}

// trampoline waits on fd 3 until the agent has put it in the task's cgroup,
// then becomes the task's command.
const trampoline = `IFS= read -r go <&3; exec 3<&-; [ "$go" = go ] || exit 125; exec "$@"`

// Launch implements Launcher.
func (l *ExecLauncher) Launch(spec LaunchSpec) (Process, error) {
	cred, err := TaskCredential(spec, l.AllowRoot)
	if err != nil {
		return nil, err
	}
	stdout, stderr, err := makeSandbox(spec.Sandbox, int(cred.Uid), int(cred.Gid))
	if err != nil {
		return nil, &SandboxError{fmt.Sprintf("Failed to create executor directory '%s': %v", spec.Sandbox, err)}
	}
	defer stdout.Close()
	defer stderr.Close()
	cmd := func(name string, args ...string) *exec.Cmd {
		c := exec.Command(name, args...)
		c.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		c.Dir, c.Env, c.Stdout, c.Stderr = spec.Sandbox, spec.Env, stdout, stderr
		return c
	}
	argv := taskArgv(&spec.Command)
	parent := "/mesos"
	if os.Geteuid() != 0 { // our own user's task: no switch
		cred = nil
		if parent = delegatedTo(os.Geteuid()); parent == "" { // and no cgroup
			p := &execProcess{cmd: cmd(argv[0], argv[1:]...)}
			if err := p.cmd.Start(); err != nil {
				return nil, err
			}
			return p, nil
		}
	}
	cg, err := newTaskCgroup(parent, spec.ContainerID, spec.CPUs, spec.MemMB)
	if err != nil {
		return nil, fmt.Errorf("creating cgroup %s/%s: %w", parent, spec.ContainerID, err)
	}
	p := &execProcess{cg: cg, cmd: cmd("/bin/sh", append([]string{"-c", trampoline, "sh"}, argv...)...)}
	p.cmd.SysProcAttr.Credential = cred
	if cred != nil && !l.HostNamespaces {
		// The task init, as root, is the new namespaces' first process.
		p.cmd = cmd("/proc/self/exe")
		pidNS := pidNamespaces()
		p.cmd.Args = taskInitArgs(cred, pidNS, argv)
		p.cmd.SysProcAttr.Cloneflags = syscall.CLONE_NEWNS
		if pidNS {
			p.cmd.SysProcAttr.Cloneflags |= syscall.CLONE_NEWPID
		}
		p.namespaced = true
	}
	if err := p.startInCgroup(cred); err != nil {
		cg.destroy()
		return nil, err
	}
	return p, nil
}

// taskArgv is a command task's argv. shell: /bin/sh -c value; else value
// is the executable and arguments its argv (argv[0] becomes value: the
// trampoline cannot set it).
func taskArgv(c *mesos.CommandInfo) []string {
	if c.GetShell() {
		return []string{"/bin/sh", "-c", c.GetValue()}
	}
	argv := []string{c.GetValue()}
	if len(c.Arguments) > 1 {
		argv = append(argv, c.Arguments[1:]...)
	}
	return argv
}

// startInCgroup starts p's trampoline, which runs as the task's user (cred;
// nil: ours), or the task init (p.namespaced), in its own process group, and
// lets it run the command once it has been moved into p's cgroup. With
// --switch_user the task's user gets its cgroup directories first. The
// caller destroys the cgroup on an error.
func (p *execProcess) startInCgroup(cred *syscall.Credential) error {
	if cred != nil {
		if err := p.cg.chown(int(cred.Uid), int(cred.Gid)); err != nil {
			return err
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	p.cmd.ExtraFiles = []*os.File{r} // the trampoline's fd 3, the init's initCtlFD
	var statusW *os.File
	if p.namespaced {
		if p.status, statusW, err = os.Pipe(); err != nil {
			r.Close()
			w.Close()
			return err
		}
		p.cmd.ExtraFiles = append(p.cmd.ExtraFiles, statusW) // initStatusFD
	}
	err = p.cmd.Start()
	r.Close()
	if statusW != nil {
		statusW.Close()
	}
	if err == nil {
		if err = p.cg.add(p.cmd.Process.Pid); err == nil {
			_, err = w.Write([]byte("go\n"))
		}
		if err != nil {
			p.cmd.Process.Kill()
			p.cmd.Wait()
		}
	}
	if err != nil || !p.namespaced {
		w.Close()
		if p.status != nil {
			p.status.Close()
		}
		return err
	}
	// The init keeps the control pipe for the agent's signals, and says
	// when it runs as the task's user (or ends: then Wait reports why).
	p.ctl, p.report = w, bufio.NewReader(p.status)
	p.report.ReadString('\n')
	return nil
}

// TaskCredential resolves the user a task runs as, with the checks of an
// agent with --switch_user: the user must exist (else the agent's "No such
// user" error), be root only if allowRoot, be this process's own user
// unless this process is root, and be the uid that subscribed the
// framework unless root did (access.go).
func TaskCredential(spec LaunchSpec, allowRoot bool) (*syscall.Credential, error) {
	dirErr := func(format string, args ...any) error {
		return &SandboxError{fmt.Sprintf("Failed to create executor directory '%s': ", spec.Sandbox) + fmt.Sprintf(format, args...)}
	}
	u, err := user.Lookup(spec.User)
	if err != nil {
		return nil, dirErr("Failed to chown directory to '%s': No such user '%s'", spec.User, spec.User)
	}
	cred, err := credential(u)
	if err != nil {
		return nil, dirErr("Failed to chown directory to '%s': %v", spec.User, err)
	}
	switch {
	case cred.Uid == 0 && !allowRoot:
		return nil, &SandboxError{"Refusing to run a task as root (localmesos Config.AllowRoot is false)"}
	case os.Geteuid() != 0 && int(cred.Uid) != os.Geteuid():
		return nil, dirErr("Failed to chown directory to '%s': Operation not permitted", spec.User)
	case spec.SubscriberUID != 0 && cred.Uid != spec.SubscriberUID:
		return nil, &SandboxError{fmt.Sprintf("Refusing to run a task as '%s' (uid %d): its framework was subscribed by uid %d", spec.User, cred.Uid, spec.SubscriberUID)}
	}
	return cred, nil
}

// credential is the user's uid, gid and groups as initgroups(3) sets them.
func credential(u *user.User) (*syscall.Credential, error) {
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	ids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("reading the groups of %s: %w", u.Username, err)
	}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}
	for _, id := range ids {
		g, err := strconv.ParseUint(id, 10, 32)
		if err != nil {
			return nil, err
		}
		cred.Groups = append(cred.Groups, uint32(g))
	}
	return cred, nil
}

// makeSandbox creates the sandbox (0750, owned by the task's user) with its
// stdout and stderr files; the directories above it stay root's and
// traversable.
func makeSandbox(dir string, uid, gid int) (stdout, stderr *os.File, err error) {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return nil, nil, err
	}
	if err := os.Mkdir(dir, 0o750); err != nil {
		return nil, nil, err
	}
	if err := os.Chown(dir, uid, gid); err != nil {
		os.Remove(dir)
		return nil, nil, fmt.Errorf("Failed to chown directory: %w", err)
	}
	open := func(name string) (*os.File, error) {
		f, err := os.OpenFile(filepath.Join(dir, name), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err == nil {
			err = f.Chown(uid, gid)
		}
		return f, err
	}
	if stdout, err = open("stdout"); err != nil {
		return nil, nil, err
	}
	if stderr, err = open("stderr"); err != nil {
		stdout.Close()
		return nil, nil, err
	}
	return stdout, stderr, nil
}

type execProcess struct {
	cmd *exec.Cmd
	cg  *taskCgroup // nil when not running as root
	// namespaced: cmd is the task init (taskinit.go), which takes signals
	// on ctl and reports the command's wait status on status (report).
	namespaced bool
	ctl        *os.File
	status     *os.File
	report     *bufio.Reader
	ctlMu      sync.Mutex
}

func (p *execProcess) Pid() int { return p.cmd.Process.Pid }

func (p *execProcess) Signal(sig syscall.Signal) error {
	if p.namespaced && sig != syscall.SIGKILL {
		// Through the init (see initCtlFD); SIGKILL reaches it, and
		// so ends the namespace, from here.
		p.ctlMu.Lock()
		defer p.ctlMu.Unlock()
		if p.ctl == nil {
			return os.ErrClosed
		}
		_, err := fmt.Fprintf(p.ctl, "%d\n", int(sig))
		return err
	}
	err := syscall.Kill(-p.cmd.Process.Pid, sig)
	if sig == syscall.SIGKILL && p.cg != nil {
		p.cg.kill()
	}
	return err
}

func (p *execProcess) Wait() (syscall.WaitStatus, error) {
	err := p.cmd.Wait()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		return 0, err
	}
	// The task ends with its command, as under the command executor.
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	if p.cg != nil {
		if err := p.cg.destroy(); err != nil {
			log.Printf("localmesos: %v", err) // the task's status stands
		}
	}
	ws := p.cmd.ProcessState.Sys().(syscall.WaitStatus)
	if p.namespaced {
		// The command's status, if the init lived to report it (not if it
		// was killed, or could not run the command: then its own).
		p.ctlMu.Lock()
		p.ctl.Close()
		p.ctl = nil
		p.ctlMu.Unlock()
		b, _ := io.ReadAll(p.report)
		p.status.Close()
		if n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32); err == nil {
			ws = syscall.WaitStatus(n)
		}
	}
	return ws, nil
}
