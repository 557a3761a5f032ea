//go:build integration

package integration

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sockerhpc/socker/sched/localmesos"
)

// The attacks a second local user runs on someone's local Mesos, as that
// user: the test binary re-invoked as mallory (attackerArg), with no
// capability, reporting what it reached as JSON on stdout.

const attackerArg = "-socker-it-local-mesos-attacker"

// attackSpec is what the attacker is told; it finds the rest itself.
type attackSpec struct {
	Victim    string // user name
	VictimUID uint32
	Pwned     string // the file a task of the victim's would create
	Socket    string // shared mode: the shared master's socket
	FwID      string // shared mode: the victim's framework and stream
	StreamID  string
}

// attempt is one try at a master endpoint.
type attempt struct {
	Endpoint   string
	Subscribe  string   // as whom, or which failover
	Error      string   // connecting or the HTTP exchange
	Status     int      // of the SUBSCRIBE
	Events     []string // types, ERROR with its message
	TaskState  string   // of the task launched, if it came to that
	TaskReason string
	TaskMsg    string
	KillStatus int // shared mode: a KILL for the victim's framework
}

type attackReport struct {
	TCPListeners []string // the victim's, from /proc/net/tcp and tcp6
	Attempts     []attempt
	Flood        flood // shared mode
}

// flood is what a flood of the shared master got: the first status line
// (or error) of the connection past 16 held ones, of a request announcing a
// 64 MiB body, and how long a request that never ends kept its connection.
type flood struct {
	OverCap, BigBody string
	SlowClosed       time.Duration
}

// runAttacker runs the attack of spec (a JSON file) and prints the report.
func runAttacker(specFile string) int {
	data, err := os.ReadFile(specFile)
	if err != nil {
		fmt.Fprintln(os.Stderr, "attacker:", err)
		return 126
	}
	var spec attackSpec
	if err := json.Unmarshal(data, &spec); err != nil {
		fmt.Fprintln(os.Stderr, "attacker:", err)
		return 126
	}
	var rep attackReport
	if spec.Socket == "" {
		rep.TCPListeners = tcpListeners(spec.VictimUID)
		dials := map[string]func() (net.Conn, error){}
		for _, hp := range rep.TCPListeners {
			dials[hp] = func() (net.Conn, error) { return net.Dial("tcp", hp) }
		}
		for _, p := range unixListeners() {
			dials[p] = func() (net.Conn, error) { return net.Dial("unix", p) }
		}
		for ep, dial := range dials {
			rep.Attempts = append(rep.Attempts, subscribeAndLaunch(ep, dial, spec, spec.Victim, "", false))
		}
	} else {
		dial := func() (net.Conn, error) { return net.Dial("unix", spec.Socket) }
		me := strconv.Itoa(os.Getuid())
		if u, err := lookupName(os.Getuid()); err == nil {
			me = u
		}
		rep.Attempts = []attempt{
			subscribeAndLaunch(spec.Socket, dial, spec, spec.Victim, "", false),
			subscribeAndLaunch(spec.Socket, dial, spec, me, spec.FwID, false),
			subscribeAndLaunch(spec.Socket, dial, spec, me, "", true),
		}
		a := attempt{Endpoint: spec.Socket, Subscribe: "KILL on the victim's stream"}
		a.KillStatus, a.Error = post(dial, fmt.Sprintf(`{"framework_id":{"value":%q},"type":"KILL","kill":{"task_id":{"value":"x"}}}`, spec.FwID), spec.StreamID)
		rep.Attempts = append(rep.Attempts, a)
		rep.Flood = floodMaster(dial)
	}
	json.NewEncoder(os.Stdout).Encode(rep)
	return 0
}

