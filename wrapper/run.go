package wrapper

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/errdefs"
	"github.com/docker/docker/pkg/stdcopy"
	"golang.org/x/sys/unix"

	"github.com/sockerhpc/socker/cgroup"
	"github.com/sockerhpc/socker/docs"
	"github.com/sockerhpc/socker/internal/build"
	"github.com/sockerhpc/socker/internal/exitcode"
	"github.com/sockerhpc/socker/security"
)

// setupTimeout bounds the Docker calls that set the container up (inspect,
// create, start, the placement check) and remove it. Attaching to and
// waiting for the container are not bounded: a job may run for days.
const setupTimeout = 2 * time.Minute

// stopSignals are the signals that stop the container and end socker with
// an exit record: every signal whose default action ends a process and that
// the Go runtime lets a program catch (SIGKILL aside: socker gc covers it).
// SIGPIPE is among them: when whoever reads socker's output goes away
// (`socker run ... | head`), the container is stopped, not orphaned.
var stopSignals = []os.Signal{
	syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGPIPE,
	syscall.SIGQUIT, syscall.SIGABRT, syscall.SIGTRAP, syscall.SIGSYS,
	syscall.SIGBUS, syscall.SIGFPE, syscall.SIGSEGV, syscall.SIGILL,
	syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGALRM, syscall.SIGVTALRM,
	syscall.SIGXCPU, syscall.SIGXFSZ, syscall.SIGSTKFLT, syscall.SIGPWR, syscall.SIGIO,
}

// launch carries the state of one `socker run` for the audit records.
type launch struct {
	start  time.Time
	cfg    *security.Config
	audit  *security.AuditLog
	caller security.Caller
	host   string
	req    security.Request
	dec    security.Decision
	image  string // image ID, once known
	cid    string // container ID, once created
	stage  bool   // run: stage the pinned mount sources (pinAndStage)

	callerMounts []security.Mount      // the mounts as the caller gave them, once staged
	bound        []security.BoundMount // what each staged mount binds

	denyGroups map[uint32]string
}

func (l *launch) record(event string) security.Record {
	r := security.Record{
		Event:       event,
		UID:         l.caller.UID,
		GID:         l.caller.GID,
		Groups:      l.caller.Groups,
		User:        l.caller.Name,
		Host:        l.host,
		PID:         os.Getpid(),
		Image:       l.req.Image,
		ImageID:     l.image,
		Command:     l.req.Command,
		Version:     build.Version,
		ContainerID: l.cid,
	}
	if l.dec.Image != "" {
		r.Image = l.dec.Image
		r.Mounts = l.dec.Mounts
		if l.callerMounts != nil {
			r.Mounts, r.Bound = l.callerMounts, l.bound
		}
		r.Cgroup = l.dec.Task.Parent
		r.MesosContainerID = l.dec.Task.ContainerID
	}
	if l.cfg != nil {
		r.ConfigHash = l.cfg.Hash
	}
	return r
}

// failure is one of socker's own failures: its exit status, the audit event
// ("deny" for policy, "error" otherwise), a stable reason code and the
// one-line message for the caller.
type failure struct {
	code          int
	event, reason string
	msg           string
}

func denied(code int, reason, msg string) *failure { return &failure{code, "deny", reason, msg} }

func failed(code int, reason, msg string) *failure { return &failure{code, "error", reason, msg} }

// finish audits f (when the audit log is open) and prints it; it returns the
// exit status.
func (l *launch) finish(f *failure) int {
	msg := f.msg
	if l.audit != nil {
		r := l.record(f.event)
		r.Reason, r.Message = f.reason, f.msg
		if err := l.audit.Write(r); err != nil {
			msg += "; also failed to audit this: " + err.Error()
		}
	}
	return say(f.code, msg)
}

