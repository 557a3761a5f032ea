package localmesos

// The task init: what an agent with --isolation=filesystem/linux,
// namespaces/pid gives a task. ExecLauncher, run as root, starts it in a new
// mount and pid namespace (the pid namespace on Linux >= 6.11 only: see
// pidNamespaces) as their first process, by re-executing this
// binary under the name taskInitName (as the Mesos containerizer's `launch`
// helper is a container's first process, with the command executor beneath
// it). It makes the host's mounts slaves in the new namespace (nothing the
// task mounts reaches the host, as filesystem/linux), mounts a /proc of the
// new pid namespace (as namespaces/pid), waits until the agent has put it
// in the task's cgroup as the task's user, runs the task's command, reaps
// every orphan of the namespace, and reports the command's wait status to
// the agent. When it exits the kernel kills what is left in the namespace:
// the task ends with its command.
//
// What belongs here: that process, and nothing the agent itself runs.

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// taskInitName is the init's argv[0]: a binary that links this package
// becomes the init when started under that name (this package's
// initialiser).
const taskInitName = "localmesos-task-init"

// The init's file descriptors beyond 0-2. initCtlFD is the agent's
// control pipe: "go" once the agent has put the init in the task's cgroup,
// then one signal number per line for the task (the agent's kill: the init
// sends it to its process group, as the command executor signals its task;
// a signal sent from outside would reach a namespace's first process only
// through a handler, and none runs yet while it starts). On initStatusFD the
// init writes "ready" once it runs as the task's user and is about to run
// the command, then the command's wait status.
const (
	initCtlFD    = 3
	initStatusFD = 4
)

func init() {
	if len(os.Args) > 1 && os.Args[0] == taskInitName && (os.Args[1] == "pidns" || os.Args[1] == "hostpid") {
		os.Exit(taskInit(os.Args[2:], os.Args[1] == "pidns"))
	}
}

// taskInitArgs is the init's argv for a command argv run as cred, in a
// pid namespace of its own if pidNS.
func taskInitArgs(cred *syscall.Credential, pidNS bool, argv []string) []string {
	groups := make([]string, len(cred.Groups))
	for i, g := range cred.Groups {
		groups[i] = strconv.FormatUint(uint64(g), 10)
	}
	ns := "hostpid"
	if pidNS {
		ns = "pidns"
	}
	return append([]string{taskInitName, ns, strconv.FormatUint(uint64(cred.Uid), 10),
		strconv.FormatUint(uint64(cred.Gid), 10), strings.Join(groups, ","), "--"}, argv...)
}

// pidNamespaces reports whether tasks get a pid namespace of their own:
// on Linux >= 6.11 only, where socker, inside one, can still find the
// Docker daemon's mount namespace (PIDFD_GET_MNT_NAMESPACE; SECURITY.md,
// "Minimum versions"). Before, it refuses to run there, so a local Mesos
// whose tasks run socker keeps them in its pid namespace, as an agent
// without namespaces/pid.
func pidNamespaces() bool {
	var u unix.Utsname
	return unix.Uname(&u) == nil && releaseAtLeast(unix.ByteSliceToString(u.Release[:]), 6, 11)
}

// releaseAtLeast reports whether a kernel release ("6.1.0-57-amd64")
// is major.minor or later; one it cannot read is not.
func releaseAtLeast(release string, major, minor int) bool {
	var ma, mi int
	if n, _ := fmt.Sscanf(release, "%d.%d", &ma, &mi); n != 2 {
		return false
	}
	return ma > major || ma == major && mi >= minor
}