// floodMaster holds 16 silent connections (SECURITY.md: 16 per uid) and
// opens one more, sends a request that announces a 64 MiB body and writes
// 2 MiB of it, and sends a request header a line every second, never
// ending it.
func floodMaster(dial func() (net.Conn, error)) flood {
	var f flood
	firstLine := func(c net.Conn) string {
		c.SetReadDeadline(time.Now().Add(30 * time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if err != nil && line == "" {
			return err.Error()
		}
		return strings.TrimSpace(line)
	}
	var held []net.Conn
	for range 16 {
		if c, err := dial(); err == nil {
			held = append(held, c)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if c, err := dial(); err != nil {
		f.OverCap = err.Error()
	} else {
		f.OverCap = firstLine(c)
		c.Close()
	}
	for _, c := range held {
		c.Close()
	}
	time.Sleep(200 * time.Millisecond)
	if c, err := dial(); err == nil {
		fmt.Fprintf(c, "POST /api/v1/scheduler HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", 64<<20)
		go c.Write(make([]byte, 2<<20))
		f.BigBody = firstLine(c)
		c.Close()
	}
	if c, err := dial(); err == nil {
		start := time.Now()
		stop := make(chan struct{})
		go func() {
			io.WriteString(c, "POST /api/v1/scheduler HTTP/1.1\r\n")
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				case <-time.After(time.Second):
					fmt.Fprintf(c, "X-Slow-%d: 1\r\n", i)
				}
			}
		}()
		c.SetReadDeadline(time.Now().Add(60 * time.Second))
		io.Copy(io.Discard, c)
		f.SlowClosed = time.Since(start)
		close(stop)
		c.Close()
	}
	return f
}

func lookupName(uid int) (string, error) {
	out, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return "", err
	}
	for _, l := range strings.Split(string(out), "\n") {
		if f := strings.Split(l, ":"); len(f) > 2 && f[2] == strconv.Itoa(uid) {
			return f[0], nil
		}
	}
	return "", fmt.Errorf("uid %d not in /etc/passwd", uid)
}

// tcpSocket is a listening TCP socket as /proc/net/tcp and tcp6 show it
// to everyone: its address as host:port, its owner and its inode.
type tcpSocket struct {
	hostPort   string
	uid, inode string
}

func listeningTCP() []tcpSocket {
	var out []tcpSocket
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, _ := os.ReadFile(f)
		for _, l := range strings.Split(string(data), "\n")[1:] {
			fs := strings.Fields(l)
			if len(fs) < 10 || fs[3] != "0A" {
				continue
			}
			addr, port, _ := strings.Cut(fs[1], ":")
			p, _ := strconv.ParseUint(port, 16, 16)
			host := "127.0.0.1"
			if len(addr) == 32 {
				host = "::1"
			}
			out = append(out, tcpSocket{net.JoinHostPort(host, strconv.Itoa(int(p))), fs[7], fs[9]})
		}
	}
	return out
}

// tcpListeners are the listening TCP sockets of uid, as host:port.
func tcpListeners(uid uint32) []string {
	var out []string
	for _, s := range listeningTCP() {
		if s.uid == strconv.Itoa(int(uid)) {
			out = append(out, s.hostPort)
		}
	}
	return out
}

// unixListeners are the paths of the listening unix sockets of local
// Mesos masters, as everyone can read them in /proc/net/unix.
func unixListeners() []string {
	data, _ := os.ReadFile("/proc/net/unix")
	var out []string
	for _, l := range strings.Split(string(data), "\n")[1:] {
		fs := strings.Fields(l)
		if len(fs) == 8 && fs[3] == "00010000" && strings.Contains(fs[7], "localmesos-") {
			out = append(out, fs[7])
		}
	}
	return out
}

// post sends one call and returns its HTTP status.
func post(dial func() (net.Conn, error), body, streamID string) (int, string) {
	cli := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(context.Context, string, string) (net.Conn, error) { return dial() }}}
	req, _ := http.NewRequest("POST", "http://master/api/v1/scheduler", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if streamID != "" {
		req.Header.Set("Mesos-Stream-Id", streamID)
	}
	resp, err := cli.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(msg)
}