// begin is the privileged start every subcommand that needs the policy
// shares: identity from the kernel, setuid and installation checks, then, as
// root, the config, the audit log and the passwd and group files.
func begin() (*launch, *failure) {
	l := &launch{start: time.Now()}
	caller, setuid, err := security.KernelCaller()
	if err != nil {
		return l, failed(exitcode.Config, "identity", err.Error())
	}
	l.caller = caller
	if !setuid {
		return l, failed(exitcode.Config, "not-setuid", security.SetuidProblem("/proc/self/exe"))
	}
	if err := security.CheckBinary("/proc/self/exe"); err != nil {
		return l, failed(exitcode.Config, "install", err.Error())
	}
	l.host, _ = os.Hostname()
	if l.cfg, err = security.LoadConfig(build.ConfigPath); err != nil {
		return l, failed(exitcode.Config, "config", err.Error())
	}
	if l.audit, err = security.OpenAudit(l.cfg.Audit.Path); err != nil {
		return l, failed(exitcode.Config, "audit", err.Error())
	}
	l.caller.LookupPasswd("/etc/passwd")
	if l.denyGroups, err = security.GroupIDs("/etc/group", l.cfg.Users.DenyGroups); err != nil {
		return l, failed(exitcode.Config, "config", err.Error())
	}
	return l, nil
}

func (l *launch) policy() security.Policy {
	return security.Policy{Config: l.cfg, DenyGroups: l.denyGroups, ConfigPath: build.ConfigPath}
}

// decide parses the arguments of run or explain and applies the pure policy
// to them, the caller and the caller's cgroup.
func (l *launch) decide(unsafeArgs []string, usageLine string) *failure {
	var err error
	if l.req, err = ParseRun(unsafeArgs); err != nil {
		return denied(exitcode.Usage, "usage", err.Error()+" ("+usageLine+")")
	}
	// getcwd(2), not $PWD: the default working directory in the container.
	if cwd, err := unix.Getwd(); err == nil {
		l.req.Cwd = cwd
	}
	mode, err := cgroup.HostMode()
	if err != nil {
		return failed(exitcode.Unavailable, "cgroup-unavailable", err.Error())
	}
	procCgroup, err := cgroup.ReadProc("self")
	if err != nil {
		return failed(exitcode.Unavailable, "cgroup-unavailable", err.Error())
	}
	task, cgErr := cgroup.Parse(procCgroup, mode)
	if cgErr == nil {
		if task.Delegated, err = cgroup.Delegated(cgroup.Root, task, l.caller.UID); err != nil {
			return failed(exitcode.Unavailable, "cgroup-unavailable", err.Error())
		}
	}
	d, denial := security.Decide(l.policy(), l.caller, task, l.req)
	if denial != nil {
		if denial.Reason == "not-in-mesos-cgroup" && cgErr != nil && !errors.Is(cgErr, cgroup.ErrNotMesos) {
			return denied(exitcode.Denied, "cgroup-invalid", "refusing to run: "+cgErr.Error())
		}
		return denied(exitcode.Denied, denial.Reason, denial.Msg)
	}
	l.dec = d
	return nil
}

// connect opens the Docker connections as root, drops root for good, checks
// the caller's mount sources as the caller, and returns a client that can use
// only those connections.
func (l *launch) connect() (*client.Client, func(), *failure) {
	pool, err := dialPool(connBudget)
	if err != nil {
		return nil, nil, failed(exitcode.Unavailable, "docker-unavailable", err.Error())
	}
	// Still root: pin each user mount source as the caller and stage a
	// clone of the pinned object for Docker to bind (see pinAndStage).
	if f := l.pinAndStage(); f != nil {
		pool.close()
		return nil, nil, f
	}
	if err := security.DropPrivileges(l.caller); err != nil {
		pool.close()
		return nil, nil, failed(exitcode.Config, "privilege-drop", err.Error())
	}
	// As the caller from here on.
	cli, err := newClient(pool)
	if err != nil {
		pool.close()
		return nil, nil, failed(exitcode.Unavailable, "docker-unavailable", "creating Docker client: "+err.Error())
	}
	return cli, func() { cli.Close(); pool.close() }, nil
}

// inspectImage resolves the allowed image on this node (never pulling) and
// returns its ID, which pins the container to it.
func (l *launch) inspectImage(ctx context.Context, cli *client.Client, ref string) (string, *failure) {
	img, err := cli.ImageInspect(ctx, ref)
	if errdefs.IsNotFound(err) {
		return "", failed(exitcode.Unavailable, "image-missing", fmt.Sprintf("image %q is allowed but not present on this node (socker never pulls; ask the site admin to load it)", ref))
	}
	if err != nil {
		return "", failed(exitcode.Unavailable, "docker-unavailable", "inspecting image: "+err.Error())
	}
	if strings.HasPrefix(ref, "sha256:") && img.ID != ref {
		return "", denied(exitcode.Denied, "image-not-allowed", fmt.Sprintf("image %q resolved to %s, not to the allowed ID", ref, img.ID))
	}
	return img.ID, nil
}