// taskInit is the init's whole life (args: uid gid groups -- argv; pidNS:
// it is the first process of a new pid namespace); it
// returns the init's exit status when it could not run the command (its
// reason on stderr, the sandbox's), 0 once it has reported the command's
// status.
func taskInit(args []string, pidNS bool) int {
	fail := func(code int, format string, a ...any) int {
		fmt.Fprintf(os.Stderr, "localmesos task init: "+format+"\n", a...)
		return code
	}
	if len(args) < 5 || args[3] != "--" {
		return fail(125, "usage: %s UID GID GROUPS -- COMMAND...", taskInitName)
	}
	cred, err := parseCredential(args[0], args[1], args[2])
	if err != nil {
		return fail(125, "%v", err)
	}
	argv := args[4:]
	// The init must not end by a signal but the agent's SIGKILL (which
	// ends the namespace): it swallows every one it can, those it relays
	// to its own process group among them.
	signal.Notify(make(chan os.Signal, 1))
	ctl := bufio.NewReader(os.NewFile(initCtlFD, "control"))
	status := os.NewFile(initStatusFD, "status")
	syscall.CloseOnExec(initCtlFD)
	syscall.CloseOnExec(initStatusFD)
	if err := unix.Mount("", "/", "", unix.MS_REC|unix.MS_SLAVE, ""); err != nil {
		return fail(125, "making the host's mounts slaves: %v", err)
	}
	if pidNS {
		if err := unix.Mount("proc", "/proc", "proc", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, ""); err != nil {
			return fail(125, "mounting the task's /proc: %v", err)
		}
	}
	// From here on the task's user, as the executor a Mesos agent starts
	// beneath its launch helper (and the agent's executor pid names).
	if err := dropTo(cred); err != nil {
		return fail(125, "switching to uid %d: %v", cred.Uid, err)
	}
	if line, _ := ctl.ReadString('\n'); line != "go\n" {
		return 125 // the agent gave up on the task
	}
	fmt.Fprint(status, "ready\n")
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fail(127, "%s: %v", argv[0], err)
	}
	pid, err := syscall.ForkExec(path, argv, &syscall.ProcAttr{
		Env:   os.Environ(),
		Files: []uintptr{0, 1, 2},
	})
	if err != nil {
		return fail(126, "%s: %v", argv[0], err)
	}
	go relaySignals(ctl)
	for {
		var ws syscall.WaitStatus
		wpid, err := syscall.Wait4(-1, &ws, 0, nil)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return fail(125, "waiting for the command: %v", err)
		}
		if wpid == pid {
			fmt.Fprintf(status, "%d\n", uint32(ws))
			return 0
		}
	}
}

// relaySignals sends each signal the agent writes on ctl to the init's
// process group (the command and whatever stayed in its group) until the
// agent closes it.
func relaySignals(ctl *bufio.Reader) {
	for {
		line, err := ctl.ReadString('\n')
		if err != nil {
			return
		}
		if n, err := strconv.Atoi(strings.TrimSpace(line)); err == nil && n > 0 && n < 65 {
			syscall.Kill(0, syscall.Signal(n))
		}
	}
}

// dropTo makes this process cred's, every thread of it.
func dropTo(cred *syscall.Credential) error {
	groups := make([]int, len(cred.Groups))
	for i, g := range cred.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return err
	}
	if err := syscall.Setgid(int(cred.Gid)); err != nil {
		return err
	}
	return syscall.Setuid(int(cred.Uid))
}

// parseCredential reads the init's uid, gid and comma-separated groups.
func parseCredential(uid, gid, groups string) (*syscall.Credential, error) {
	num := func(s string) (uint32, error) {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			return 0, fmt.Errorf("bad id %q", s)
		}
		return uint32(n), nil
	}
	cred := &syscall.Credential{Groups: []uint32{}}
	var err error
	if cred.Uid, err = num(uid); err != nil {
		return nil, err
	}
	if cred.Gid, err = num(gid); err != nil {
		return nil, err
	}
	if groups != "" {
		for _, g := range strings.Split(groups, ",") {
			n, err := num(g)
			if err != nil {
				return nil, err
			}
			cred.Groups = append(cred.Groups, n)
		}
	}
	return cred, nil
}
