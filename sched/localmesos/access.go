package localmesos

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"golang.org/x/sys/unix"
)

// Who may use the master, and how much of it. A local Mesos runs tasks as
// the users it lets subscribe, so whoever can reach it can act as them.
// It therefore has no TCP listener: the master listens on a unix socket
// whose peer the kernel names (SO_PEERCRED), and
//   - run by a user (mrun --master local), the socket is in a 0700
//     directory of that user's and only that uid may connect;
//   - run by root for several users (Config.Shared), any local user may
//     connect, and a framework is the connecting uid's: its
//     framework_info.user must resolve to that uid (root may name anyone;
//     a name no user has subscribes, as on a real master, and its tasks
//     fail), only that uid may make calls for it or fail it over, a task's
//     CommandInfo.user must resolve to it, and the launcher runs a task
//     only as that uid (LaunchSpec.SubscriberUID).
//
// Limits, so that one client cannot exhaust the master: at most
// maxConns connections, maxConnsPerUID of one uid; a request's header
// within maxHeader bytes and, once it has begun, the whole request within
// requestTimeout; a body of at most maxBody bytes; an idle keep-alive
// connection closed after idleTimeout; every response written within
// writeTimeout. At most maxConns*(maxHeader+maxBody) bytes of requests are
// held at once (about 68 MiB; a scheduler call is a few KB).
const (
	maxConns       = 64
	maxConnsPerUID = 16
	maxHeader      = 64 << 10
	maxBody        = 1 << 20
	requestTimeout = 10 * time.Second
	idleTimeout    = 2 * time.Minute
)

// socketName is the master's socket in its directory.
const socketName = "master.sock"

// listen listens on parent/master-*/master.sock, in a new directory of
// mode 0700 (0755 when shared), the socket 0600 (0666 when shared).
func listen(parent string, shared bool) (*net.UnixListener, error) {
	dirMode, sockMode := os.FileMode(0o700), os.FileMode(0o600)
	if shared {
		dirMode, sockMode = 0o755, 0o666
	}
	dir, err := os.MkdirTemp(parent, "master-") // 0700
	if err != nil {
		return nil, fmt.Errorf("making the master's socket directory: %w", err)
	}
	path := filepath.Join(dir, socketName)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("listening on %s: %w", path, err)
	}
	// The directory opens to others only once the socket's mode is set.
	if err := os.Chmod(path, sockMode); err == nil {
		err = os.Chmod(dir, dirMode)
	}
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("setting the master socket's mode: %w", err)
	}
	return ln, nil
}

// peerUID is the uid of the process at the other end of a unix connection,
// as the kernel recorded it at connect(2).
func peerUID(conn net.Conn) (uint32, error) {
	uc, ok := conn.(*net.UnixConn)
	if !ok {
		return 0, errors.New("not a unix connection")
	}
	raw, err := uc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var cred *unix.Ucred
	var serr error
	if err := raw.Control(func(fd uintptr) {
		cred, serr = unix.GetsockoptUcred(int(fd), unix.SOL_SOCKET, unix.SO_PEERCRED)
	}); err != nil {
		return 0, err
	}
	if serr != nil {
		return 0, serr
	}
	return cred.Uid, nil
}

// admission counts open connections, in all and per uid.
type admission struct {
	mu    sync.Mutex
	total int
	byUID map[uint32]int
}

// admit decides whether a connection from uid may be served, for a master
// run by owner; "" admits it (and counts it until release), else the
// refusal and its HTTP status.
func (a *admission) admit(owner, uid uint32, shared bool) (code int, refusal string) {
	if uid != owner && !shared {
		return 403, fmt.Sprintf("this local Mesos is uid %d's: uid %d may not use it", owner, uid)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	switch {
	case a.total >= maxConns:
		return 503, fmt.Sprintf("too many connections: the local Mesos serves at most %d at once", maxConns)
	case a.byUID[uid] >= maxConnsPerUID:
		return 503, fmt.Sprintf("too many connections from uid %d: at most %d at once", uid, maxConnsPerUID)
	}
	if a.byUID == nil {
		a.byUID = map[uint32]int{}
	}
	a.total++
	a.byUID[uid]++
	return 0, ""
}

func (a *admission) release(uid uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total--
	if a.byUID[uid]--; a.byUID[uid] == 0 {
		delete(a.byUID, uid)
	}
}

// lookupUID resolves a user's name to its uid: the lookup the master's
// calls of authorizeFramework and authorizeTask use.
var lookupUID = func(name string) (uint32, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return 0, err
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	return uint32(n), err
}

// authorizeFramework checks that the connection's uid may subscribe as
// user, failing over a framework last subscribed by prior (nil for a new
// framework); "" allows it, else the ERROR event's message.
func authorizeFramework(peer uint32, user string, prior *uint32, lookup func(string) (uint32, error)) string {
	if prior != nil && *prior != peer && peer != 0 {
		return fmt.Sprintf("Not authorized to fail over this framework: it was subscribed by uid %d, not uid %d", *prior, peer)
	}
	// A user that does not exist subscribes, as on a real master; its
	// tasks fail on the agent ("No such user"), and TaskCredential runs a
	// task only as the subscriber's uid whatever the name resolves to then.
	uid, err := lookup(user)
	if err == nil && peer != 0 && uid != peer {
		return fmt.Sprintf("Not authorized to subscribe as user '%s' (uid %d): the connection is uid %d's, and a framework may only be its own user's", user, uid, peer)
	}
	return ""
}

// authorizeTask checks the user a task asks to run as (its
// CommandInfo.user, if any) against the uid that subscribed its framework:
// "" allows it, else the TASK_ERROR message (REASON_TASK_UNAUTHORIZED). A
// user that does not exist is left to the agent, as on a real master.
func authorizeTask(subscriber uint32, cmd *mesos.CommandInfo, lookup func(string) (uint32, error)) string {
	if cmd == nil || cmd.User == nil || subscriber == 0 {
		return ""
	}
	if uid, err := lookup(*cmd.User); err == nil && uid != subscriber {
		return fmt.Sprintf("Task is not authorized to launch as user '%s' (uid %d): the local Mesos runs a framework's tasks only as the uid that subscribed it, %d", *cmd.User, uid, subscriber)
	}
	return ""
}