// prepare is the common start of run and explain: begin, decide, connect
// (staging the mount sources when stage is set: run).
// On failure the launch is still returned, to audit and report it.
func prepare(unsafeArgs []string, usageLine string, stage bool) (*launch, *client.Client, func(), *failure) {
	l, f := begin()
	l.stage = stage
	if f == nil {
		f = l.decide(unsafeArgs, usageLine)
	}
	if f != nil {
		return l, nil, nil, f
	}
	cli, done, f := l.connect()
	return l, cli, done, f
}

// run is `socker run`; sigs receives stopSignals (see Main).
func run(unsafeArgs []string, sigs chan os.Signal) int {
	l, cli, done, f := prepare(unsafeArgs, docs.RunUsage, true)
	if f != nil {
		return l.finish(f)
	}
	defer done()
	return l.runContainer(cli, sigs)
}

// runContainer creates, audits, starts, supervises and removes the container.
func (l *launch) runContainer(cli *client.Client, sigs chan os.Signal) int {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()

	var f *failure
	if l.image, f = l.inspectImage(ctx, cli, l.dec.Image); f != nil {
		return l.finish(f)
	}
	if s, ok := pending(sigs); ok {
		return l.finish(failed(128+int(s), "signalled", "stopped by "+s.String()+" before the container was created"))
	}
	cfg, host := Spec(l.dec, l.image, self())
	created, err := cli.ContainerCreate(ctx, cfg, host, nil, nil, "")
	if err != nil {
		return l.finish(failed(exitcode.Unavailable, "docker-create", "creating container: "+err.Error()))
	}
	l.cid = created.ID
	defer l.remove(cli)

	// Fail closed: nothing starts unless its record is on disk.
	if err := l.audit.Write(l.record("start")); err != nil {
		return say(exitcode.Config, "refusing to start: "+err.Error())
	}

	// Unbounded: they last as long as the container runs.
	waitC, errC := cli.ContainerWait(context.Background(), l.cid, container.WaitConditionNextExit)
	att, err := cli.ContainerAttach(context.Background(), l.cid, container.AttachOptions{Stream: true, Stdin: true, Stdout: true, Stderr: true})
	if err != nil {
		return l.finish(failed(exitcode.Unavailable, "docker-attach", "attaching to container: "+err.Error()))
	}
	defer att.Close()
	outDone := make(chan struct{})
	go func() {
		// Once a reader is gone the output is drained, not left to block
		// the container; the SIGPIPE stops it.
		stdcopy.StdCopy(&drainOnError{w: os.Stdout}, &drainOnError{w: os.Stderr}, att.Reader)
		close(outDone)
	}()
	go func() {
		io.Copy(att.Conn, os.Stdin)
		att.CloseWrite()
	}()

	if s, ok := pending(sigs); ok {
		return l.finish(failed(128+int(s), "signalled", "stopped by "+s.String()+" before the container started"))
	}
	if err := cli.ContainerStart(ctx, l.cid, container.StartOptions{}); err != nil {
		return l.finish(failed(exitcode.Unavailable, "docker-start", "starting container: "+err.Error()))
	}
	initPID, verified, err := verifyPlacement(ctx, cli, l.cid, l.dec.Task)
	var escaped *escapeError
	switch {
	case errors.As(err, &escaped):
		cli.ContainerKill(context.Background(), l.cid, "KILL")
		return l.finish(failed(exitcode.Unavailable, "cgroup-escape", "container is not inside the Mesos task cgroup, killed it: "+err.Error()))
	case err != nil:
		cli.ContainerKill(context.Background(), l.cid, "KILL")
		return l.finish(failed(exitcode.Unavailable, "cgroup-unverifiable", "could not check that the container is inside the Mesos task cgroup, killed it: "+err.Error()))
	}

	status, err := l.supervise(cli, initPID, waitC, errC, sigs)
	if err != nil {
		return l.finish(failed(exitcode.Unavailable, "docker-wait", "waiting for container: "+err.Error()))
	}
	select {
	case <-outDone:
	case <-time.After(10 * time.Second):
	}
	r := l.record("exit")
	r.ExitStatus = &status
	r.CgroupVerified = &verified
	ms := time.Since(l.start).Milliseconds()
	r.DurationMS = &ms
	if err := l.audit.Write(r); err != nil {
		say(status, err.Error())
	}
	return status
}