// subscribeAndLaunch subscribes as user (failing over framework fwID if
// set) and, once offered, launches a task that writes spec.Pwned, as the
// framework's user or, with asVictim, as CommandInfo.user spec.Victim.
func subscribeAndLaunch(ep string, dial func() (net.Conn, error), spec attackSpec, user, fwID string, asVictim bool) attempt {
	a := attempt{Endpoint: ep, Subscribe: "as " + user}
	info := fmt.Sprintf(`{"user":%q,"name":"attack"}`, user)
	call := `{"type":"SUBSCRIBE","subscribe":{"framework_info":` + info + `}}`
	if fwID != "" {
		a.Subscribe = "failover of " + fwID
		info = fmt.Sprintf(`{"user":%q,"name":"attack","id":{"value":%q}}`, user, fwID)
		call = fmt.Sprintf(`{"type":"SUBSCRIBE","framework_id":{"value":%q},"subscribe":{"framework_info":%s}}`, fwID, info)
	}
	conn, err := dial()
	if err != nil {
		a.Error = err.Error()
		return a
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(20 * time.Second))
	fmt.Fprintf(conn, "POST /api/v1/scheduler HTTP/1.1\r\nHost: master\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n%s", len(call), call)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		a.Error = err.Error()
		return a
	}
	a.Status = resp.StatusCode
	if resp.StatusCode != 200 {
		return a
	}
	streamID := resp.Header.Get("Mesos-Stream-Id")
	records := bufio.NewReader(resp.Body)
	var fw string
	for {
		var ev struct {
			Type       string
			Error      struct{ Message string }
			Subscribed struct {
				FrameworkID struct{ Value string } `json:"framework_id"`
			}
			Offers struct {
				Offers []struct {
					ID      struct{ Value string }
					AgentID struct{ Value string } `json:"agent_id"`
				}
			}
			Update struct {
				Status struct {
					State, Reason, Message string
				}
			}
		}
		if err := readRecord(records, &ev); err != nil {
			a.Error = err.Error()
			return a
		}
		a.Events = append(a.Events, strings.TrimSpace(ev.Type+" "+ev.Error.Message))
		switch ev.Type {
		case "SUBSCRIBED":
			fw = ev.Subscribed.FrameworkID.Value
		case "OFFERS":
			o := ev.Offers.Offers[0]
			cmd := fmt.Sprintf(`{"value":%q}`, "id > "+spec.Pwned)
			if asVictim {
				cmd = fmt.Sprintf(`{"value":%q,"user":%q}`, "id > "+spec.Pwned, spec.Victim)
			}
			accept := fmt.Sprintf(`{"framework_id":{"value":%q},"type":"ACCEPT","accept":{"offer_ids":[{"value":%q}],"operations":[{"type":"LAUNCH","launch":{"task_infos":[{"name":"pwn","task_id":{"value":"pwn"},"agent_id":{"value":%q},"resources":[{"name":"cpus","type":"SCALAR","scalar":{"value":0.1}},{"name":"mem","type":"SCALAR","scalar":{"value":32}}],"command":%s}]}}]}}`,
				fw, o.ID.Value, o.AgentID.Value, cmd)
			if code, msg := post(dial, accept, streamID); code != 202 {
				a.Error = fmt.Sprintf("ACCEPT: %d %s", code, msg)
				return a
			}
		case "UPDATE":
			st := ev.Update.Status
			a.TaskState, a.TaskReason, a.TaskMsg = st.State, st.Reason, st.Message
			if st.State != "TASK_STAGING" && st.State != "TASK_STARTING" && st.State != "TASK_RUNNING" {
				return a
			}
		case "ERROR":
			return a
		}
	}
}

// readRecord reads one RecordIO record ("<length>\n<json>") into v.
func readRecord(r *bufio.Reader, v any) error {
	line, err := r.ReadString('\n')
	if err != nil {
		return err
	}
	n, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return fmt.Errorf("bad record length %q", line)
	}
	rec := make([]byte, n)
	if _, err := io.ReadFull(r, rec); err != nil {
		return err
	}
	return json.Unmarshal(rec, v)
}

// attack runs the attacker as mallory (no capabilities: credentials set by
// the kernel at exec, no setpriv) and returns its report.
func attack(t *testing.T, spec attackSpec) attackReport {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "attacker.test")
	if _, err := os.Stat(bin); err != nil {
		data, err := os.ReadFile(self)
		if err == nil {
			err = os.WriteFile(bin, data, 0o755)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	specFile := filepath.Join(dir, "attack.json")
	data, _ := json.Marshal(spec)
	if err := os.WriteFile(specFile, data, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, attackerArg, specFile)
	cmd.Dir = "/"
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=/tmp"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: mallory.UID, Gid: mallory.GID, Groups: mallory.Groups}}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("attacker: %v\n%s", err, stderr.String())
	}
	var rep attackReport
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("attacker's report %q: %v", stdout.String(), err)
	}
	t.Logf("attacker's report: %+v", rep)
	return rep
}

