package localmesos

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	mesos "github.com/mesos/mesos-go/api/v1/lib"
	"github.com/mesos/mesos-go/api/v1/lib/scheduler"
)

// users is a fixed user table for the authorization rules.
func users(name string) (uint32, error) {
	if uid, ok := map[string]uint32{"root": 0, "alice": 1001, "bob": 1002}[name]; ok {
		return uid, nil
	}
	return 0, errors.New("no such user")
}

func TestAuthorizeFramework(t *testing.T) {
	u := func(n uint32) *uint32 { return &n }
	for _, tt := range []struct {
		name  string
		peer  uint32
		user  string
		prior *uint32
		want  string // a substring of the refusal; "" allows
	}{
		{"own user", 1001, "alice", nil, ""},
		{"another user", 1002, "alice", nil, "Not authorized to subscribe as user 'alice' (uid 1001): the connection is uid 1002's"},
		{"root as another user", 0, "alice", nil, ""},
		{"a user as root", 1001, "root", nil, "Not authorized to subscribe as user 'root' (uid 0)"},
		{"no such user", 1002, "nosuchuser", nil, ""}, // its tasks fail on the agent, as on a real master
		{"failover by the subscriber", 1001, "alice", u(1001), ""},
		{"failover by another uid", 1002, "bob", u(1001), "Not authorized to fail over this framework: it was subscribed by uid 1001, not uid 1002"},
		{"failover by another uid as the owner", 1002, "alice", u(1001), "Not authorized to fail over"},
		{"failover by root", 0, "alice", u(1001), ""},
	} {
		got := authorizeFramework(tt.peer, tt.user, tt.prior, users)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: authorizeFramework(%d, %q) = %q, want %q", tt.name, tt.peer, tt.user, got, tt.want)
		}
	}
}