// supervise waits for the container to exit. The first of stopSignals stops it: SIGTERM (see terminate), then SIGKILL after the configured
// grace period; a second signal kills it at once. initPID is the container's
// init as verifyPlacement saw it (0 if unknown).
func (l *launch) supervise(cli *client.Client, initPID int, waitC <-chan container.WaitResponse, errC <-chan error, sigs chan os.Signal) (int, error) {
	stopping := false
	var killTimer <-chan time.Time
	kill := func() { go cli.ContainerKill(context.Background(), l.cid, "KILL") }
	for {
		select {
		case res := <-waitC:
			if res.Error != nil && res.Error.Message != "" {
				return 0, errors.New(res.Error.Message)
			}
			if res.StatusCode < 0 || res.StatusCode > 255 {
				return 255, nil
			}
			return int(res.StatusCode), nil
		case err := <-errC:
			return 0, err
		case <-killTimer:
			kill()
		case <-sigs:
			if stopping {
				kill()
				continue
			}
			stopping = true
			grace := time.Duration(l.cfg.Container.StopGraceSeconds) * time.Second
			killTimer = time.After(grace)
			go l.terminate(cli, initPID, time.Now().Add(grace))
		}
	}
}

// terminate sends the container SIGTERM once its init can pass it on. The
// init is docker-init (tini), which blocks the signals it forwards and only
// then starts the command; until then a SIGTERM from outside the container's
// pid namespace is dropped by the kernel (a namespace init without a handler
// ignores it) or kills runc's own init, so a `docker stop` right after start
// can be lost. terminate waits until the init has a child (or is gone), up to
// the deadline. (/proc/<pid>/status cannot tell: while tini sleeps in
// sigtimedwait its blocked set shows empty.)
func (l *launch) terminate(cli *client.Client, initPID int, deadline time.Time) {
	for initPID > 0 && !forwarding(initPID) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cli.ContainerKill(context.Background(), l.cid, "TERM")
}

// forwarding reports whether the container init pid has started its child
// (so it forwards signals), or is gone.
func forwarding(pid int) bool {
	p := strconv.Itoa(pid)
	data, err := os.ReadFile("/proc/" + p + "/task/" + p + "/children")
	return err != nil || len(bytes.TrimSpace(data)) > 0
}

// remove deletes the container whatever happened.
func (l *launch) remove(cli *client.Client) {
	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	// With its anonymous volumes (an image's VOLUME): no user data stays behind.
	if err := cli.ContainerRemove(ctx, l.cid, container.RemoveOptions{Force: true, RemoveVolumes: true}); err != nil && !errdefs.IsNotFound(err) {
		say(0, "removing container "+l.cid+": "+err.Error())
	}
}

// verifyPlacement returns the container's init pid and checks that it is beneath the
// Mesos task cgroup. It pins the process with a pidfd, reads
// /proc/<pid>/cgroup, then reads /proc/<pid>/stat and checks the pidfd still
// names a process: if so, the pid was not recycled, and if that process had
// not begun to exit (PF_EXITING is set before an exiting task leaves its v1
// cgroups and is never cleared), the cgroup text read was its own. A container
// that exited before it could be checked is reported as not verified
// (false, nil): it has nothing left to kill, and runc placed it at start.
func verifyPlacement(ctx context.Context, cli *client.Client, id string, task cgroup.Task) (int, bool, error) {
	ins, err := cli.ContainerInspect(ctx, id)
	if err != nil {
		return 0, false, err
	}
	if ins.State == nil || !ins.State.Running || ins.State.Pid <= 0 {
		return 0, false, nil
	}
	p := ins.State.Pid
	pid := strconv.Itoa(ins.State.Pid)
	pidfd, err := unix.PidfdOpen(ins.State.Pid, 0)
	if errors.Is(err, unix.ESRCH) {
		return p, false, nil
	}
	if err != nil {
		return p, false, fmt.Errorf("pidfd_open %s: %w", pid, err)
	}
	defer unix.Close(pidfd)
	data, readErr := cgroup.ReadProc(pid)
	exiting, statErr := exitingProc(pid)
	if err := unix.PidfdSendSignal(pidfd, 0, nil, 0); errors.Is(err, unix.ESRCH) || exiting {
		return p, false, nil
	}
	if readErr != nil {
		return p, false, readErr
	}
	if statErr != nil {
		return p, false, statErr
	}
	if err := cgroup.Beneath(task, data); err != nil {
		return p, false, &escapeError{err}
	}
	return p, true, nil
}