// pwnedDir is a directory only alice can write to, where a task run as her
// would leave the attacker's file.
func pwnedDir(t *testing.T) string {
	t.Helper()
	d := filepath.Join(dir, fmt.Sprintf("pwned-%d", time.Now().UnixNano()))
	if err := os.Mkdir(d, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(d, int(alice.UID), int(alice.GID)); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// The attack of the issue, on mrun --master local run by alice: mallory,
// another local user, looks for alice's master where everyone can look
// (/proc/net/tcp, /proc/net/unix), subscribes there as alice and launches
// `id > FILE`. On 4acc900 the master listened on a 127.0.0.1 port owned by
// alice and the file was created as her. Now nothing of alice's listens on
// TCP, her master's socket is in a 0700 directory (mallory's connect is
// refused), and no file appears.
func TestLocalMesos_AnotherUserCannotUseTheOwnersMaster(t *testing.T) {
	mrunAs, nothingLeft := localJobs(t)
	cmd := mrunAs("-N", "1", "-n", "1", "-c", "0.5", "-m", "64", "sleep", "60")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	var log bytes.Buffer
	socketPath := ""
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		log.WriteString(lines.Text() + "\n")
		if _, p, ok := strings.Cut(lines.Text(), " at unix:"); ok {
			socketPath = p
		}
		if strings.Contains(lines.Text(), "running on") {
			break
		}
	}
	if socketPath == "" {
		t.Fatalf("mrun did not say where its master is, or its task did not start:\n%s", log.String())
	}
	owners := map[string]string{} // before the attack, which may end mpiexec
	for _, hp := range tcpListeners(alice.UID) {
		owners[hp] = tcpOwner(t, hp)
	}
	pwned := filepath.Join(pwnedDir(t), "pwned")
	rep := attack(t, attackSpec{Victim: alice.Name, VictimUID: alice.UID, Pwned: pwned})

	// What of alice's listens on TCP is mpiexec.hydra's control port, which
	// the proxies of every node connect to (SECURITY.md: what other local
	// users can still reach), and never mrun's master.
	for _, hp := range rep.TCPListeners {
		if comm := owners[hp]; comm != "mpiexec.hydra" {
			t.Errorf("alice's %s listens on TCP %s", comm, hp)
		}
	}
	tried := false
	for _, a := range rep.Attempts {
		if a.Endpoint == socketPath {
			tried = true
			if !strings.Contains(a.Error, "permission denied") {
				t.Errorf("mallory's connection to alice's master %s: %+v, want permission denied", socketPath, a)
			}
		}
		for _, e := range a.Events {
			if e == "SUBSCRIBED" {
				t.Errorf("mallory subscribed at %s: %+v", a.Endpoint, a)
			}
		}
	}
	if !tried {
		t.Errorf("the attacker did not find alice's master %s in /proc/net/unix", socketPath)
	}
	if _, err := os.Stat(pwned); err == nil {
		out, _ := os.ReadFile(pwned)
		t.Errorf("a task of mallory's ran as alice: %s", out)
	}
	// A SIGTERM ends alice's job (unless the attacker's probe of mpiexec's
	// port already made mpiexec fail), and nothing is left of it.
	cmd.Process.Signal(syscall.SIGTERM)
	go io.Copy(&log, stderr)
	if err := cmd.Wait(); err == nil {
		t.Errorf("mrun SIGTERMed: exit 0")
	}
	t.Logf("alice's mrun:\n%s", log.String())
	nothingLeft("alice's job")
}

// tcpOwner is the command name of the process holding the listening TCP
// socket host:port (root reads every process's fds).
func tcpOwner(t *testing.T, hostPort string) string {
	t.Helper()
	inode := ""
	for _, s := range listeningTCP() {
		if s.hostPort == hostPort {
			inode = s.inode
		}
	}
	fds, _ := filepath.Glob("/proc/[0-9]*/fd/*")
	for _, fd := range fds {
		if link, err := os.Readlink(fd); err == nil && link == "socket:["+inode+"]" {
			comm, _ := os.ReadFile(filepath.Join(filepath.Dir(filepath.Dir(fd)), "comm"))
			return strings.TrimSpace(string(comm))
		}
	}
	return "an unknown process"
}

// A local Mesos run by root for several users (Config.Shared): mallory can
// connect, but a framework is only her own. Subscribing as alice, failing
// over alice's framework, launching a task as alice from her own framework
// and calling on alice's stream are all refused, and no task runs as alice;
// her connections beyond 16, a 64 MiB body and a request that never ends
// are refused or cut off (the limits of SECURITY.md).
func TestLocalMesos_SharedMasterFrameworksAreTheirUsers(t *testing.T) {
	c, err := localmesos.Start(localmesos.Config{Agents: 1, CPUs: 1, Mem: 512, Shared: true, AllocationInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// alice's framework, subscribed by root for her.
	conn, err := c.Dial()
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	sub := fmt.Sprintf(`{"type":"SUBSCRIBE","subscribe":{"framework_info":{"user":%q,"name":"alice's","failover_timeout":600}}}`, alice.Name)
	fmt.Fprintf(conn, "POST /api/v1/scheduler HTTP/1.1\r\nHost: m\r\nContent-Type: application/json\r\nAccept: application/json\r\nContent-Length: %d\r\n\r\n%s", len(sub), sub)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("alice's SUBSCRIBE: %v %v", resp, err)
	}
	var ev struct {
		Subscribed struct {
			FrameworkID struct{ Value string } `json:"framework_id"`
		}
		Offers struct {
			Offers []struct{ ID struct{ Value string } }
		}
	}
	events := bufio.NewReader(resp.Body)
	if err := readRecord(events, &ev); err != nil {
		t.Fatal(err)
	}
	fwID, streamID := ev.Subscribed.FrameworkID.Value, resp.Header.Get("Mesos-Stream-Id")
	// alice declines the agent for an hour, so that mallory is offered it.
	for len(ev.Offers.Offers) == 0 {
		if err := readRecord(events, &ev); err != nil {
			t.Fatal(err)
		}
	}
	decline := fmt.Sprintf(`{"framework_id":{"value":%q},"type":"DECLINE","decline":{"offer_ids":[{"value":%q}],"filters":{"refuse_seconds":3600}}}`,
		fwID, ev.Offers.Offers[0].ID.Value)
	if code, msg := post(c.Dial, decline, streamID); code != http.StatusAccepted {
		t.Fatalf("alice's DECLINE: %d %s", code, msg)
	}
	pwned := filepath.Join(pwnedDir(t), "pwned")
	rep := attack(t, attackSpec{Victim: alice.Name, VictimUID: alice.UID, Pwned: pwned, Socket: c.Socket(),
		FwID: fwID, StreamID: streamID})
	if len(rep.Attempts) != 4 {
		t.Fatalf("attempts %+v", rep.Attempts)
	}
	last := func(a attempt) string {
		if len(a.Events) == 0 {
			return ""
		}
		return a.Events[len(a.Events)-1]
	}
	if a := rep.Attempts[0]; !strings.HasPrefix(last(a), "ERROR Not authorized to subscribe as user '"+alice.Name+"'") {
		t.Errorf("subscribing as alice: %+v", a)
	}
	if a := rep.Attempts[1]; !strings.HasPrefix(last(a), "ERROR Not authorized to fail over this framework") {
		t.Errorf("failing over alice's framework: %+v", a)
	}
	if a := rep.Attempts[2]; a.TaskState != "TASK_ERROR" || a.TaskReason != "REASON_TASK_UNAUTHORIZED" ||
		!strings.Contains(a.TaskMsg, "not authorized to launch as user '"+alice.Name+"'") {
		t.Errorf("a task as alice from mallory's framework: %+v", a)
	}
	if a := rep.Attempts[3]; a.KillStatus != http.StatusForbidden {
		t.Errorf("a call on alice's stream: %+v, want 403", a)
	}
	// The limits hold against a flood by another user (on 4acc900 every
	// connection and a 64 MiB body were taken, and a slow request was
	// never closed).
	f := rep.Flood
	if f.OverCap != "HTTP/1.1 503 Service Unavailable" {
		t.Errorf("a 17th connection of mallory's: %q, want 503", f.OverCap)
	}
	if f.BigBody != "HTTP/1.1 413 Request Entity Too Large" {
		t.Errorf("a 64 MiB body: %q, want 413", f.BigBody)
	}
	if f.SlowClosed < 9*time.Second || f.SlowClosed > 20*time.Second {
		t.Errorf("a request that never ends kept its connection %v, want about 10 s", f.SlowClosed)
	}
	if _, err := os.Stat(pwned); err == nil {
		out, _ := os.ReadFile(pwned)
		t.Errorf("a task of mallory's ran as alice: %s", out)
	}
}