func TestAuthorizeTask(t *testing.T) {
	cmd := func(user string) *mesos.CommandInfo { return &mesos.CommandInfo{User: &user} }
	for _, tt := range []struct {
		name       string
		subscriber uint32
		cmd        *mesos.CommandInfo
		want       string
	}{
		{"no command", 1001, nil, ""},
		{"no user", 1001, &mesos.CommandInfo{}, ""},
		{"its own user", 1001, cmd("alice"), ""},
		{"another user", 1001, cmd("bob"), "Task is not authorized to launch as user 'bob' (uid 1002): the local Mesos runs a framework's tasks only as the uid that subscribed it, 1001"},
		{"root", 1001, cmd("root"), "Task is not authorized to launch as user 'root' (uid 0)"},
		{"no such user", 1001, cmd("nosuchuser"), ""}, // the agent's "No such user"
		{"root's framework", 0, cmd("bob"), ""},
	} {
		got := authorizeTask(tt.subscriber, tt.cmd, users)
		if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
			t.Errorf("%s: authorizeTask = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// The launcher runs a task only as the uid that subscribed its framework,
// whatever its user's name resolves to by then.
func TestTaskCredential_SubscriberUID(t *testing.T) {
	me := uint32(os.Getuid())
	spec := LaunchSpec{User: "root", Sandbox: "/nonexistent", SubscriberUID: me + 1}
	if me == 0 {
		spec.User = "nobody" // a uid that is not the subscriber's
		spec.SubscriberUID = 1
	}
	_, err := TaskCredential(spec, true)
	var se *SandboxError
	if !errors.As(err, &se) {
		t.Fatalf("TaskCredential as %s for subscriber uid %d: %v, want a SandboxError", spec.User, spec.SubscriberUID, err)
	}
	if me == 0 && !strings.Contains(err.Error(), "its framework was subscribed by uid 1") {
		t.Errorf("got %v", err)
	}
}

func TestAdmission(t *testing.T) {
	var a admission
	if code, msg := a.admit(1001, 1002, false); code != 403 || msg != "this local Mesos is uid 1001's: uid 1002 may not use it" {
		t.Errorf("another uid, not shared: %d %q", code, msg)
	}
	for i := 0; i < maxConnsPerUID; i++ {
		if code, msg := a.admit(1001, 1001, false); msg != "" {
			t.Fatalf("connection %d of the owner: %d %q", i, code, msg)
		}
	}
	if code, msg := a.admit(1001, 1001, false); code != 503 || !strings.Contains(msg, "too many connections from uid 1001") {
		t.Errorf("one over the per-uid cap: %d %q", code, msg)
	}
	a.release(1001)
	if _, msg := a.admit(1001, 1001, false); msg != "" {
		t.Errorf("after a release: %q", msg)
	}
	for uid := uint32(2000); a.total < maxConns; uid++ {
		if _, msg := a.admit(0, uid, true); msg != "" {
			t.Fatalf("shared, uid %d: %q", uid, msg)
		}
	}
	if code, msg := a.admit(0, 3000, true); code != 503 || !strings.Contains(msg, fmt.Sprintf("at most %d at once", maxConns)) {
		t.Errorf("one over the total cap: %d %q", code, msg)
	}
}

// The socket is in a 0700 directory of the owner's and is the only way in:
// nothing listens on TCP.
func TestListen_Private(t *testing.T) {
	c := start(t, capturedConfig(nil))
	dir := c.Socket()[:strings.LastIndex(c.Socket(), "/")]
	for path, want := range map[string]os.FileMode{dir: os.ModeDir | 0o700, c.Socket(): os.ModeSocket | 0o600} {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want mode %v", path, fi.Mode(), err, want)
		}
	}
	if !strings.HasPrefix(c.URL(), "unix:/") {
		t.Errorf("URL %q, want unix:PATH", c.URL())
	}
	// The kernel names the listener's uid to a client as it names the
	// client's to the master.
	if uid, err := peerUID(dial(t, c).conn); err != nil || uid != uint32(os.Getuid()) {
		t.Errorf("peerUID = %d, %v; want %d", uid, err, os.Getuid())
	}
}

func TestListen_Shared(t *testing.T) {
	cfg := capturedConfig(nil)
	cfg.Shared = true
	c := start(t, cfg)
	dir := c.Socket()[:strings.LastIndex(c.Socket(), "/")]
	for path, want := range map[string]os.FileMode{dir: os.ModeDir | 0o755, c.Socket(): os.ModeSocket | 0o666} {
		fi, err := os.Lstat(path)
		if err != nil || fi.Mode() != want {
			t.Errorf("%s: %v %v, want mode %v", path, fi.Mode(), err, want)
		}
	}
}

// readAll reads what the master writes until it closes the connection.
func readAll(t *testing.T, conn net.Conn, timeout time.Duration) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	conn.SetReadDeadline(start.Add(timeout))
	b, err := io.ReadAll(conn)
	if err != nil {
		t.Fatalf("the master did not close the connection within %v: %v (read %q)", timeout, err, b)
	}
	return string(b), time.Since(start)
}

// Requests over the limits are answered with one status and the
// connection closed; nothing of them is buffered beyond the limit.
func TestLimits_Sizes(t *testing.T) {
	t.Parallel()
	c := start(t, capturedConfig(nil))
	head := "POST /api/v1/scheduler HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
	for _, tt := range []struct {
		name, req, status string
	}{
		{"header", head + "X-Pad: " + strings.Repeat("a", maxHeader) + "\r\n\r\n", "HTTP/1.1 431 Request Header Fields Too Large"},
		{"content-length", head + fmt.Sprintf("Content-Length: %d\r\n\r\n", maxBody+1), "HTTP/1.1 413 Request Entity Too Large"},
		{"chunked", head + "Transfer-Encoding: chunked\r\n\r\n" + strings.Repeat(fmt.Sprintf("%x\r\n%s\r\n", 64<<10, strings.Repeat("b", 64<<10)), maxBody/(64<<10)+1), "HTTP/1.1 413 Request Entity Too Large"},
	} {
		conn, err := c.Dial()
		if err != nil {
			t.Fatal(err)
		}
		go io.WriteString(conn, tt.req) // the master may close before it has read all
		got, _ := readAll(t, conn, 5*time.Second)
		conn.Close()
		if !strings.HasPrefix(got, tt.status+"\r\n") {
			t.Errorf("%s: got %.120q, want %s", tt.name, got, tt.status)
		}
	}
	// A scheduler call of normal size still works.
	subscribe(t, c, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"barsuser","name":"t"}}}`)
}

// A client that sends a request slowly (slowloris) or not at all loses its
// connection once the request has taken requestTimeout; an idle one after
// idleTimeout (not waited for here).
func TestLimits_SlowRequest(t *testing.T) {
	t.Parallel()
	c := start(t, capturedConfig(nil))
	conn, err := c.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { // a header line every second, never the end of the header
		defer wg.Done()
		io.WriteString(conn, "POST /api/v1/scheduler HTTP/1.1\r\n")
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Second):
				if _, err := fmt.Fprintf(conn, "X-Slow-%d: 1\r\n", i); err != nil {
					return
				}
			}
		}
	}()
	got, took := readAll(t, conn, requestTimeout+5*time.Second)
	close(stop)
	wg.Wait()
	if got != "" || took < requestTimeout-time.Second {
		t.Errorf("slow request: closed after %v with %q, want closed without an answer after %v", took, got, requestTimeout)
	}
}

// More connections than a uid may hold: the one over the cap is refused
// with 503 and closed; the others still work.
func TestLimits_Connections(t *testing.T) {
	t.Parallel()
	c := start(t, capturedConfig(nil))
	var held []net.Conn
	for i := 0; i < maxConnsPerUID; i++ {
		held = append(held, dial(t, c).conn)
	}
	time.Sleep(100 * time.Millisecond) // every connection admitted
	conn, err := c.Dial()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, conn, 5*time.Second)
	if !strings.HasPrefix(got, "HTTP/1.1 503 Service Unavailable\r\n") || !strings.Contains(got, "too many connections from uid") {
		t.Errorf("connection %d: %q", maxConnsPerUID+1, got)
	}
	held[0].Close()
	held[1].Close() // a subscription takes two: its stream and its calls
	time.Sleep(100 * time.Millisecond)
	s := subscribe(t, c, `{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":"barsuser","name":"t"}}}`)
	if s.next(5*time.Second).Type != scheduler.Event_HEARTBEAT {
		t.Error("no heartbeat after SUBSCRIBED")
	}
}