// escapeError is verifyPlacement's finding that the container is outside the
// task cgroup; its other errors mean it could not look.
type escapeError struct{ err error }

func (e *escapeError) Error() string { return e.err.Error() }

// drainOnError passes writes to w until one fails (the reader is gone), then
// accepts and drops everything.
type drainOnError struct {
	w      io.Writer
	failed bool
}

func (d *drainOnError) Write(p []byte) (int, error) {
	if !d.failed {
		if _, err := d.w.Write(p); err != nil {
			d.failed = true
		}
	}
	return len(p), nil
}

// exitingProc reports whether process pid has begun to exit (PF_EXITING in
// /proc/<pid>/stat, or a zombie or dead state).
func exitingProc(pid string) (bool, error) {
	f, err := procStat(pid)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, unix.ESRCH) {
		return true, nil
	}
	if err != nil {
		return false, err
	}
	const pfExiting = 0x4
	flags, err := strconv.ParseUint(f[statFlags], 10, 64)
	if err != nil {
		return false, fmt.Errorf("malformed /proc/%s/stat", pid)
	}
	return f[statState] == "Z" || f[statState] == "X" || flags&pfExiting != 0, nil
}

// Indexes into procStat's fields (proc(5): state is field 3, flags 9,
// starttime 22).
const (
	statState     = 0
	statFlags     = 6
	statStartTime = 19
)

// procStat returns the fields of /proc/<pid>/stat after the command name,
// which may itself contain ") ".
func procStat(pid string) ([]string, error) {
	data, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return nil, err
	}
	i := bytes.LastIndexByte(data, ')')
	if i < 0 {
		return nil, fmt.Errorf("malformed /proc/%s/stat", pid)
	}
	f := strings.Fields(string(data[i+1:]))
	if len(f) <= statStartTime {
		return nil, fmt.Errorf("malformed /proc/%s/stat", pid)
	}
	return f, nil
}

// self identifies this wrapper process for socker gc (see Wrapper).
func self() Wrapper {
	w := Wrapper{PID: os.Getpid()}
	if f, err := procStat("self"); err == nil {
		w.Start = f[statStartTime]
	}
	w.PidNS, _ = os.Readlink("/proc/self/ns/pid")
	return w
}

func pending(sigs chan os.Signal) (syscall.Signal, bool) {
	select {
	case s := <-sigs:
		return s.(syscall.Signal), true
	default:
		return 0, false
	}
}

// pinAndStage, as root before the privilege drop, opens and checks every
// user mount source as the caller (security.PinSources, on a thread of its
// own with the caller's file-system identity). For run (l.stage) it then
// clones each pinned object into a root-only staging directory (stage) and
// points the decision's user mounts at the clones: Docker binds the very
// objects checked, whatever the paths name by then. explain checks but
// stages nothing. On any failure nothing stays staged. The staging
// directory outlives this process's privileges; socker gc removes it once
// the wrapper is gone.
func (l *launch) pinAndStage() *failure {
	pins, dn := security.PinSources(l.caller, l.dec)
	if dn != nil {
		return denied(exitcode.Denied, dn.Reason, dn.Msg)
	}
	defer security.ClosePinned(pins)
	if len(pins) == 0 || !l.stage {
		return nil
	}
	s, paths, err := stage(self(), pins, l.dec.Mounts)
	if err != nil {
		return failed(exitcode.Unavailable, "mount-staging", err.Error())
	}
	unix.Close(s.dirfd)
	l.callerMounts = l.dec.Mounts
	mounts := append([]security.Mount(nil), l.dec.Mounts...)
	for _, p := range pins {
		l.bound = append(l.bound, security.BoundMount{Mount: p.Index, Staged: paths[p.Index], Dev: p.Dev, Ino: p.Ino})
		mounts[p.Index].Source = paths[p.Index]
	}
	l.dec.Mounts = mounts
	return nil
}
